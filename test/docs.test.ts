// The repository stands alone: no tracked file cites a document that is not in the repository, and
// every section of docs/algorithm.md that the code cites exists as a heading there.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../data-prep/paths.ts";

/** Tracked files (git ls-files), without the binary ones. */
function trackedTextFiles(): { file: string; text: string }[] {
  const listed = spawnSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed in ${REPO_ROOT}: ${listed.stderr}`);
  return listed.stdout
    .split("\0")
    .filter((file) => file && existsSync(join(REPO_ROOT, file)))
    .map((file) => ({ file, bytes: readFileSync(join(REPO_ROOT, file)) }))
    .filter(({ bytes }) => !bytes.includes(0))
    .map(({ file, bytes }) => ({ file, text: bytes.toString("utf8") }));
}

const files = trackedTextFiles();
const algorithm = readFileSync(join(REPO_ROOT, "docs", "algorithm.md"), "utf8");

/** "1", "3.2", … for every heading "## 1. Title" or "### 3.2 Title" of docs/algorithm.md. */
function algorithmSections(): Set<string> {
  const sections = new Set<string>();
  for (const match of algorithm.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)) sections.add(match[1]);
  return sections;
}

/** Every "§N" or "§N.M" that follows a mention of docs/algorithm.md in the same sentence-ish run. */
export function citedSections(text: string): string[] {
  const cited: string[] = [];
  for (const match of text.matchAll(/algorithm\.md\)?((?:[\s,;:–—/*#-]*(?:and |or |\(|see )?§\d+(?:\.\d+)*\)?)+)/g)) {
    for (const section of match[1].matchAll(/§(\d+(?:\.\d+)*)/g)) cited.push(section[1]);
  }
  return cited;
}

describe("the repository stands alone", () => {
  it("lists its tracked files (so the checks below see something)", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.file === "docs/algorithm.md")).toBe(true);
  });

  it("no tracked file cites the restatements that lived outside the repository, or a folder beside it", () => {
    // Built from pieces so that this file does not match its own search.
    const outside = ["ALGORITHM", "TOOLCHAIN", "DESIGN", "DEVICE"].map((name) => `${name}.md`).concat(["..", "shared"].join("/"));
    const offenders = files.flatMap(({ file, text }) => outside.filter((needle) => text.includes(needle)).map((needle) => `${file}: ${needle}`));
    expect(offenders).toEqual([]);
  });

  it("every Markdown document a tracked file names exists in the repository", () => {
    const names = new Set(files.map(({ file }) => basename(file)));
    const GENERATED_REPORTS = new Set(["summary.md", "table.md", "tune-table.md"]);
    const paths = new Set(files.map(({ file }) => file));
    const missing: string[] = [];
    for (const { file, text } of files) {
      if (file.startsWith("node_modules/")) continue;
      for (const match of text.matchAll(/[A-Za-z0-9_.\/-]*[A-Za-z0-9_-]\.md\b/g)) {
        const cited = match[0];
        if (/^https?:|^\/\//.test(cited)) continue;
        // Reports the tools write (scripts/device-summary.ts's summary.md), not documents cited.
        if (GENERATED_REPORTS.has(cited.split("/").pop()!)) continue;
        const found = cited.includes("/")
          ? [join(dirname(file), cited), cited.replace(/^\.\//, "")].some((p) => paths.has(p.replace(/^\.\//, "")) || existsSync(join(REPO_ROOT, p)))
          : names.has(cited);
        if (!found) missing.push(`${file}: ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("every section of docs/algorithm.md cited anywhere is a heading there", () => {
    const sections = algorithmSections();
    // The page's own top-level sections run 1 … N without a gap.
    const top = [...sections].filter((s) => !s.includes(".")).map(Number).sort((a, b) => a - b);
    expect(top).toEqual(Array.from({ length: top.length }, (_, i) => i + 1));
    const cites = files.flatMap(({ file, text }) => citedSections(text).map((section) => ({ file, section })));
    expect(cites.length).toBeGreaterThan(30);
    expect(cites.filter(({ section }) => !sections.has(section)).map(({ file, section }) => `${file}: §${section}`)).toEqual([]);
  });

  it("bare § references in the code (which mean docs/algorithm.md) name existing sections", () => {
    const sections = algorithmSections();
    const code = files.filter(({ file }) => /^(src|bench|test|data-prep|shaders)\/.*\.(ts|wgsl)$/.test(file));
    const bad = code.flatMap(({ file, text }) =>
      [...text.matchAll(/§(\d+(?:\.\d+)*)/g)].filter((m) => !sections.has(m[1])).map((m) => `${file}: §${m[1]}`));
    expect(bad).toEqual([]);
  });

  it("the citation parser reads single sections, lists and ranges", () => {
    expect(citedSections("see docs/algorithm.md §3.2, paper eq. 26")).toEqual(["3.2"]);
    expect(citedSections("(docs/algorithm.md §1.2, §2 and §3.3)")).toEqual(["1.2", "2", "3.3"]);
    expect(citedSections("[docs/algorithm.md §6.3](docs/algorithm.md)")).toEqual(["6.3"]);
    expect(citedSections("docs/algorithm.md\n// §1.2)")).toEqual(["1.2"]);
  });
});

describe("the settings tables as documented", () => {
  it("docs/api.md names every optimiser setting with its flag, and README stays a guide of at most 250 lines", async () => {
    const { OPTIMIZER_SETTINGS } = await import("../src/optim/settings.ts");
    const { flagOf } = await import("../src/settings.ts");
    const api = readFileSync(join(REPO_ROOT, "docs", "api.md"), "utf8");
    for (const [key, row] of Object.entries(OPTIMIZER_SETTINGS)) {
      expect(api).toContain(`\`${key}\``);
      expect(api).toContain(`\`--${flagOf(key, row)}\``);
    }
    expect(readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(250);
  });
});
