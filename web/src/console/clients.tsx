// API clients: programs that call Purse with a client id and secret (client_credentials). Create one
// (its secret is shown this once) or revoke one; the web app's own client cannot be revoked.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { api, call, type Schemas } from '../api/client';
import { currentPerson } from '../auth/session';
import { Field, Form } from '../ui/form';
import { dateTime } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton, Checkboxes, SecretOnce } from './common';

type Client = Schemas['ApiClient'];

/** The web app's own public client: the API refuses to revoke it (409), so the page does not offer to. */
const WEB_CLIENT_ID = 'purse-web';
type Scope = Schemas['Scope'];

const SCOPES: { value: Scope; label: string }[] = [
  { value: 'credit', label: 'credit (balances, recharges, vouchers)' },
  { value: 'users', label: 'users (people)' },
  { value: 'payments', label: 'payments (the gateway)' },
  { value: 'settings', label: 'settings (providers, webhooks, clients)' },
  { value: 'offline.access', label: 'offline.access (refresh tokens)' },
];

function scopesOf(values: string[]): Scope[] {
  return SCOPES.filter((scope) => values.includes(scope.value)).map((scope) => scope.value);
}

const COLUMNS: Column<Client>[] = [
  { label: 'Client id', cell: (client) => <code>{client.id}</code> },
  { label: 'Name', cell: (client) => client.name },
  { label: 'Scopes', cell: (client) => client.scopes.join(' ') },
  { label: 'Acts as', cell: (client) => `person ${client.userId}` },
  { label: 'Created', cell: (client) => dateTime(client.createdAt) },
  {
    label: 'State',
    cell: (client) =>
      client.revoked ? (
        'Revoked'
      ) : client.id === WEB_CLIENT_ID ? (
        'This web app: cannot be revoked'
      ) : (
        <ActionButton
          label="Revoke"
          ariaLabel={`Revoke ${client.name}`}
          kind="danger"
          confirm={`Revoke ${client.name}? Programs using it are refused from now on.`}
          onRun={() => call(api.POST('/v3/clients/{id}/revoke', { params: { path: { id: client.id } } }))}
        />
      ),
  },
];

export function ClientsPage(): JSX.Element {
  const clients = useLoad(() => call(api.GET('/v3/clients')), []);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [userId, setUserId] = useState(String(currentPerson()?.id ?? ''));
  const [created, setCreated] = useState<Schemas['ApiClientWithSecret'] | undefined>(undefined);
  return (
    <>
      <PageTitle>API clients</PageTitle>
      {created === undefined ? null : (
        <SecretOnce title={`The secret of ${created.name}`} secret={created.secret}>
          <p>
            Client id <code>{created.id}</code>.
          </p>
        </SecretOnce>
      )}
      <Show loaded={clients}>{(data) => <Table caption="API clients" columns={COLUMNS} rows={data.clients} rowKey={(client) => client.id} empty="No clients." />}</Show>
      <section class="section" aria-labelledby="new-client">
        <h2 id="new-client">New client</h2>
        <Form
          onSubmit={async () => {
            const client = await call(api.POST('/v3/clients', { body: { name: name.trim(), scopes: scopesOf(scopes), userId: Number(userId) } }));
            setCreated(client);
            setName('');
            setScopes([]);
            return 'Client created: copy its secret above.';
          }}
          submitLabel="Create client"
        >
          <Field name="name" label="Name" value={name} onInput={setName} autocomplete="off" />
          <Checkboxes name="scopes" legend="Scopes" options={SCOPES} value={scopes} onInput={setScopes} />
          <Field name="userId" label="Acts as person number" hint="Its calls carry this person’s rights." value={userId} onInput={setUserId} inputMode="numeric" autocomplete="off" />
        </Form>
      </section>
    </>
  );
}
