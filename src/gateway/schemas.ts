import { Type, type Static } from 'typebox';

import { MAX_PAGE_LIMIT, NullableNumber, NullableString, StringEnum } from '../schemas.js';

const GatewayId = Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9]+$' });
// Amounts are Unknown on purpose: money.ts converts them exactly (schema coercion would not).
const Money = Type.Unknown({ description: 'major units: a JSON number (50.0) or decimal text' });
const DateTimeText = Type.String({ maxLength: 40, description: 'ISO 8601, e.g. 2020-01-01T00:00:00 (UTC when no zone is given)' });

export const MethodSchema = StringEnum(['credit_card', 'mbway']);
export const StatusSchema = StringEnum(['success', 'error', 'settled', 'voided']);

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

export const GatewayPaymentSchema = Type.Object({
  payment_id: Type.String(),
  amount: Type.Number(),
  payment_method: MethodSchema,
  status: StatusSchema,
  settled_at: NullableString(),
  settled_amount: NullableNumber(),
  created_at: Type.String(),
  decline_reason: NullableString(),
  additional_params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'card number masked, never the CVV' })),
});
export type GatewayPaymentView = Static<typeof GatewayPaymentSchema>;

export const CreatePaymentBody = Type.Object(
  {
    amount: Money,
    payment_method: Type.String({ maxLength: 32, description: 'credit_card or mbway' }),
    additional_params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'card: number, name, expiration_month, expiration_year, cvv; mbway: phone_number' })),
  },
  { additionalProperties: false },
);

export const UpdatePaymentBody = Type.Object(
  {
    amount: Type.Optional(Money),
    payment_method: Type.Optional(Type.String({ maxLength: 32 })),
    additional_params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    settled_at: Type.Optional(Type.Union([DateTimeText, Type.Null()])),
    settled_amount: Type.Optional(Money),
  },
  { additionalProperties: false },
);

export const RefundBody = Type.Object({ payment_id: GatewayId, amount: Money }, { additionalProperties: false });

export const RefundSchema = Type.Object({ refund_id: Type.String(), payment_id: Type.String(), amount: Type.Number(), created_at: Type.String() });
export type RefundView = Static<typeof RefundSchema>;

export const RefundListQuery = Type.Object({ payment_id: Type.Optional(GatewayId), refund_id: Type.Optional(GatewayId), ...Paging }, { additionalProperties: false });

export const ReconciliationSchema = Type.Object({
  mismatches: Type.Array(Type.Object({ payment_id: Type.String(), problem: Type.String() })),
  count: Type.Integer(),
});
