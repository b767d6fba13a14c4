// What is reserved on the person's credit (open holds) and what was spent (recent charges).
import type { JSX } from 'preact';

import { api, call, type Schemas } from '../api/client';
import { dateTime, money } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ACCOUNT, myId } from './credit';

const RECENT_CHARGES = 50;
const OPEN_HOLDS = 100;

const HOLD_COLUMNS: Column<Schemas['Hold']>[] = [
  { label: 'Placed', cell: (hold) => dateTime(hold.created) },
  { label: 'For', cell: (hold) => (hold.description === '' ? '—' : hold.description) },
  { label: 'Expires', cell: (hold) => dateTime(hold.expires) },
  { label: 'Amount', numeric: true, cell: (hold) => money(hold.amount) },
];

const CHARGE_COLUMNS: Column<Schemas['Charge']>[] = [
  { label: 'Date', cell: (charge) => dateTime(charge.created) },
  { label: 'For', cell: (charge) => (charge.description === '' ? '—' : charge.description) },
  { label: 'State', cell: (charge) => charge.state },
  { label: 'Amount', numeric: true, cell: (charge) => money(charge.amount) },
  { label: 'Refunded', numeric: true, cell: (charge) => (charge.refunded === 0 ? '—' : money(charge.refunded)) },
];

export function SpendingPage(): JSX.Element {
  const path = { id: myId(), reference: ACCOUNT };
  const holds = useLoad(() => call(api.GET('/v3/users/{id}/accounts/{reference}/holds', { params: { path, query: { state: 'held', limit: OPEN_HOLDS } } })), []);
  const charges = useLoad(() => call(api.GET('/v3/users/{id}/accounts/{reference}/charges', { params: { path, query: { limit: RECENT_CHARGES } } })), []);
  return (
    <>
      <PageTitle>Holds and charges</PageTitle>
      <section aria-labelledby="holds-heading">
        <h2 id="holds-heading">Open holds</h2>
        <p class="lead">Credit reserved for something not yet paid, such as a print job or a meal in progress.</p>
        <Show loaded={holds}>{(data) => <Table caption="Open holds, newest first" columns={HOLD_COLUMNS} rows={data.holds} rowKey={(hold) => hold.id} empty="Nothing is held." />}</Show>
      </section>
      <section aria-labelledby="charges-heading">
        <h2 id="charges-heading">Recent charges</h2>
        <Show loaded={charges}>{(data) => <Table caption="Recent charges, newest first" columns={CHARGE_COLUMNS} rows={data.charges} rowKey={(charge) => charge.id} empty="No charges yet." />}</Show>
      </section>
    </>
  );
}
