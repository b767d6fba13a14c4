// Shared pieces of every page: its title (the heading and the document title), loading, empty and
// failed states, and a table.
import type { ComponentChildren, JSX } from 'preact';
import { useEffect } from 'preact/hooks';

import type { ApiProblem } from '../api/client';

import type { Loaded } from './load';

export function PageTitle({ children, actions }: { children: string; actions?: ComponentChildren }): JSX.Element {
  useEffect(() => {
    document.title = `${children} · Purse`;
  }, [children]);
  return (
    <div class="page-title">
      <h1>{children}</h1>
      {actions === undefined ? null : <div class="page-actions">{actions}</div>}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }): JSX.Element {
  return (
    <p class="state state-loading" role="status">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <p class="state state-empty">{children}</p>;
}

export function Failed({ problem }: { problem: ApiProblem }): JSX.Element {
  return (
    <p class="alert alert-error" role="alert">
      {problem.message}
    </p>
  );
}

/** Shows loaded data through `render`, or the loading or failed state in its place. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }): JSX.Element {
  if (loaded.status === 'loading') return <Loading />;
  if (loaded.status === 'failed') return <Failed problem={loaded.problem} />;
  return <div aria-busy={loaded.refreshing}>{children(loaded.data)}</div>;
}

export interface Column<Row> {
  label: string;
  cell: (row: Row) => ComponentChildren;
  /** Numbers align right, so that digits line up. */
  numeric?: boolean;
}

interface TableProps<Row> {
  caption: string;
  columns: Column<Row>[];
  rows: Row[];
  rowKey: (row: Row) => string | number;
  empty: string;
}

/** A table that scrolls sideways on a narrow screen rather than squeezing its columns. */
export function Table<Row>({ caption, columns, rows, rowKey, empty }: TableProps<Row>): JSX.Element {
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table class="table">
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.label} scope="col" class={column.numeric === true ? 'numeric' : undefined}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => (
                <td key={column.label} class={column.numeric === true ? 'numeric' : undefined}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
