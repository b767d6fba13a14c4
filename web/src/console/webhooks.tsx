// Webhooks: the endpoints Purse posts its events to. Create one (its signing secret is shown once),
// turn it on or off, rotate the secret, delete it, and read and retry its deliveries.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import { Field, Form } from '../ui/form';
import { dateTime } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton, PAGE_SIZE, Pager, SecretOnce, listOf } from './common';

type Webhook = Schemas['Webhook'];
type Delivery = Schemas['WebhookDelivery'];

function stateOf(webhook: Webhook): string {
  if (webhook.enabled) return webhook.failingSince === null ? 'On' : `On, failing since ${dateTime(webhook.failingSince)}`;
  return webhook.disabledReason === null ? 'Off' : `Off: ${webhook.disabledReason}`;
}

const COLUMNS: Column<Webhook>[] = [
  { label: 'Address', cell: (webhook) => <a href={`/console/webhooks/${webhook.id}`}>{webhook.url}</a> },
  { label: 'Events', cell: (webhook) => webhook.events.join(', ') },
  { label: 'Note', cell: (webhook) => webhook.description },
  { label: 'State', cell: stateOf },
];

export function WebhooksPage(): JSX.Element {
  const webhooks = useLoad(() => call(api.GET('/v3/webhooks')), []);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('');
  const [description, setDescription] = useState('');
  const [created, setCreated] = useState<Schemas['WebhookWithSecret'] | undefined>(undefined);
  return (
    <>
      <PageTitle>Webhooks</PageTitle>
      {created === undefined ? null : (
        <SecretOnce title="The new webhook’s signing secret" secret={created.secret}>
          <p>
            Deliveries to <a href={`/console/webhooks/${created.id}`}>{created.url}</a> are signed with it (Standard Webhooks).
          </p>
        </SecretOnce>
      )}
      <Show loaded={webhooks}>{(data) => <Table caption="Webhooks" columns={COLUMNS} rows={data.webhooks} rowKey={(webhook) => webhook.id} empty="No webhooks yet." />}</Show>
      <section class="section" aria-labelledby="new-webhook">
        <h2 id="new-webhook">New webhook</h2>
        <Form
          onSubmit={async () => {
            const webhook = await call(api.POST('/v3/webhooks', { body: { url: url.trim(), events: listOf(events), ...(description === '' ? {} : { description }) } }));
            setCreated(webhook);
            setUrl('');
            setEvents('');
            setDescription('');
            return 'Webhook created: copy its secret above.';
          }}
          submitLabel="Create webhook"
        >
          <Field name="url" label="Address" hint="https://… that receives the events." value={url} onInput={setUrl} autocomplete="off" />
          <Field name="events" label="Events" hint="Separated by commas: payment.committed, charge.* (a prefix and * for a family)." value={events} onInput={setEvents} autocomplete="off" />
          <Field name="description" label="Note" value={description} onInput={setDescription} autocomplete="off" />
        </Form>
      </section>
    </>
  );
}

const DELIVERY_COLUMNS = (webhookId: string): Column<Delivery>[] => [
  { label: 'Delivery', cell: (delivery) => delivery.id, numeric: true },
  { label: 'Event', cell: (delivery) => <code>{delivery.eventType}</code> },
  { label: 'Created', cell: (delivery) => dateTime(delivery.created) },
  { label: 'State', cell: (delivery) => delivery.state },
  { label: 'Attempts', cell: (delivery) => delivery.attempts, numeric: true },
  { label: 'Last answer', cell: (delivery) => delivery.lastError ?? (delivery.lastStatus === null ? '—' : String(delivery.lastStatus)) },
  { label: 'Next try', cell: (delivery) => dateTime(delivery.nextAttempt) },
  {
    label: 'Retry',
    cell: (delivery) =>
      delivery.state === 'delivered' ? (
        '—'
      ) : (
        <ActionButton
          label="Retry now"
          ariaLabel={`Retry delivery ${delivery.id}`}
          done="Queued."
          onRun={() => call(api.POST('/v3/webhooks/{id}/deliveries/{deliveryId}/retry', { params: { path: { id: webhookId, deliveryId: delivery.id }, header: { 'Idempotency-Key': idempotencyKey() } } }))}
        />
      ),
  },
];

export function WebhookPage({ params }: { params: Record<string, string> }): JSX.Element {
  const id = params.id ?? '';
  const { route } = useLocation();
  const webhook = useLoad(() => call(api.GET('/v3/webhooks/{id}', { params: { path: { id } } })), [id]);
  const [start, setStart] = useState(0);
  const deliveries = useLoad(() => call(api.GET('/v3/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: PAGE_SIZE, start } } })), [id, start]);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const patch = (enabled: boolean): Promise<Webhook> => call(api.PATCH('/v3/webhooks/{id}', { params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } }, body: { enabled } }));
  return (
    <>
      <PageTitle>Webhook</PageTitle>
      <p>
        <a href="/console/webhooks">Back to webhooks</a>
      </p>
      {secret === undefined ? null : <SecretOnce title="The new signing secret" secret={secret} />}
      <Show loaded={webhook}>
        {(data) => (
          <>
            <dl class="facts">
              <dt>Address</dt>
              <dd>{data.url}</dd>
              <dt>Events</dt>
              <dd>{data.events.join(', ')}</dd>
              <dt>Note</dt>
              <dd>{data.description === '' ? '—' : data.description}</dd>
              <dt>State</dt>
              <dd>{stateOf(data)}</dd>
              <dt>Created</dt>
              <dd>{dateTime(data.created)}</dd>
            </dl>
            <div class="actions section">
              <ActionButton label={data.enabled ? 'Turn off' : 'Turn on'} kind={data.enabled ? undefined : 'primary'} done={data.enabled ? 'Turned off.' : 'Turned on.'} onRun={() => patch(!data.enabled)} />
              <ActionButton
                label="Rotate the secret"
                confirm="Rotate the secret? Deliveries are signed with the new one from now on."
                onRun={async () => {
                  setSecret((await call(api.POST('/v3/webhooks/{id}/rotateSecret', { params: { path: { id } } }))).secret);
                }}
              />
              <ActionButton
                label="Delete"
                kind="danger"
                confirm="Delete this webhook and its deliveries?"
                onRun={async () => {
                  await call(api.DELETE('/v3/webhooks/{id}', { params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } } }));
                  route('/console/webhooks');
                }}
              />
            </div>
          </>
        )}
      </Show>
      <section class="section" aria-labelledby="deliveries">
        <h2 id="deliveries">Deliveries</h2>
        <Show loaded={deliveries}>
          {(data) => (
            <>
              <Table caption="Deliveries" columns={DELIVERY_COLUMNS(id)} rows={data.deliveries} rowKey={(delivery) => delivery.id} empty="Nothing delivered yet." />
              <Pager label="Delivery pages" start={start} shown={data.deliveries.length} count={data.count} onPage={setStart} />
            </>
          )}
        </Show>
      </section>
    </>
  );
}
