// Every CSV Purse writes goes through these options: a text cell that a spreadsheet would run as a
// formula (it starts with =, +, -, @, a tab or a carriage return) is written with a leading
// apostrophe, so that a description typed by a person cannot plant `=HYPERLINK(…)` for an operator.
// Numbers are cast separately and keep their sign. Reading (the bulk recharge) is at the end.
import { parse } from 'csv-parse';

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralisedCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export const SAFE_CSV_CAST = { string: neutralisedCell } as const;

// ---- reading -------------------------------------------------------------------------------------

/** Characters handed to the parser at a time; the event loop turns between slices. */
export const CSV_SLICE_CHARS = 64 * 1024;

export interface CsvRecord {
  fields: string[];
  /** The line the record ends on, for messages. */
  line: number;
}

export interface CsvReadOptions {
  delimiter: string;
  /** Stop after this many records; `more` then says the text had others. */
  maxRecords: number;
  /** The longest record, in characters: a longer one fails the read early, naming the limit. */
  maxRecordChars: number;
}

/**
 * Reads CSV text (trimmed fields, empty lines skipped) without holding the event loop: the text
 * goes to csv-parse's stream parser a slice at a time, with a turn of the event loop between
 * slices, so a large upload delays other requests by one slice at most. Reading stops as soon as
 * there are more records than asked for. A malformed text rejects with csv-parse's CsvError.
 */
export async function readCsvRecords(text: string, options: CsvReadOptions): Promise<{ records: CsvRecord[]; more: boolean }> {
  const parser = parse({ delimiter: options.delimiter, trim: true, skip_empty_lines: true, relax_column_count: true, info: true, max_record_size: options.maxRecordChars });
  const records: CsvRecord[] = [];
  let failure: Error | undefined;
  parser.on('data', ({ record, info }: { record: string[]; info: { lines: number } }) => records.push({ fields: record, line: info.lines }));
  parser.on('error', (error: Error) => {
    failure = error;
  });
  for (let start = 0; start < text.length && failure === undefined && records.length <= options.maxRecords; start += CSV_SLICE_CHARS) {
    parser.write(text.slice(start, start + CSV_SLICE_CHARS));
    await nextTurn();
  }
  if (failure === undefined && records.length <= options.maxRecords) {
    parser.end();
    await nextTurn();
  }
  parser.destroy();
  if (records.length > options.maxRecords) return { records: records.slice(0, options.maxRecords), more: true };
  if (failure !== undefined) throw failure;
  return { records, more: false };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
