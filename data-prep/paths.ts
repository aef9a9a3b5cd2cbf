// The repository root, where data/ and the npm packages live (defined once, in src/data/location.ts).
export { REPO_ROOT } from "../src/data/location.ts";
