// The statement's filters (dates and provider), as the portal and the console both show them: the
// person's own statement and an administrator's view of anyone's.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { Field, Select } from '../ui/form';

import type { StatementFilters } from './credit';

const NO_STATEMENT_FILTERS: StatementFilters = { from: '', to: '', provider: '' };

/**
 * A statement's filters as typed (`draft`) and as applied, and the page shown: applying or clearing
 * goes back to the first page.
 */
export function useStatementFilters(): { filters: StatementFilters; start: number; setStart: (start: number) => void; form: Pick<StatementFilterFormProps, 'draft' | 'onDraft' | 'onApply'>; clear: () => void } {
  const [draft, setDraft] = useState<StatementFilters>(NO_STATEMENT_FILTERS);
  const [filters, setFilters] = useState<StatementFilters>(NO_STATEMENT_FILTERS);
  const [start, setStart] = useState(0);
  const apply = (next: StatementFilters): void => {
    setFilters(next);
    setStart(0);
  };
  return {
    filters,
    start,
    setStart,
    form: { draft, onDraft: setDraft, onApply: () => { apply(draft); } },
    clear: () => {
      setDraft(NO_STATEMENT_FILTERS);
      apply(NO_STATEMENT_FILTERS);
    },
  };
}

interface StatementFilterFormProps {
  draft: StatementFilters;
  onDraft: (draft: StatementFilters) => void;
  /** The draft becomes the statement's filters. */
  onApply: () => void;
  /** Shown as a Clear button when given. */
  onClear?: () => void;
  providerOptions: { value: string; label: string }[];
}

export function StatementFilterForm({ draft, onDraft, onApply, onClear, providerOptions }: StatementFilterFormProps): JSX.Element {
  return (
    <form
      class="filters"
      aria-label="Filter the statement"
      onSubmit={(event) => {
        event.preventDefault();
        onApply();
      }}
    >
      <Field name="from" label="From" type="date" value={draft.from} onInput={(from) => { onDraft({ ...draft, from }); }} />
      <Field name="to" label="To" type="date" value={draft.to} onInput={(to) => { onDraft({ ...draft, to }); }} />
      <Select name="provider" label="Provider" value={draft.provider} onInput={(provider) => { onDraft({ ...draft, provider }); }} options={providerOptions} />
      <div class="filters-actions">
        <button type="submit" class="button button-primary">
          Filter
        </button>
        {onClear === undefined ? null : (
          <button type="button" class="button button-quiet" onClick={onClear}>
            Clear
          </button>
        )}
      </div>
    </form>
  );
}

/** The providers a statement may be filtered by, after "Any". */
export function providerOptionsOf(providers: { reference: string; name: string }[] | undefined): { value: string; label: string }[] {
  return [{ value: '', label: 'Any' }, ...(providers ?? []).map((p) => ({ value: p.reference, label: p.name }))];
}
