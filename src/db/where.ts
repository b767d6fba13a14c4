import type { SqlValue } from './types.js';

/** `a = ? AND b >= ?` from the conditions whose value is set; with none set, `TRUE`. */
export function where(conditions: readonly (readonly [clause: string, value: SqlValue | undefined])[]): { sql: string; params: SqlValue[] } {
  const set = conditions.flatMap(([clause, value]) => (value === undefined ? [] : [[clause, value] as const]));
  return { sql: set.length === 0 ? 'TRUE' : set.map(([clause]) => clause).join(' AND '), params: set.map(([, value]) => value) };
}
