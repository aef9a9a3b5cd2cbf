// Reading a JSON file the user may have damaged: a missing, unreadable or corrupt file is a one-line
// FileError naming it.
import { readFileSync } from "node:fs";
import { FileError, asFileError } from "../errors.ts";

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw asFileError(error, "read", path);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FileError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}
