import type { Db, SqlValue, Statement } from './types.js';

/**
 * A page of a SELECT and the number of rows the whole query has, in one statement: the count comes
 * first on every row, as a scalar subquery that both engines compute once. Each row is handed to
 * `rowOf` with the index where its own columns start. Undefined when the page is empty: it then
 * carries no count, and the caller knows best how to answer (count on its own, or find out why).
 */
export async function pageWithCount<T>(db: Db, page: Statement, count: Statement, rowOf: (values: readonly SqlValue[], at: number) => T): Promise<{ rows: T[]; count: number } | undefined> {
  if (!page.sql.startsWith('SELECT ')) throw new Error('pageWithCount reads a SELECT');
  const values = await db.selectValues(`SELECT (${count.sql}) AS total_rows, ${page.sql.slice('SELECT '.length)}`, [...count.params, ...page.params]);
  const first = values[0];
  if (first === undefined) return undefined;
  const rows: T[] = [];
  for (const row of values) rows.push(rowOf(row, 1));
  return { rows, count: Number(first[0]) };
}
