// The audit trail: who did what to whom, newest first as the API pages it, with its filters.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { api, call, type Schemas } from '../api/client';
import { Field, FieldProblems } from '../ui/form';
import { dateTime } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { PAGE_SIZE, Pager, dayEnd, dayStart } from './common';

type Entry = Schemas['AuditEntry'];

function actorOf(entry: Entry): string {
  const parts = [entry.actor.userId === null ? '' : `person ${entry.actor.userId}`, entry.actor.clientId === null ? '' : `client ${entry.actor.clientId}`].filter((part) => part !== '');
  return parts.length === 0 ? 'Purse' : parts.join(' via ');
}

/** The detail as compact JSON: its shape differs per action, and an operator reads it whole. */
function detailOf(entry: Entry): string {
  if (entry.detail === undefined || entry.detail === null) return '';
  const json = JSON.stringify(entry.detail);
  return json === '{}' ? '' : json;
}

const COLUMNS: Column<Entry>[] = [
  { label: 'When', cell: (entry) => dateTime(entry.at) },
  { label: 'Who', cell: actorOf },
  { label: 'Action', cell: (entry) => <code>{entry.action}</code> },
  { label: 'Subject', cell: (entry) => entry.subject },
  { label: 'Detail', cell: (entry) => <code class="audit-detail">{detailOf(entry)}</code> },
];

interface Filters {
  actor: string;
  action: string;
  subject: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = { actor: '', action: '', subject: '', from: '', to: '' };

function optional(value: string): string | undefined {
  return value.trim() === '' ? undefined : value.trim();
}

export function AuditPage(): JSX.Element {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [start, setStart] = useState(0);
  const entries = useLoad(
    () =>
      call(
        api.GET('/v3/audit', {
          params: { query: { actor: optional(filters.actor), action: optional(filters.action), subject: optional(filters.subject), from: dayStart(filters.from), to: dayEnd(filters.to), limit: PAGE_SIZE, start } },
        }),
      ),
    [filters, start],
  );
  const field = (key: keyof Filters) => (value: string) => {
    setDraft({ ...draft, [key]: value });
  };
  return (
    <>
      <PageTitle>Audit trail</PageTitle>
      <FieldProblems value={entries.status === 'failed' ? entries.problem : undefined}>
        <form
          class="filters"
          aria-label="Filter the audit trail"
          onSubmit={(event) => {
            event.preventDefault();
            setFilters(draft);
            setStart(0);
          }}
        >
          <Field name="actor" label="Who" hint="A person’s number or a client id." value={draft.actor} onInput={field('actor')} autocomplete="off" />
          <Field name="action" label="Action" hint="For example user.update." value={draft.action} onInput={field('action')} autocomplete="off" />
          <Field name="subject" label="Subject" value={draft.subject} onInput={field('subject')} autocomplete="off" />
          <Field name="from" label="From" type="date" value={draft.from} onInput={field('from')} />
          <Field name="to" label="To" type="date" value={draft.to} onInput={field('to')} />
          <div class="filters-actions">
            <button type="submit" class="button button-primary">
              Filter
            </button>
            <button type="button" class="button button-quiet" onClick={() => { setDraft(NO_FILTERS); setFilters(NO_FILTERS); setStart(0); }}>
              Clear
            </button>
          </div>
        </form>
      </FieldProblems>
      <Show loaded={entries}>
        {(data) => (
          <>
            <Table caption="Audit trail" columns={COLUMNS} rows={data.entries} rowKey={(entry) => entry.id} empty="Nothing recorded." />
            <Pager label="Audit pages" start={start} shown={data.entries.length} count={data.count} onPage={setStart} />
          </>
        )}
      </Show>
    </>
  );
}
