// prep import's own .npy reader (data-prep/npy-reader.ts) takes the dtypes npyjs took, with the
// same messages: integers and floats of every width (8-byte integers and half floats included)
// become Float32, uint8 stays Uint8; big-endian, complex, boolean and string features are refused;
// a file cut short names the first value it lacks, in C and in Fortran order.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importTable } from "../../data-prep/import.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("kfra-npy-");
afterAll(() => tmp.remove());

/** A .npy file of `data` stored as given (`version` 1 or 2 header), written to the temporary folder. */
function npy(name: string, descr: string, shape: number[], data: ArrayBufferView, options: { fortran?: boolean; version?: number } = {}): string {
  const lead = options.version === 2 ? 12 : 10;
  let dict = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? "True" : "False"}, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  dict = dict.padEnd(dict.length + 63 - ((lead + dict.length) % 64), " ") + "\n";
  const bytes = new Uint8Array(lead + dict.length + data.byteLength);
  bytes.set([0x93, ...Buffer.from("NUMPY"), options.version ?? 1, 0]);
  const view = new DataView(bytes.buffer);
  if (lead === 12) view.setUint32(8, dict.length, true);
  else view.setUint16(8, dict.length, true);
  bytes.set(Buffer.from(dict, "latin1"), lead);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), lead + dict.length);
  const file = join(tmp.dir, name);
  writeFileSync(file, bytes);
  return file;
}

const values = async (file: string) => Array.from((await importTable(file)).features.values);

describe(".npy dtypes", () => {
  it("integers and floats of every width become Float32; uint8 stays bytes; a version 2 header reads alike", async () => {
    expect(await values(npy("i1.npy", "|i1", [2, 2], Int8Array.from([-128, -1, 0, 127])))).toEqual([-128, -1, 0, 127]);
    expect(await values(npy("u2.npy", "<u2", [2], Uint16Array.from([0, 65535])))).toEqual([0, 65535]);
    expect(await values(npy("i4.npy", "<i4", [2], Int32Array.from([-2147483648, 7]), { version: 2 }))).toEqual([-2147483648, 7]);
    expect(await values(npy("u4.npy", "<u4", [1], Uint32Array.from([4294967295])))).toEqual([4294967296]);
    expect(await values(npy("i8.npy", "<i8", [2], BigInt64Array.from([-(2n ** 40n), 3n])))).toEqual([-(2 ** 40), 3]);
    expect(await values(npy("u8.npy", "<u8", [1], BigUint64Array.from([2n ** 60n])))).toEqual([2 ** 60]);
    // Half floats: 1, the smallest subnormal 2⁻²⁴, −2⁻¹⁴, the largest 65504, −2.
    expect(await values(npy("f2.npy", "<f2", [5], Uint16Array.from([0x3c00, 0x0001, 0x8400, 0x7bff, 0xc000])))).toEqual([1, 2 ** -24, -(2 ** -14), 65504, -2]);
    expect(await values(npy("f8.npy", "<f8", [2], Float64Array.from([0.1, -3])))).toEqual([Math.fround(0.1), -3]);
    const bytes = await importTable(npy("u1.npy", "|u1", [2, 3], Uint8Array.from([0, 1, 2, 253, 254, 255])));
    expect(bytes.features.values).toBeInstanceOf(Uint8Array);
    expect(Array.from(bytes.features.values)).toEqual([0, 1, 2, 253, 254, 255]);
  });

  it("Fortran order over three dimensions gives rows in C order", async () => {
    // a[r, i, j] = 100r + 10i + j, shape (3, 2, 2), stored with the first index fastest.
    const stored = Float32Array.from({ length: 12 }, (_, k) => 100 * (k % 3) + 10 * (Math.floor(k / 3) % 2) + Math.floor(k / 6));
    expect(await values(npy("f3.npy", "<f4", [3, 2, 2], stored, { fortran: true }))).toEqual([0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211]);
  });

  it("refuses what npyjs refused, with its messages", async () => {
    const refused = async (file: string) => importTable(file).then(() => "read", (error: Error) => error.message.replace(`${file}: `, ""));
    expect(await refused(npy("be.npy", ">f4", [1], new Float32Array(1)))).toBe("not a readable .npy file: Unsupported dtype: >f4");
    expect(await refused(npy("i3.npy", "<i3", [1], new Uint8Array(3)))).toBe("not a readable .npy file: Unsupported dtype: <i3");
    expect(await refused(npy("c8.npy", "<c8", [1], new Float32Array(2)))).toBe("dtype 'c8' is not a number type (int, uint or float)");
    expect(await refused(npy("b1.npy", "|b1", [2], new Uint8Array(2)))).toBe("dtype 'b1' is not a number type (int, uint or float)");
    expect(await refused(npy("odd.npy", "<f4", [2], new Uint8Array(9)))).toBe("not a readable .npy file: ArrayBuffer length minus the byteOffset is not a multiple of the element size");
    const text = join(tmp.dir, "text.npy");
    writeFileSync(text, "x,y\n1,2\n");
    expect(await refused(text)).toBe("not a readable .npy file: Not an .npy file");
  });

  it("a file cut short names the first value it lacks: in C order the next in the file, in Fortran order the first row of a column cut off", async () => {
    const refused = async (file: string) => importTable(file).then(() => "read", (error: Error) => error.message.replace(`${file}: `, ""));
    expect(await refused(npy("short.npy", "<f4", [1500, 2], new Float32Array(2501)))).toBe("row 1250, value 1: undefined is not a finite number within float32's range");
    // Column 0 holds rows 0…1499, column 1 only rows 0…999 of the 2,500 values stored.
    expect(await refused(npy("short-f.npy", "<f4", [1500, 2], new Float32Array(2500), { fortran: true }))).toBe("row 1000, value 1: undefined is not a finite number within float32's range");
  });
});
