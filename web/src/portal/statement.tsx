// The statement: filtered by dates and provider, a page at a time, with the balance chart of the
// page shown and the whole filtered statement as a CSV download.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { download } from '../api/client';
import { BalanceChart } from '../ui/chart';
import { FieldProblems } from '../ui/form';
import { problemOf, useLoad } from '../ui/load';
import { PageTitle, Show } from '../ui/parts';

import { ACCOUNT, loadProviders, loadStatement, myId, statementQuery } from './credit';
import { EntriesTable } from './entries';
import { providerOptionsOf, StatementFilterForm, useStatementFilters } from './statement-filters';

const PAGE_SIZE = 50;

export function StatementPage(): JSX.Element {
  const { filters, start, setStart, form, clear } = useStatementFilters();
  const [downloadProblem, setDownloadProblem] = useState<string | undefined>(undefined);
  const providers = useLoad(loadProviders, []);
  const statement = useLoad(() => loadStatement(filters, PAGE_SIZE, start), [filters, start]);
  const providerOptions = providerOptionsOf(providers.status === 'ready' ? providers.data.providers : undefined);
  const downloadCsv = async (): Promise<void> => {
    setDownloadProblem(undefined);
    const query = new URLSearchParams(statementQuery(filters));
    try {
      await download(`/v3/users/${myId()}/accounts/${ACCOUNT}/statement?${query.toString()}`, 'text/csv', `statement-${new Date().toISOString().slice(0, 10)}.csv`);
    } catch (error) {
      setDownloadProblem(problemOf(error).message);
    }
  };
  return (
    <>
      <PageTitle
        actions={
          <button type="button" class="button" onClick={() => void downloadCsv()}>
            Download CSV
          </button>
        }
      >
        Statement
      </PageTitle>
      {downloadProblem === undefined ? null : (
        <p class="alert alert-error" role="alert">
          {downloadProblem}
        </p>
      )}
      <FieldProblems value={statement.status === 'failed' ? statement.problem : undefined}>
        <StatementFilterForm {...form} onClear={clear} providerOptions={providerOptions} />
      </FieldProblems>
      <Show loaded={statement}>
        {(data) => (
          <>
            <BalanceChart points={data.entries} title="Balance over these entries" />
            <EntriesTable entries={data.entries} caption="Statement entries, oldest first" />
            <Pager start={start} count={data.count} onPage={setStart} />
          </>
        )}
      </Show>
    </>
  );
}

function Pager({ start, count, onPage }: { start: number; count: number; onPage: (start: number) => void }): JSX.Element | null {
  if (count <= PAGE_SIZE) return null;
  const end = Math.min(count, start + PAGE_SIZE);
  return (
    <nav class="pager" aria-label="Statement pages">
      <button type="button" class="button" disabled={start === 0} onClick={() => { onPage(Math.max(0, start - PAGE_SIZE)); }}>
        Earlier
      </button>
      <span>
        {start + 1}–{end} of {count}
      </span>
      <button type="button" class="button" disabled={end >= count} onClick={() => { onPage(start + PAGE_SIZE); }}>
        Later
      </button>
    </nav>
  );
}
