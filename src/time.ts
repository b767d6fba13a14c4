// Date-time text at the edge → milliseconds since the epoch, or a 400 naming the field. Every date a
// client or the operator sends is read here, so that `2026-01-01` means the same in every filter.
import { describeField, invalid } from './errors.js';

/** An optional date or date-time (a query's from/to …); see parseDateTime. */
export function isoToMs(text: string | undefined, field: string): number | undefined {
  return text === undefined ? undefined : parseDateTime(text, field);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([zZ]|[+-]\d{2}:?\d{2})$/;

/** ISO 8601, leniently: a date alone is its midnight, and without a zone (as the payments API's examples write them) it is UTC. */
export function parseDateTime(text: string, field: string): number {
  const base = DATE_ONLY.test(text) ? `${text}T00:00:00` : text.replace(' ', 'T');
  const withZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(base) ? base : `${base}Z`;
  // Date.parse reads "2026-02-30" as 2 March; a day that does not exist is refused instead.
  const ms = DATE_TIME.test(withZone) && sameDay(withZone) ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(ms)) {
    const problem = 'must be a date like 2026-01-01 or a date-time like 2026-01-01T12:00:00+01:00';
    throw invalid(`${describeField(field)} ${problem}`, [{ field, problem }]);
  }
  return ms;
}

/** Whether the calendar day written exists (no 30 February, no month 13). */
function sameDay(text: string): boolean {
  const [year = 0, month = 0, day = 0] = text.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const MS_PER_DAY = 86_400_000;
/** Days whose `YYYY-MM-DDT` text was computed, by day number; bounded, since any day may be asked for. */
const dayPrefixes = new Map<number, string>();
const MAX_CACHED_DAYS = 4_096;
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/**
 * Milliseconds since the epoch → the text `new Date(ms).toISOString()` gives, without a Date for
 * each: the day's part is computed once per day, the time of day by arithmetic. A page of a hundred
 * payments has three hundred dates, and toISOString was a sixth of its server time.
 */
export function msToIso(ms: number): string {
  // Years outside 1970–9999 (six-digit years, negative days) and fractional or invalid values: as Date writes them.
  if (!Number.isInteger(ms) || ms < 0 || ms >= 253_402_300_800_000) return new Date(ms).toISOString();
  const day = Math.floor(ms / MS_PER_DAY);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
    if (dayPrefixes.size >= MAX_CACHED_DAYS) dayPrefixes.clear();
    dayPrefixes.set(day, prefix);
  }
  const inDay = ms - day * MS_PER_DAY;
  const seconds = Math.floor(inDay / 1000);
  return `${prefix}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}.${pad3(inDay % 1000)}Z`;
}
