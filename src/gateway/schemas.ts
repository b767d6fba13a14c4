import { Type, type Static, type TRecord, type TUnknown } from 'typebox';

import { Amount, documentedAs, MAX_PAGE_LIMIT, named, NullableNumber, NullableString, StringEnum } from '../schemas.js';

const GatewayId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9]+$' });
const DateTimeText = Type.String({ maxLength: 40, description: 'ISO 8601, e.g. 2020-01-01T00:00:00 (UTC when no zone is given)' });

export const MethodSchema = named('PaymentMethod', StringEnum(['credit_card', 'mbway']));
export const StatusSchema = named('GatewayPaymentStatus', StringEnum(['success', 'error', 'settled', 'voided']));

// The instruments as a client sends them. Only documented: the gateway checks them itself (Luhn,
// expiry, CVV, phone number) and names the field of each problem, which a schema could not.
export const CardInputSchema = named(
  'Card',
  Type.Object(
    {
      number: Type.String({ description: '12–19 digits passing the Luhn check; spaces and dashes are ignored' }),
      name: Type.String({ minLength: 1, maxLength: 100, description: 'the name on the card' }),
      expiration_month: Type.String({ pattern: '^(0?[1-9]|1[0-2])$', description: '1–12' }),
      expiration_year: Type.String({ pattern: '^([0-9]{2}|[0-9]{4})$', description: '2 or 4 digits' }),
      cvv: Type.String({ pattern: '^[0-9]{3,4}$', writeOnly: true, description: 'checked, never stored or logged' }),
    },
    { description: 'A card; kept only as its first 6 and last 4 digits, holder and expiry' },
  ),
);

export const MbWayInputSchema = named(
  'MbWay',
  Type.Object({ phone_number: Type.String({ description: 'a Portuguese mobile number: 9 digits starting with 9, optionally after +351' }) }, { description: 'An MB WAY phone' }),
);

const CardDetailsSchema = named(
  'GatewayCardDetails',
  Type.Object({
    payment: Type.String(),
    amount: Type.Number(),
    method: MethodSchema,
    number: Type.String({ description: 'masked: first 6 and last 4 digits' }),
    name: NullableString(),
    expiration_month: NullableString(),
    expiration_year: NullableString(),
  }),
);

const MbWayDetailsSchema = named('GatewayMbWayDetails', Type.Object({ payment: Type.String(), amount: Type.Number(), method: MethodSchema, phone_number: NullableString() }));

const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })),
};

export const PaymentListQuery = Type.Object(
  {
    payment_id: Type.Optional(GatewayId),
    payment_method: Type.Optional(MethodSchema),
    status: Type.Optional(StatusSchema),
    amount_gte: Type.Optional(Type.String({ maxLength: 32 })),
    amount_lte: Type.Optional(Type.String({ maxLength: 32 })),
    created_at_gte: Type.Optional(DateTimeText),
    created_at_lte: Type.Optional(DateTimeText),
    settled_at_gte: Type.Optional(DateTimeText),
    settled_at_lte: Type.Optional(DateTimeText),
    ...Paging,
  },
  { additionalProperties: false },
);
export type PaymentListQueryInput = Static<typeof PaymentListQuery>;

export const PaymentIdParams = Type.Object({ id: GatewayId });

export const GatewayPaymentSchema = named('GatewayPayment', Type.Object({
  payment_id: Type.String(),
  amount: Type.Number(),
  payment_method: MethodSchema,
  status: StatusSchema,
  settled_at: NullableString(),
  settled_amount: NullableNumber(),
  created_at: Type.String(),
  decline_reason: NullableString(),
  // Serialized as a record: fast-json-stringify would test every branch of a union per value.
  additional_params: Type.Optional(
    documentedAs(Type.Record(Type.String(), Type.Unknown()), { oneOf: [CardDetailsSchema, MbWayDetailsSchema], description: 'only on a single payment: the card masked (never the CVV), or the MB WAY phone' }),
  ),
}));
export type GatewayPaymentView = Static<typeof GatewayPaymentSchema>;

/** card: number, name, expiration_month, expiration_year, cvv; mbway: phone_number. */
function InstrumentParams(description: string): TRecord<'^.*$', TUnknown> {
  return documentedAs(Type.Record(Type.String(), Type.Unknown()), { oneOf: [CardInputSchema, MbWayInputSchema], description });
}

export const CreatePaymentBody = Type.Object(
  {
    amount: Amount('major units'),
    payment_method: Type.String({ maxLength: 32, description: 'credit_card or mbway' }),
    additional_params: Type.Optional(InstrumentParams('the card for credit_card, the phone for mbway')),
  },
  {
    additionalProperties: false,
    examples: [{ amount: 20, payment_method: 'credit_card', additional_params: { number: '4242424242424242', name: 'John Doe', expiration_month: '05', expiration_year: '2031', cvv: '321' } }],
  },
);

export const UpdatePaymentBody = Type.Object(
  {
    amount: Type.Optional(Amount('major units; only while the payment is untouched')),
    payment_method: Type.Optional(Type.String({ maxLength: 32 })),
    additional_params: Type.Optional(InstrumentParams('as for a new payment')),
    settled_at: Type.Optional(Type.Union([DateTimeText, Type.Null()])),
    settled_amount: Type.Optional(Amount('major units, at most the amount less refunds')),
  },
  { additionalProperties: false, examples: [{ settled_at: '2026-01-31T12:00:00Z', settled_amount: 20 }] },
);

export const RefundBody = Type.Object({ payment_id: GatewayId, amount: Amount('major units') }, { additionalProperties: false, examples: [{ payment_id: 'Q3ZkRr8wW1yTq0LmN5xPa7Bc', amount: 5 }] });

export const RefundSchema = named('Refund', Type.Object({ refund_id: Type.String(), payment_id: Type.String(), amount: Type.Number(), created_at: Type.String() }));
export type RefundView = Static<typeof RefundSchema>;

export const RefundListQuery = Type.Object({ payment_id: Type.Optional(GatewayId), refund_id: Type.Optional(GatewayId), ...Paging }, { additionalProperties: false });

export const ReconciliationSchema = named(
  'Reconciliation',
  Type.Object({
    mismatches: Type.Array(Type.Object({ payment_id: Type.String(), problem: Type.String() })),
    count: Type.Integer(),
  }),
);
