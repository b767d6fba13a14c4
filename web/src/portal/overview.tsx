// The person's home page: what they can spend, what is held, the balance over recent entries, and
// the latest entries.
import type { JSX } from 'preact';

import { BalanceChart } from '../ui/chart';
import { money } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show } from '../ui/parts';

import { loadBalance, loadRecentStatement } from './credit';
import { EntriesTable } from './entries';

const NO_FILTERS = { from: '', to: '', provider: '' };
const CHART_ENTRIES = 100;
const RECENT_ENTRIES = 5;

export function BalanceCards(): JSX.Element {
  const balance = useLoad(loadBalance, []);
  return (
    <Show loaded={balance}>
      {(data) => (
        <dl class="cards" aria-label="Your credit">
          <div class="card card-main">
            <dt>Available</dt>
            <dd data-testid="available">{money(data.available)}</dd>
          </div>
          <div class="card">
            <dt>Held</dt>
            <dd data-testid="held">{money(data.held)}</dd>
          </div>
          <div class="card">
            <dt>Balance</dt>
            <dd data-testid="balance">{money(data.amount)}</dd>
          </div>
        </dl>
      )}
    </Show>
  );
}

export function Overview(): JSX.Element {
  const statement = useLoad(() => loadRecentStatement(NO_FILTERS, CHART_ENTRIES), []);
  return (
    <>
      <PageTitle
        actions={
          <a class="button button-primary" href="/top-up">
            Top up
          </a>
        }
      >
        Your credit
      </PageTitle>
      <BalanceCards />
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent activity</h2>
        <Show loaded={statement}>
          {(data) => (
            <>
              <BalanceChart points={data.entries} title="Balance over your latest entries" />
              <EntriesTable entries={data.entries.slice(-RECENT_ENTRIES)} caption="Latest entries, newest first" newestFirst />
              {data.count > RECENT_ENTRIES ? (
                <p>
                  <a href="/statement">See the whole statement</a>
                </p>
              ) : null}
            </>
          )}
        </Show>
      </section>
    </>
  );
}
