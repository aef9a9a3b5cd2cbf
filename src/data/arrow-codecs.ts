// Compressed Arrow IPC files: pyarrow's default write_feather (and to_feather) compresses each
// record batch buffer with LZ4 (frame format); compression="zstd" with Zstandard. apache-arrow reads
// their buffers through its codec registry, which holds no codec of its own: this module registers
// a decoder for each (lz4-napi's frame decoder, fzstd), once, on import. A decoder that cannot load
// (no lz4-napi binary for this platform) or fails on a buffer is a one-line error that says how to
// write the file uncompressed.
import { createRequire } from "node:module";
import { CompressionType, compressionRegistry } from "apache-arrow";
import { decompress as zstdDecompress } from "fzstd";

/** How to write a file this program reads without a codec. */
export const UNCOMPRESSED_HINT = "write it uncompressed, e.g. pyarrow.feather.write_feather(df, path, compression='uncompressed')";

/** A decoder failed on a compressed buffer: the message is a whole phrase, the reader puts the file before it. */
export class ArrowCodecError extends Error {}

const require = createRequire(import.meta.url);
let lz4: { decompressFrameSync(data: Buffer): Buffer } | undefined;

function decodeWith(name: string, decode: (data: Uint8Array) => Uint8Array): (data: Uint8Array) => Uint8Array {
  return (data) => {
    try {
      return decode(data);
    } catch (error) {
      if (error instanceof ArrowCodecError) throw error;
      throw new ArrowCodecError(`a ${name}-compressed buffer does not decompress (${(error as Error).message.split("\n")[0]}); the file is corrupt, or ${UNCOMPRESSED_HINT}`);
    }
  };
}

function lz4Frame(data: Uint8Array): Uint8Array {
  if (!lz4) {
    try {
      lz4 = require("lz4-napi") as typeof lz4;
    } catch (error) {
      throw new ArrowCodecError(`the file is LZ4-compressed and the LZ4 decoder (lz4-napi) does not load here (${(error as Error).message.split("\n")[0]}); ${UNCOMPRESSED_HINT}`);
    }
  }
  const out = lz4!.decompressFrameSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decodeWith("LZ4", lz4Frame) });
compressionRegistry.set(CompressionType.ZSTD, { decode: decodeWith("ZSTD", (data) => zstdDecompress(data)) });
