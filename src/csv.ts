// Every CSV Purse writes goes through these options: a text cell that a spreadsheet would run as a
// formula (it starts with =, +, -, @, a tab or a carriage return) is written with a leading
// apostrophe, so that a description typed by a person cannot plant `=HYPERLINK(…)` for an operator.
// Numbers are cast separately and keep their sign.

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralisedCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export const SAFE_CSV_CAST = { string: neutralisedCell } as const;
