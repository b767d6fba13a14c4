// Ledger verify: runs what `purse ledger verify` runs on the server and shows what it found.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { api, call, type Schemas } from '../api/client';
import { Form } from '../ui/form';
import { dateTime } from '../ui/format';
import { PageTitle } from '../ui/parts';

export function LedgerPage(): JSX.Element {
  const [result, setResult] = useState<Schemas['LedgerVerification'] | undefined>(undefined);
  return (
    <>
      <PageTitle>Ledger check</PageTitle>
      <p class="lead">Checks that every transaction balances, every balance matches its postings, and every payment and hold agrees with its postings. It changes nothing.</p>
      <Form
        refresh={false}
        onSubmit={async () => {
          setResult(await call(api.POST('/v3/ledger/verify')));
        }}
        submitLabel="Verify the ledger"
      >
        {result === undefined ? null : (
          <section aria-labelledby="ledger-result">
            <h2 id="ledger-result">{result.ok ? 'The books balance' : `${result.problems.length} ${result.problems.length === 1 ? 'problem' : 'problems'}`}</h2>
            <p class={result.ok ? 'ok' : undefined}>Checked {dateTime(result.checkedAt)}.</p>
            {result.ok ? null : (
              <ul class="bad-lines">
                {result.problems.map((problem) => (
                  <li key={problem}>{problem}</li>
                ))}
              </ul>
            )}
          </section>
        )}
      </Form>
    </>
  );
}
