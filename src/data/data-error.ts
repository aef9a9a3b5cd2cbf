import { ExpectedError } from "../errors.ts";
/** A dataset file or source that cannot be used; the message names the file and the problem. */
export class DataError extends ExpectedError {}
