// The rows of a table file, read piece by piece: CSV with csv-parse's streaming parser (one
// record at a time), Parquet with hyparquet one row group at a time (+ hyparquet-compressors for
// gzip, zstd, brotli, lz4). Each source gives its column names and, as often as asked, its rows
// in order as objects holding the columns asked for, ROWS_PER_RECORD_BATCH rows per piece.
import { createReadStream } from "node:fs";
import { parse as parseCsv } from "csv-parse";
import { type AsyncBuffer, type FileMetaData, asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { DataError } from "../src/data/data-error.ts";
import { ROWS_PER_RECORD_BATCH } from "../src/data/schema.ts";

/** One cell of a table: a number, text, a list of numbers, null… as the file's reader gives it. */
export type Cell = unknown;
export type Row = Record<string, Cell>;

export interface TableSource {
  /** The column names, in the file's order. */
  header: string[];
  /** The data rows, where the file says how many without reading them all (Parquet). */
  rows?: number;
  /** The rows in order, the named columns of each, in pieces of ROWS_PER_RECORD_BATCH rows (the last may be shorter). */
  pieces(columns: string[]): AsyncGenerator<Row[]>;
}

/** The records of a CSV file in order, parsed as the file streams in; a parse error names the file. */
async function* csvRecords(file: string): AsyncGenerator<string[]> {
  const input = createReadStream(file);
  // The three line endings named, not discovered: discovery rescans a long first line at every chunk.
  const parser = parseCsv({ skip_empty_lines: true, trim: true, bom: true, record_delimiter: ["\r\n", "\n", "\r"] });
  input.on("error", (error) => parser.destroy(error));
  input.pipe(parser);
  try {
    for await (const record of parser) yield record as string[];
  } catch (error) {
    throw new DataError(`${file}: not a readable CSV file: ${(error as Error).message}`);
  } finally {
    input.destroy();
    parser.destroy();
  }
}

/** A CSV file with a header row: its first record names the columns. */
export async function csvSource(file: string): Promise<TableSource & { records: number }> {
  let header: string[] | undefined;
  for await (const record of csvRecords(file)) {
    header = record;
    break;
  }
  return {
    header: header ?? [],
    records: header ? 1 : 0,
    async *pieces(columns) {
      if (!header) return;
      const position = new Map(header.map((name, i) => [name, i]));
      const at = columns.map((c) => position.get(c)!);
      let piece: Row[] = [];
      let first = true;
      for await (const record of csvRecords(file)) {
        if (first) {
          first = false;
          continue;
        }
        const row: Row = {};
        columns.forEach((c, i) => (row[c] = record[at[i]]));
        piece.push(row);
        if (piece.length === ROWS_PER_RECORD_BATCH) {
          yield piece;
          piece = [];
        }
      }
      if (piece.length) yield piece;
    },
  };
}

/** A Parquet file, its footer read at once and its row groups when asked for; a file hyparquet cannot read names the file. */
export async function parquetSource(file: string): Promise<TableSource> {
  const unreadable = (error: unknown) => new DataError(`${file}: not a readable Parquet file: ${(error as Error).message}`);
  let buffer: AsyncBuffer;
  let metadata: FileMetaData;
  let header: string[];
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
    header = parquetSchema(metadata).children.map((child) => child.element.name);
  } catch (error) {
    throw unreadable(error);
  }
  return {
    header,
    rows: Number(metadata.num_rows),
    async *pieces(columns) {
      let piece: Row[] = [];
      let groupStart = 0;
      for (const group of metadata.row_groups) {
        const groupEnd = groupStart + Number(group.num_rows);
        let rows: Row[];
        try {
          rows = (await parquetReadObjects({ file: buffer, metadata, columns, rowStart: groupStart, rowEnd: groupEnd, compressors })) as Row[];
        } catch (error) {
          throw unreadable(error);
        }
        groupStart = groupEnd;
        for (const row of rows) {
          piece.push(row);
          if (piece.length === ROWS_PER_RECORD_BATCH) {
            yield piece;
            piece = [];
          }
        }
      }
      if (piece.length) yield piece;
    },
  };
}
