// Recharge providers: which ways of adding credit are on. A disabled one refuses new payments.
import type { JSX } from 'preact';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton } from './common';

type Provider = Schemas['Provider'];

function setEnabled(reference: string, enabled: boolean): Promise<Provider> {
  return call(api.PATCH('/v3/rechargeProviders/{reference}', { params: { path: { reference }, header: { 'Idempotency-Key': idempotencyKey() } }, body: { enabled } }));
}

const COLUMNS: Column<Provider>[] = [
  { label: 'Provider', cell: (provider) => provider.name },
  { label: 'Reference', cell: (provider) => <code>{provider.reference}</code> },
  { label: 'What it is', cell: (provider) => provider.description },
  { label: 'State', cell: (provider) => (provider.enabled === false ? 'Off' : 'On') },
  {
    label: 'Change',
    cell: (provider) => {
      const on = provider.enabled !== false;
      return (
        <ActionButton
          label={on ? 'Turn off' : 'Turn on'}
          ariaLabel={`${on ? 'Turn off' : 'Turn on'} ${provider.name}`}
          kind={on ? 'danger' : 'primary'}
          done={on ? 'Turned off.' : 'Turned on.'}
          onRun={() => setEnabled(provider.reference, !on)}
        />
      );
    },
  },
];

export function ProvidersPage(): JSX.Element {
  const providers = useLoad(() => call(api.GET('/v3/rechargeProviders', { params: { query: { all: 'true' } } })), []);
  return (
    <>
      <PageTitle>Providers</PageTitle>
      <p class="lead">The ways people add credit. A provider that is off refuses new payments; what it already took stays.</p>
      <Show loaded={providers}>{(data) => <Table caption="Providers" columns={COLUMNS} rows={data.providers} rowKey={(provider) => provider.reference} empty="No providers." />}</Show>
    </>
  );
}
