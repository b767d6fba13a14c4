import { Type, type Static } from 'typebox';

import { Amount, DateTimeQuery, named, NullableString, PagingQuery } from '../schemas.js';

export const AccountParams = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'the user id', examples: [1] }),
  reference: Type.String({ minLength: 1, maxLength: 64, description: 'the account: credit', examples: ['credit'] }),
});

export const AccountsSchema = named('Accounts', Type.Object({
  credit: Type.Object({ enabled: Type.Boolean() }),
  accounts: Type.Array(
    Type.Object({
      name: Type.String(),
      reference: Type.String(),
      type: Type.Literal('credit'),
      rechargeProviders: Type.Array(Type.Object({ name: Type.String(), reference: Type.String() })),
    }),
  ),
}));

export const BalanceSchema = named(
  'Balance',
  Type.Object({
    amount: Type.Number({ description: 'the posted balance, major units' }),
    held: Type.Number({ description: 'reserved by open holds' }),
    available: Type.Number({ description: 'amount − held: what can be spent now' }),
  }),
);

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

export const StatementEntrySchema = named('StatementEntry', Type.Object({
  id: Type.Integer(),
  date: Type.String({ format: 'date-time' }),
  type: Type.String(),
  balance: Type.Number({ description: 'credit balance after this entry' }),
  value: Type.Number({ description: 'signed change' }),
  provider: Type.String(),
  paymentId: NullableString(),
  description: Type.String(),
}));
export type StatementEntry = Static<typeof StatementEntrySchema>;

export const StatementSchema = named(
  'Statement',
  Type.Object({
    entries: Type.Array(StatementEntrySchema),
    count: Type.Integer({ description: 'entries matching, over all pages' }),
  }),
);

export const RechargeBody = Type.Object(
  {
    amount: Amount('major units; negative lowers the credit'),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, examples: [{ amount: 2.5, description: 'welcome bonus' }] },
);

export const RechargeResultSchema = named(
  'RechargeResult',
  Type.Object({
    transactionId: Type.Integer(),
    amount: Type.Number(),
    balance: Type.Number({ description: 'credit balance after the recharge' }),
  }),
);

export const BulkRechargeBody = Type.Object(
  { csv: Type.String({ description: 'rows of `user;amount` or `user,amount`, optional header' }) },
  { additionalProperties: false, examples: [{ csv: 'user;amount\nadmin;1\n' }] },
);

export const BulkRechargeResultSchema = named(
  'BulkRechargeResult',
  Type.Object({
    count: Type.Integer({ description: 'rows posted' }),
    total: Type.Number({ description: 'sum of the amounts' }),
  }),
);

export const LedgerVerificationSchema = named(
  'LedgerVerification',
  Type.Object({
    ok: Type.Boolean({ description: 'true when no problem was found' }),
    problems: Type.Array(Type.String(), { description: 'each problem in words; at most 1,000 listed' }),
    checkedAt: Type.String({ format: 'date-time' }),
  }),
);
