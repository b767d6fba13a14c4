// Voucher batches: generate one (its codes are answered this once: download them as CSV or print
// them at once), list the batches, expire one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import { Field, Form } from '../ui/form';
import { date, dateTime, money } from '../ui/format';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton, PAGE_SIZE, Pager, dayEnd, saveFile } from './common';

type Batch = Schemas['VoucherBatch'];
type Generated = Schemas['GeneratedVoucherBatch'];

const COLUMNS: Column<Batch>[] = [
  { label: 'Batch', cell: (batch) => batch.id, numeric: true },
  { label: 'Created', cell: (batch) => dateTime(batch.created) },
  { label: 'Value', cell: (batch) => money(batch.value, batch.currency), numeric: true },
  { label: 'Valid until', cell: (batch) => dateTime(batch.validUntil) },
  { label: 'Issued', cell: (batch) => batch.issued, numeric: true },
  { label: 'Redeemed', cell: (batch) => batch.redeemed, numeric: true },
  { label: 'Outstanding', cell: (batch) => money(batch.valueOutstanding, batch.currency), numeric: true },
  { label: 'Note', cell: (batch) => batch.description },
  {
    label: 'State',
    cell: (batch) =>
      batch.expired ? (
        'Expired'
      ) : (
        <ActionButton
          label="Expire"
          ariaLabel={`Expire batch ${batch.id}`}
          kind="danger"
          confirm={`Expire batch ${batch.id}? Its unredeemed codes stop working now.`}
          onRun={() => call(api.POST('/v3/vouchers/batches/{id}/expire', { params: { path: { id: batch.id }, header: { 'Idempotency-Key': idempotencyKey() } } }))}
        />
      ),
  },
];

/** The same columns as the API's own CSV of a batch (Accept: text/csv). */
export function codesCsv(batch: Generated): string {
  const cell = (text: string): string => (/[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  const rows = batch.codes.map((code) => [code, String(batch.value), batch.currency, batch.validUntil, String(batch.id)].map(cell).join(','));
  return ['code,value,currency,validUntil,batch', ...rows].join('\n') + '\n';
}

function inAYear(): string {
  const day = new Date();
  day.setFullYear(day.getFullYear() + 1);
  return `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;
}

export function VouchersPage(): JSX.Element {
  const [quantity, setQuantity] = useState('10');
  const [value, setValue] = useState('');
  const [validUntil, setValidUntil] = useState(inAYear());
  const [prefix, setPrefix] = useState('');
  const [description, setDescription] = useState('');
  const [generated, setGenerated] = useState<Generated | undefined>(undefined);
  const [start, setStart] = useState(0);
  const batches = useLoad(() => call(api.GET('/v3/vouchers/batches', { params: { query: { limit: PAGE_SIZE, start } } })), [start]);
  const generate = async (): Promise<string> => {
    const batch = await call(
      api.POST('/v3/vouchers/batches', {
        body: { quantity: Number(quantity), value: value.trim().replace(',', '.'), validUntil: dayEnd(validUntil) ?? '', ...(prefix === '' ? {} : { prefix }), ...(description === '' ? {} : { description }) },
      }),
    );
    setGenerated(batch);
    return `Batch ${batch.id}: ${batch.codes.length} codes of ${money(batch.value, batch.currency)}.`;
  };
  return (
    <>
      <PageTitle>Vouchers</PageTitle>
      {generated === undefined ? null : <CodeSheet batch={generated} onDone={() => { setGenerated(undefined); }} />}
      <section class="section no-print" aria-labelledby="generate">
        <h2 id="generate">Generate a batch</h2>
        <Form onSubmit={generate} submitLabel="Generate">
          <div class="field-row">
            <Field name="quantity" label="How many codes" value={quantity} onInput={setQuantity} inputMode="numeric" autocomplete="off" />
            <Field name="value" label="Value of each" value={value} onInput={setValue} inputMode="decimal" autocomplete="off" />
          </div>
          <div class="field-row">
            <Field name="validUntil" label="Valid until" type="date" value={validUntil} onInput={setValidUntil} />
            <Field name="prefix" label="Prefix" hint="Up to 12 letters or digits, optional." value={prefix} onInput={setPrefix} autocomplete="off" />
          </div>
          <Field name="description" label="Note" hint="What the batch is for, optional." value={description} onInput={setDescription} autocomplete="off" />
        </Form>
      </section>
      <section class="section no-print" aria-labelledby="batches">
        <h2 id="batches">Batches</h2>
        <Show loaded={batches}>
          {(data) => (
            <>
              <Table caption="Voucher batches" columns={COLUMNS} rows={data.batches} rowKey={(batch) => batch.id} empty="No batches yet." />
              <Pager label="Batch pages" start={start} shown={data.batches.length} count={data.count} onPage={setStart} />
            </>
          )}
        </Show>
      </section>
    </>
  );
}

/** The codes of the batch just generated: the only time Purse shows them. Printing prints this sheet alone. */
function CodeSheet({ batch, onDone }: { batch: Generated; onDone: () => void }): JSX.Element {
  const amount = money(batch.value, batch.currency);
  return (
    <section class="panel voucher-sheet section" aria-labelledby="codes">
      <h2 id="codes">
        Batch {batch.id}: {batch.codes.length} vouchers of {amount}
      </h2>
      <p class="no-print">
        <strong>Purse shows these codes only now.</strong> Download them or print them before you leave this page.
      </p>
      <div class="form-actions">
        <button type="button" class="button button-primary" onClick={() => { saveFile(codesCsv(batch), 'text/csv', `vouchers-batch-${batch.id}.csv`); }}>
          Download CSV
        </button>
        <button type="button" class="button" onClick={() => { window.print(); }}>
          Print the codes
        </button>
        <button type="button" class="button button-quiet" onClick={onDone}>
          Done
        </button>
      </div>
      <ul class="voucher-codes" aria-label="Codes">
        {batch.codes.map((code) => (
          <li key={code} class="voucher-code">
            <code>{code}</code>
            <span>
              {amount} · valid until {date(batch.validUntil)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
