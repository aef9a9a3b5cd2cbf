// A Redis URL password with a raw '%' (not followed by two hex digits) was a URIError stack trace
// (exit 70) inside ioredis, which percent-decodes credentials: parseQueueUrl takes such a '%'
// literally; ioredis's own parser then reads back the password as typed, and a percent-encoded one
// is left as it is.
import { expect, test } from "vitest";
import { parseURL } from "ioredis/built/utils/index.js";
import { parseQueueUrl } from "../../src/sweep/queue/connection.ts";

test.each([
  ["redis://:pa%ss@localhost:6379", "pa%ss", ""],
  ["redis://:100%@localhost:6379/2", "100%", ""],
  ["redis://:p%zz%4@localhost", "p%zz%4", ""],
  ["redis://user%:x%@localhost", "x%", "user%"],
  ["redis://:pa%25ss@localhost", "pa%ss", ""],
  ["redis://:plain@localhost", "plain", ""],
])("%s: ioredis reads the password %j", (url, password, username) => {
  const address = parseQueueUrl(url);
  const parsed = parseURL(address.url);
  expect(parsed.password).toBe(password);
  expect(parsed.username ?? "").toBe(username);
  expect(address.shown).not.toContain(password);
});
