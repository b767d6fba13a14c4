// Date-time text at the edge → milliseconds since the epoch, or a 400 naming the field.
import { invalid } from './errors.js';

/** A schema-checked date-time; the few that Date cannot read (a leap second) are 400s. */
export function isoToMs(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw invalid(`${field} is not a date-time this server can read`, [{ field, problem: 'must be a valid date-time' }]);
  return ms;
}

/** ISO 8601, leniently: a date alone is its midnight, and without a zone (as the payments API's examples write them) it is UTC. */
export function parseDateTime(text: string, field: string): number {
  const base = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00` : text.replace(' ', 'T');
  const withZone = /([zZ]|[+-]\d{2}:?\d{2})$/.test(base) ? base : `${base}Z`;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([zZ]|[+-]\d{2}:?\d{2})$/.test(withZone) ? Date.parse(withZone) : Number.NaN;
  if (Number.isNaN(ms)) throw invalid(`${field} must be a date-time like 2020-01-01T00:00:00`, [{ field, problem: 'must be a date-time like 2020-01-01T00:00:00' }]);
  return ms;
}
