import { Type, type Static } from 'typebox';

import { DateTimeQuery, NullableString, PagingQuery } from '../schemas.js';

export const AccountParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  reference: Type.String({ minLength: 1, maxLength: 64 }),
});

export const AccountsSchema = Type.Object({
  credit: Type.Object({ enabled: Type.Boolean() }),
  accounts: Type.Array(
    Type.Object({
      name: Type.String(),
      reference: Type.String(),
      type: Type.Literal('credit'),
      rechargeProviders: Type.Array(Type.Object({ name: Type.String(), reference: Type.String() })),
    }),
  ),
});

export const BalanceSchema = Type.Object({
  amount: Type.Number({ description: 'the posted balance, major units' }),
  held: Type.Number({ description: 'reserved by open holds' }),
  available: Type.Number({ description: 'amount − held: what can be spent now' }),
});

export const StatementQuery = Type.Object(
  {
    from: Type.Optional(DateTimeQuery('entries at or after')),
    to: Type.Optional(DateTimeQuery('entries at or before')),
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'recharge, manual, refund, charge, chargeRefund, transferIn, transferOut' })),
    ...PagingQuery,
  },
  { additionalProperties: false },
);
export type StatementQueryInput = Static<typeof StatementQuery>;

export const StatementEntrySchema = Type.Object({
  id: Type.Integer(),
  date: Type.String({ format: 'date-time' }),
  type: Type.String(),
  balance: Type.Number({ description: 'credit balance after this entry' }),
  value: Type.Number({ description: 'signed change' }),
  provider: Type.String(),
  paymentId: NullableString(),
  description: Type.String(),
});
export type StatementEntry = Static<typeof StatementEntrySchema>;

export const StatementSchema = Type.Object({
  entries: Type.Array(StatementEntrySchema),
  count: Type.Integer({ description: 'entries matching, over all pages' }),
});

export const RechargeBody = Type.Object(
  {
    // Unknown on purpose: schema type coercion would turn "1e2" into 100 and true into 1;
    // money.ts converts the JSON number or decimal text exactly, or says what is wrong.
    amount: Type.Unknown({ description: 'major units, a JSON number or decimal text; negative lowers the credit' }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const RechargeResultSchema = Type.Object({
  transactionId: Type.Integer(),
  amount: Type.Number(),
  balance: Type.Number({ description: 'credit balance after the recharge' }),
});

export const BulkRechargeBody = Type.Object(
  { csv: Type.String({ description: 'rows of `user;amount` or `user,amount`, optional header' }) },
  { additionalProperties: false },
);

export const BulkRechargeResultSchema = Type.Object({
  count: Type.Integer({ description: 'rows posted' }),
  total: Type.Number({ description: 'sum of the amounts' }),
});
