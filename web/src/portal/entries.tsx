// A statement's entries as a table: the same columns on the overview and the statement page.
import type { JSX } from 'preact';

import { dateTime, money } from '../ui/format';
import { Table, type Column } from '../ui/parts';

import type { StatementEntry } from './credit';

/** The statement's entry types, as a person reads them. */
const TYPE_LABELS: Readonly<Record<string, string>> = {
  recharge: 'Top-up',
  manual: 'Adjustment',
  refund: 'Refund of a top-up',
  charge: 'Charge',
  chargeRefund: 'Refund of a charge',
  transferIn: 'Transfer in',
  transferOut: 'Transfer out',
};

export function typeLabel(type: string): string {
  return TYPE_LABELS[type] ?? type;
}

const COLUMNS: Column<StatementEntry>[] = [
  { label: 'Date', cell: (entry) => dateTime(entry.date) },
  { label: 'What', cell: (entry) => (entry.description === '' ? typeLabel(entry.type) : `${typeLabel(entry.type)}: ${entry.description}`) },
  { label: 'Provider', cell: (entry) => entry.provider },
  { label: 'Amount', numeric: true, cell: (entry) => <span class={entry.value < 0 ? 'amount-negative' : 'amount-positive'}>{money(entry.value)}</span> },
  { label: 'Balance', numeric: true, cell: (entry) => money(entry.balance) },
];

export function EntriesTable({ entries, caption, newestFirst = false }: { entries: StatementEntry[]; caption: string; newestFirst?: boolean }): JSX.Element {
  const rows = newestFirst ? [...entries].reverse() : entries;
  return <Table caption={caption} columns={COLUMNS} rows={rows} rowKey={(entry) => entry.id} empty="No entries yet." />;
}
