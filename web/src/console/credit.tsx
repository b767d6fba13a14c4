// One person's purse (balance, a manual adjustment, the statement) and the bulk CSV recharge.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

import { ApiError, api, call, idempotencyKey, type ApiProblem, type Schemas } from '../api/client';
import { currentPerson, hasRight } from '../auth/session';
import { statementQuery } from '../portal/credit';
import { EntriesTable } from '../portal/entries';
import { providerOptionsOf, StatementFilterForm, useStatementFilters } from '../portal/statement-filters';
import { Field, FieldProblems, Form } from '../ui/form';
import { changed, problemOf, useLoad } from '../ui/load';
import { money } from '../ui/format';
import { PageTitle, Show } from '../ui/parts';

import { PAGE_SIZE, Pager, TextArea } from './common';

const ACCOUNT = 'credit';

function mayManageUsers(): boolean {
  const me = currentPerson();
  return me !== undefined && hasRight(me, 'manageUsers');
}

/** A person's number, or their username looked up (which takes the manageUsers right). */
async function personIdOf(who: string): Promise<number> {
  const text = who.trim();
  if (/^[0-9]+$/.test(text)) return Number(text);
  if (!mayManageUsers()) throw new ApiError({ code: 400, message: 'Type the person’s number: finding by username takes the right to manage people.', data: [{ field: 'who', problem: 'must be a number' }] });
  const found = await call(api.GET('/v3/users/find', { params: { query: { username: text, limit: 1 } } }));
  const user = found.users[0];
  if (user === undefined) throw new ApiError({ code: 404, message: `Nobody has the username ${text}.`, data: [{ field: 'who', problem: 'no such person' }] });
  return user.id;
}

export function CreditPage(): JSX.Element {
  const { route } = useLocation();
  const [who, setWho] = useState('');
  return (
    <>
      <PageTitle
        actions={
          <a class="button" href="/console/credit/bulk">
            Bulk recharge
          </a>
        }
      >
        Credit
      </PageTitle>
      <p class="lead">Open a person’s purse to see their balance and statement and to adjust their credit.</p>
      <Form
        refresh={false}
        onSubmit={async () => {
          route(`/console/credit/${await personIdOf(who)}`);
        }}
        submitLabel="Open purse"
      >
        <Field name="who" label={mayManageUsers() ? 'Username or number' : 'Person’s number'} value={who} onInput={setWho} autocomplete="off" />
      </Form>
    </>
  );
}

export function PursePage({ params }: { params: Record<string, string> }): JSX.Element {
  const id = Number(params.id);
  const person = useLoad(() => (mayManageUsers() ? call(api.GET('/v3/users/{id}', { params: { path: { id } } })) : Promise.resolve(undefined)), [id]);
  const balance = useLoad(() => call(api.GET('/v3/users/{id}/accounts/{reference}/balance', { params: { path: { id, reference: ACCOUNT } } })), [id]);
  const name = person.status === 'ready' && person.data !== undefined ? person.data.fullname || person.data.username : `person ${id}`;
  return (
    <>
      <PageTitle>{`Credit of ${name}`}</PageTitle>
      <p>
        <a href="/console/credit">Another person</a>
        {mayManageUsers() ? (
          <>
            {' · '}
            <a href={`/console/users/${id}`}>Their profile</a>
          </>
        ) : null}
      </p>
      <Show loaded={balance}>{(data) => <BalanceCards balance={data} />}</Show>
      <Adjust id={id} />
      <PurseStatement id={id} />
    </>
  );
}

function BalanceCards({ balance }: { balance: Schemas['Balance'] }): JSX.Element {
  return (
    <dl class="cards" aria-label="Balance">
      <div class="card card-main">
        <dt>Available</dt>
        <dd>{money(balance.available)}</dd>
      </div>
      <div class="card">
        <dt>Held</dt>
        <dd>{money(balance.held)}</dd>
      </div>
      <div class="card">
        <dt>Balance</dt>
        <dd>{money(balance.amount)}</dd>
      </div>
    </dl>
  );
}

function Adjust({ id }: { id: number }): JSX.Element {
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  return (
    <section class="section" aria-labelledby="adjust">
      <h2 id="adjust">Adjust credit</h2>
      <Form
        onSubmit={async () => {
          const result = await call(
            api.POST('/v3/users/{id}/accounts/{reference}/recharge', {
              params: { path: { id, reference: ACCOUNT }, header: { 'Idempotency-Key': idempotencyKey() } },
              body: { amount: amount.trim().replace(',', '.'), ...(description === '' ? {} : { description }) },
            }),
          );
          setAmount('');
          setDescription('');
          return `${result.amount < 0 ? 'Lowered' : 'Added'} ${money(Math.abs(result.amount))}; the balance is now ${money(result.balance)}.`;
        }}
        submitLabel="Adjust"
      >
        <Field name="amount" label="Amount" hint="Negative lowers the credit, never below zero." value={amount} onInput={setAmount} inputMode="decimal" autocomplete="off" />
        <Field name="description" label="Reason" hint="Shown on the person’s statement, optional." value={description} onInput={setDescription} autocomplete="off" />
      </Form>
    </section>
  );
}

function PurseStatement({ id }: { id: number }): JSX.Element {
  const { filters, start, setStart, form } = useStatementFilters();
  const providers = useLoad(() => call(api.GET('/v3/rechargeProviders', { params: { query: { all: 'true' } } })), []);
  const statement = useLoad(
    () =>
      call(
        api.GET('/v3/users/{id}/accounts/{reference}/statement', {
          params: {
            path: { id, reference: ACCOUNT },
            query: { ...statementQuery(filters), limit: PAGE_SIZE, start },
          },
        }),
      ),
    [id, filters, start],
  );
  const providerOptions = providerOptionsOf(providers.status === 'ready' ? providers.data.providers : undefined);
  return (
    <section class="section" aria-labelledby="statement">
      <h2 id="statement">Statement</h2>
      <FieldProblems value={statement.status === 'failed' ? statement.problem : undefined}>
        <StatementFilterForm {...form} providerOptions={providerOptions} />
      </FieldProblems>
      <Show loaded={statement}>
        {(data) => (
          <>
            <EntriesTable entries={data.entries} caption="Statement" />
            <Pager label="Statement pages" start={start} shown={data.entries.length} count={data.count} onPage={setStart} />
          </>
        )}
      </Show>
    </section>
  );
}

export function BulkPage(): JSX.Element {
  const [csv, setCsv] = useState('');
  const [fileProblem, setFileProblem] = useState('');
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const readFile = async (input: HTMLInputElement): Promise<void> => {
    const file = input.files?.[0];
    if (file === undefined) return;
    setFileProblem('');
    try {
      setCsv(await file.text());
    } catch {
      setFileProblem(`The browser could not read ${file.name}.`);
    }
  };
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(undefined);
    setDone('');
    try {
      const result = await call(api.POST('/v3/credit/bulkRecharge', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { csv } }));
      setCsv('');
      setDone(`Recharged ${result.count} ${result.count === 1 ? 'row' : 'rows'}, ${money(result.total)} in all.`);
      changed();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  const badLines = problem?.data.filter((detail) => detail.field?.startsWith('line ') === true) ?? [];
  return (
    <>
      <PageTitle>Bulk recharge</PageTitle>
      <p class="lead">
        Recharge many people at once from a CSV of <code>user;amount</code> or <code>user,amount</code> rows, with or without a header line. Every row is posted, or none: a file with a bad line changes nothing, and
        every bad line is listed.
      </p>
      <form class="form" onSubmit={(event) => void submit(event)} noValidate>
        {problem === undefined ? null : (
          <div class="alert alert-error" role="alert">
            {problem.message}
            {badLines.length === 0 ? null : (
              <ul class="bad-lines" aria-label="Bad lines">
                {badLines.map((line) => (
                  <li key={line.field}>
                    {line.field}: {line.problem}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="field">
          <label for="bulk-file">CSV file</label>
          <input id="bulk-file" type="file" accept=".csv,text/csv,text/plain" onChange={(event) => void readFile(event.currentTarget)} aria-describedby={fileProblem === '' ? undefined : 'bulk-file-problem'} />
          {fileProblem === '' ? null : (
            <p class="field-problem" id="bulk-file-problem">
              {fileProblem}
            </p>
          )}
        </div>
        <FieldProblems value={problem}>
          <TextArea name="csv" label="Or paste the rows" hint="For example: user;amount, then jdoe;5 and asmith;2.50 on lines of their own." rows={8} value={csv} onInput={setCsv} />
        </FieldProblems>
        <p class="form-done" role="status">
          {done}
        </p>
        <div class="form-actions">
          <button type="submit" class="button button-primary" disabled={busy} aria-busy={busy}>
            {busy ? 'Working…' : 'Recharge everyone'}
          </button>
        </div>
      </form>
    </>
  );
}
