// Gateway payments: the list with the gateway's filters, one payment with its refunds, and the
// writes an operator makes on it (refund in full or in part, settle, void); and reconciliation.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import { Field, FieldProblems, Form, Select } from '../ui/form';
import { dateTime, money } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton, PAGE_SIZE, Pager, dayEnd, dayStart } from './common';

type Payment = Schemas['GatewayPayment'];
type Status = Schemas['GatewayPaymentStatus'];
type Method = Schemas['PaymentMethod'];

const STATUS_LABELS: Record<Status, string> = { success: 'Succeeded', error: 'Declined', settled: 'Settled', voided: 'Voided' };
const METHOD_LABELS: Record<Method, string> = { credit_card: 'Card', mbway: 'MB WAY' };

/** Gateway ids run to hundreds of characters: the start and the end tell them apart on screen. */
export function shortId(id: string): string {
  return id.length <= 16 ? id : `${id.slice(0, 10)}…${id.slice(-4)}`;
}

function isStatus(value: string): value is Status {
  return value in STATUS_LABELS;
}

function isMethod(value: string): value is Method {
  return value in METHOD_LABELS;
}

const COLUMNS: Column<Payment>[] = [
  { label: 'Payment', cell: (payment) => <a href={`/console/payments/${payment.payment_id}`}>{shortId(payment.payment_id)}</a> },
  { label: 'Created', cell: (payment) => dateTime(payment.created_at) },
  { label: 'Method', cell: (payment) => METHOD_LABELS[payment.payment_method] },
  { label: 'Status', cell: (payment) => STATUS_LABELS[payment.status] },
  { label: 'Amount', cell: (payment) => money(payment.amount), numeric: true },
  { label: 'Settled', cell: (payment) => (payment.settled_amount === null ? '—' : money(payment.settled_amount)), numeric: true },
];

interface Filters {
  payment_id: string;
  payment_method: string;
  status: string;
  amount_gte: string;
  amount_lte: string;
  created_from: string;
  created_to: string;
  settled_from: string;
  settled_to: string;
}

const NO_FILTERS: Filters = { payment_id: '', payment_method: '', status: '', amount_gte: '', amount_lte: '', created_from: '', created_to: '', settled_from: '', settled_to: '' };

function text(value: string): string | undefined {
  return value.trim() === '' ? undefined : value.trim();
}

function loadPayments(filters: Filters, offset: number): Promise<Payment[]> {
  const query = {
    payment_id: text(filters.payment_id),
    payment_method: isMethod(filters.payment_method) ? filters.payment_method : undefined,
    status: isStatus(filters.status) ? filters.status : undefined,
    amount_gte: text(filters.amount_gte),
    amount_lte: text(filters.amount_lte),
    created_at_gte: dayStart(filters.created_from),
    created_at_lte: dayEnd(filters.created_to),
    settled_at_gte: dayStart(filters.settled_from),
    settled_at_lte: dayEnd(filters.settled_to),
    limit: PAGE_SIZE,
    offset,
  };
  return call(api.GET('/api/payments', { params: { query } }));
}

export function PaymentsPage(): JSX.Element {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const payments = useLoad(() => loadPayments(filters, offset), [filters, offset]);
  const field = (key: keyof Filters) => (value: string) => {
    setDraft({ ...draft, [key]: value });
  };
  return (
    <>
      <PageTitle>Payments</PageTitle>
      <p class="lead">Card and MB WAY payments through the gateway. Open one to refund, settle or void it.</p>
      <FieldProblems value={payments.status === 'failed' ? payments.problem : undefined}>
        <form
          class="filters"
          aria-label="Filter the payments"
          onSubmit={(event) => {
            event.preventDefault();
            setFilters(draft);
            setOffset(0);
          }}
        >
          <Field name="payment_id" label="Payment" value={draft.payment_id} onInput={field('payment_id')} autocomplete="off" />
          <Select name="payment_method" label="Method" value={draft.payment_method} onInput={field('payment_method')} options={[{ value: '', label: 'Any' }, ...Object.entries(METHOD_LABELS).map(([value, label]) => ({ value, label }))]} />
          <Select name="status" label="Status" value={draft.status} onInput={field('status')} options={[{ value: '', label: 'Any' }, ...Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label }))]} />
          <Field name="amount_gte" label="Amount from" value={draft.amount_gte} onInput={field('amount_gte')} inputMode="decimal" autocomplete="off" />
          <Field name="amount_lte" label="Amount to" value={draft.amount_lte} onInput={field('amount_lte')} inputMode="decimal" autocomplete="off" />
          <Field name="created_at_gte" label="Created from" type="date" value={draft.created_from} onInput={field('created_from')} />
          <Field name="created_at_lte" label="Created to" type="date" value={draft.created_to} onInput={field('created_to')} />
          <Field name="settled_at_gte" label="Settled from" type="date" value={draft.settled_from} onInput={field('settled_from')} />
          <Field name="settled_at_lte" label="Settled to" type="date" value={draft.settled_to} onInput={field('settled_to')} />
          <div class="filters-actions">
            <button type="submit" class="button button-primary">
              Filter
            </button>
            <button type="button" class="button button-quiet" onClick={() => { setDraft(NO_FILTERS); setFilters(NO_FILTERS); setOffset(0); }}>
              Clear
            </button>
          </div>
        </form>
      </FieldProblems>
      <Show loaded={payments}>
        {(data) => (
          <>
            <Table caption="Payments" columns={COLUMNS} rows={data} rowKey={(payment) => payment.payment_id} empty="No payments match." />
            <Pager label="Payment pages" start={offset} shown={data.length} onPage={setOffset} />
          </>
        )}
      </Show>
    </>
  );
}

const REFUND_COLUMNS: Column<Schemas['Refund']>[] = [
  { label: 'Refund', cell: (refund) => <span title={refund.refund_id}>{shortId(refund.refund_id)}</span> },
  { label: 'When', cell: (refund) => dateTime(refund.created_at) },
  { label: 'Amount', cell: (refund) => money(refund.amount), numeric: true },
];

export function PaymentPage({ params }: { params: Record<string, string> }): JSX.Element {
  const id = params.id ?? '';
  const payment = useLoad(() => call(api.GET('/api/payments/{id}', { params: { path: { id } } })), [id]);
  const refunds = useLoad(() => call(api.GET('/api/refunds', { params: { query: { payment_id: id, limit: 1000 } } })), [id]);
  return (
    <>
      <PageTitle>{`Payment ${shortId(id)}`}</PageTitle>
      <p>
        <a href="/console/payments">Back to payments</a>
      </p>
      <Show loaded={payment}>{(data) => <PaymentFacts payment={data} />}</Show>
      <section class="section" aria-labelledby="refunds">
        <h2 id="refunds">Refunds</h2>
        <Show loaded={refunds}>{(data) => <Table caption="Refunds" columns={REFUND_COLUMNS} rows={data} rowKey={(refund) => refund.refund_id} empty="No refunds." />}</Show>
      </section>
      {payment.status === 'ready' && refunds.status === 'ready' ? <PaymentActions payment={payment.data} refunded={refunds.data.reduce((sum, refund) => sum + refund.amount, 0)} /> : null}
    </>
  );
}

function PaymentFacts({ payment }: { payment: Payment }): JSX.Element {
  const details = payment.additional_params;
  return (
    <dl class="facts">
      <dt>Payment id</dt>
      <dd>
        <code>{payment.payment_id}</code>
      </dd>
      <dt>Status</dt>
      <dd>{STATUS_LABELS[payment.status]}</dd>
      <dt>Method</dt>
      <dd>{METHOD_LABELS[payment.payment_method]}</dd>
      <dt>Amount</dt>
      <dd>{money(payment.amount)}</dd>
      <dt>Created</dt>
      <dd>{dateTime(payment.created_at)}</dd>
      <dt>Settled</dt>
      <dd>{payment.settled_amount === null ? '—' : `${money(payment.settled_amount)} on ${dateTime(payment.settled_at)}`}</dd>
      {payment.decline_reason === null ? null : (
        <>
          <dt>Declined</dt>
          <dd>{payment.decline_reason}</dd>
        </>
      )}
      {details === undefined ? null : (
        <>
          <dt>{'number' in details ? 'Card' : 'Phone'}</dt>
          <dd>{'number' in details ? details.number : (details.phone_number ?? '—')}</dd>
        </>
      )}
    </dl>
  );
}

function PaymentActions({ payment, refunded }: { payment: Payment; refunded: number }): JSX.Element | null {
  const left = Math.max(0, Math.round((payment.amount - refunded) * 100) / 100);
  const [amount, setAmount] = useState(left.toFixed(2));
  // After a refund the rest is the new default; the form (and what it just said) stays.
  useEffect(() => {
    setAmount(left.toFixed(2));
  }, [left]);
  const [settled, setSettled] = useState(payment.amount.toFixed(2));
  const id = payment.payment_id;
  const open = payment.status === 'success' || payment.status === 'settled';
  if (!open) return <p>A {STATUS_LABELS[payment.status].toLowerCase()} payment takes no more changes.</p>;
  return (
    <>
      {left <= 0 ? null : (
        <section class="section" aria-labelledby="refund">
          <h2 id="refund">Refund</h2>
          <Form
            onSubmit={async () => {
              const refund = await call(api.POST('/api/refunds', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body: { payment_id: id, amount: amount.trim().replace(',', '.') } }));
              return `Refunded ${money(refund.amount)}.`;
            }}
            submitLabel="Refund"
          >
            <Field name="amount" label="Amount to refund" hint={`Up to ${money(left)}; the full amount is filled in.`} value={amount} onInput={setAmount} inputMode="decimal" autocomplete="off" />
          </Form>
        </section>
      )}
      {payment.status !== 'success' ? null : (
        <section class="section" aria-labelledby="settle">
          <h2 id="settle">Settle or void</h2>
          <Form
            onSubmit={async () => {
              await call(api.PUT('/api/payments/{id}', { params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } }, body: { settled_amount: settled.trim().replace(',', '.'), settled_at: new Date().toISOString() } }));
              return 'Settled.';
            }}
            submitLabel="Settle now"
          >
            <Field name="settled_amount" label="Settled amount" value={settled} onInput={setSettled} inputMode="decimal" autocomplete="off" />
          </Form>
          <p>
            <ActionButton
              label="Void the payment"
              kind="danger"
              confirm={`Void payment ${id}? This cannot be undone.`}
              done="Voided."
              onRun={() => call(api.DELETE('/api/payments/{id}', { params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } } }))}
            />
          </p>
        </section>
      )}
    </>
  );
}

export function ReconciliationPage(): JSX.Element {
  const report = useLoad(() => call(api.GET('/api/reconciliation')), []);
  return (
    <>
      <PageTitle>Reconciliation</PageTitle>
      <p class="lead">Gateway payments checked against the credit they bought: each mismatch needs a look.</p>
      <Show loaded={report}>
        {(data) =>
          data.count === 0 ? (
            <p class="ok" role="status">
              Everything matches.
            </p>
          ) : (
            <Table
              caption="Mismatches"
              columns={[
                { label: 'Payment', cell: (row) => <a href={`/console/payments/${row.payment_id}`}>{shortId(row.payment_id)}</a> },
                { label: 'Problem', cell: (row) => row.problem },
              ]}
              rows={data.mismatches}
              rowKey={(row) => `${row.payment_id} ${row.problem}`}
              empty="Everything matches."
            />
          )
        }
      </Show>
    </>
  );
}
