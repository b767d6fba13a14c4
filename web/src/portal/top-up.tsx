// Topping up: by card or MB WAY through Purse's payment gateway (the card and mbway recharge
// providers), or with a voucher code (the voucher provider). Each is the recharge API's two steps,
// create then commit, for the person themselves; only the enabled providers are offered.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import { money } from '../ui/format';
import { Field, Form } from '../ui/form';
import { useLoad } from '../ui/load';
import { Empty, PageTitle, Show } from '../ui/parts';

import { loadProviders, myId } from './credit';
import { BalanceCards } from './overview';

const METHODS = [
  { reference: 'card', label: 'Card' },
  { reference: 'mbway', label: 'MB WAY' },
  { reference: 'voucher', label: 'Voucher' },
] as const;
type Method = (typeof METHODS)[number]['reference'];

/** Create, then commit; a commit that fails rolls the payment back, so that a voucher is not left reserved. */
async function recharge(reference: Method, params: Schemas['RechargeParams']): Promise<number> {
  const created = await call(
    api.POST('/v3/rechargeProviders/{reference}/payments', { params: { path: { reference }, header: { 'Idempotency-Key': idempotencyKey() } }, body: { userId: myId(), params } }),
  );
  const path = { reference, id: Number(created.id) };
  try {
    const committed = await call(api.POST('/v3/rechargeProviders/{reference}/payments/{id}/commit', { params: { path } }));
    return committed.amount;
  } catch (error) {
    await api.POST('/v3/rechargeProviders/{reference}/payments/{id}/rollback', { params: { path }, body: { reason: 'the commit failed in the web app' } });
    throw error;
  }
}

export function TopUpPage(): JSX.Element {
  const providers = useLoad(loadProviders, []);
  const [chosen, setChosen] = useState<Method | undefined>(undefined);
  return (
    <>
      <PageTitle>Top up</PageTitle>
      <BalanceCards />
      <Show loaded={providers}>
        {(data) => {
          const enabled = METHODS.filter((method) => data.providers.some((p) => p.reference === method.reference));
          const method = chosen ?? enabled[0]?.reference;
          if (method === undefined) return <Empty>No way to top up is enabled. Ask an administrator.</Empty>;
          return (
            <>
              <fieldset class="choice">
                <legend>How do you want to pay?</legend>
                {enabled.map((option) => (
                  <label key={option.reference} class={option.reference === method ? 'choice-option choice-option-chosen' : 'choice-option'}>
                    <input type="radio" name="method" value={option.reference} checked={option.reference === method} onChange={() => { setChosen(option.reference); }} />
                    {option.label}
                  </label>
                ))}
              </fieldset>
              {method === 'card' ? <CardForm /> : method === 'mbway' ? <MbWayForm /> : <VoucherForm />}
            </>
          );
        }}
      </Show>
    </>
  );
}

function CardForm(): JSX.Element {
  const [amount, setAmount] = useState('');
  const [card, setCard] = useState({ number: '', name: '', expiration_month: '', expiration_year: '', cvv: '' });
  const submit = async (): Promise<string> => {
    const added = await recharge('card', { amount, card });
    setAmount('');
    setCard({ number: '', name: '', expiration_month: '', expiration_year: '', cvv: '' });
    return `Paid by card: ${money(added)} added to your credit.`;
  };
  return (
    <Form onSubmit={submit} submitLabel="Pay by card">
      <Field name="params.amount" label="Amount" value={amount} onInput={setAmount} inputMode="decimal" autocomplete="transaction-amount" />
      <Field name="params.card.number" label="Card number" value={card.number} onInput={(number) => { setCard({ ...card, number }); }} inputMode="numeric" autocomplete="cc-number" />
      <Field name="params.card.name" label="Name on the card" value={card.name} onInput={(name) => { setCard({ ...card, name }); }} autocomplete="cc-name" />
      <div class="field-row">
        <Field name="params.card.expiration_month" label="Expiry month" hint="MM" value={card.expiration_month} onInput={(month) => { setCard({ ...card, expiration_month: month }); }} inputMode="numeric" autocomplete="cc-exp-month" />
        <Field name="params.card.expiration_year" label="Expiry year" hint="YYYY" value={card.expiration_year} onInput={(year) => { setCard({ ...card, expiration_year: year }); }} inputMode="numeric" autocomplete="cc-exp-year" />
        <Field name="params.card.cvv" label="Security code" hint="CVV, 3 or 4 digits" value={card.cvv} onInput={(cvv) => { setCard({ ...card, cvv }); }} inputMode="numeric" autocomplete="cc-csc" />
      </div>
    </Form>
  );
}

function MbWayForm(): JSX.Element {
  const [amount, setAmount] = useState('');
  const [phone, setPhone] = useState('');
  const submit = async (): Promise<string> => {
    const added = await recharge('mbway', { amount, phone_number: phone });
    setAmount('');
    return `Paid with MB WAY: ${money(added)} added to your credit.`;
  };
  return (
    <Form onSubmit={submit} submitLabel="Pay with MB WAY">
      <Field name="params.amount" label="Amount" value={amount} onInput={setAmount} inputMode="decimal" autocomplete="transaction-amount" />
      <Field name="params.phone_number" label="Mobile number" hint="The MB WAY number: 9 digits starting with 9, optionally after +351" type="tel" value={phone} onInput={setPhone} autocomplete="tel" />
    </Form>
  );
}

function VoucherForm(): JSX.Element {
  const [code, setCode] = useState('');
  const submit = async (): Promise<string> => {
    const added = await recharge('voucher', { code });
    setCode('');
    return `Voucher redeemed: ${money(added)} added to your credit.`;
  };
  return (
    <Form onSubmit={submit} submitLabel="Redeem voucher">
      <Field name="params.code" label="Voucher code" hint="In any case, with or without dashes" value={code} onInput={setCode} autocomplete="off" />
    </Form>
  );
}
