import { Type } from 'typebox';

import { Amount, DateTimeQuery, named, NullableInteger, NullableNumber, NullableString, PagingQuery, StringEnum } from '../schemas.js';

import { MAX_HOLD_SECONDS } from './commands.js';
import { HOLD_STATES } from './views.js';

const PositiveAmount = (): ReturnType<typeof Amount> => Amount('major units, greater than zero');

export const ChargeBody = Type.Object(
  {
    amount: PositiveAmount(),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the caller's own reference (a print job id)" })),
  },
  { additionalProperties: false, examples: [{ amount: 1.2, description: 'coffee', externalId: 'till-7/1041' }] },
);

export const ChargeSchema = named('Charge', Type.Object({
  id: Type.Integer(),
  userId: Type.Integer(),
  account: Type.String(),
  amount: Type.Number(),
  refunded: Type.Number({ description: 'given back so far by refunds' }),
  description: Type.String(),
  externalId: NullableString(),
  holdId: NullableInteger({ description: 'the hold whose capture posted it' }),
  state: StringEnum(['posted', 'refunded'] as const, { description: 'refunded once refunds reach the whole amount' }),
  balance: Type.Number({ description: 'the posted balance right after the charge' }),
  created: Type.String({ format: 'date-time' }),
}));

export const ChargeListSchema = named('ChargeList', Type.Object({ charges: Type.Array(ChargeSchema), count: Type.Integer() }));

export const ChargeListQuery = Type.Object(
  {
    from: Type.Optional(DateTimeQuery('created at or after')),
    to: Type.Optional(DateTimeQuery('created at or before')),
    ...PagingQuery,
  },
  { additionalProperties: false },
);

export const ChargeRefundBody = Type.Object(
  {
    amount: Type.Optional(Amount('major units; default: all that is left to refund')),
    reason: Type.String({ maxLength: 500, description: 'shown in the statement' }),
  },
  { additionalProperties: false, examples: [{ amount: 1.2, reason: 'coffee machine out of order' }] },
);

export const ChargeRefundSchema = named(
  'ChargeRefund',
  Type.Object({
    id: Type.Integer(),
    chargeId: Type.Integer(),
    amount: Type.Number(),
    reason: Type.String(),
    created: Type.String({ format: 'date-time' }),
  }),
);

export const ChargeRefundResultSchema = named('ChargeRefundResult', Type.Object({ ...ChargeRefundSchema.properties, charge: ChargeSchema }));

export const ChargeRefundListSchema = named('ChargeRefundList', Type.Object({ refunds: Type.Array(ChargeRefundSchema), count: Type.Integer() }));

export const HoldBody = Type.Object(
  {
    amount: PositiveAmount(),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HOLD_SECONDS, default: 900, description: 'released by itself after this long unless captured or released' })),
  },
  { additionalProperties: false, examples: [{ amount: 5, description: 'print job 311', expiresInSeconds: 600 }] },
);

export const HoldStateSchema = named('HoldState', StringEnum(HOLD_STATES));

export const HoldSchema = named('Hold', Type.Object({
  id: Type.Integer(),
  userId: Type.Integer(),
  account: Type.String(),
  state: HoldStateSchema,
  amount: Type.Number({ description: 'reserved while held' }),
  captured: NullableNumber({ description: 'what the capture charged' }),
  chargeId: NullableInteger({ description: 'the charge its capture posted' }),
  description: Type.String(),
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time' }),
}));

export const HoldListSchema = named('HoldList', Type.Object({ holds: Type.Array(HoldSchema), count: Type.Integer() }));

export const HoldListQuery = Type.Object({ state: Type.Optional(HoldStateSchema), ...PagingQuery }, { additionalProperties: false });

export const CaptureBody = Type.Object(
  { amount: Type.Optional(Amount('major units, at most the held amount; default: all of it. The rest is released')) },
  { additionalProperties: false, examples: [{ amount: 3.4 }] },
);

export const TransferBody = Type.Object(
  {
    toUserId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    amount: PositiveAmount(),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, examples: [{ toUserId: 2, amount: 5, description: 'lunch' }] },
);

export const TransferSchema = named('Transfer', Type.Object({
  id: Type.Integer(),
  userId: Type.Integer({ description: 'the sender' }),
  account: Type.String(),
  toUserId: Type.Integer(),
  toAccount: Type.String(),
  amount: Type.Number(),
  description: Type.String(),
  balance: Type.Number({ description: "the sender's posted balance after the transfer" }),
  created: Type.String({ format: 'date-time' }),
}));

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, examples: [1] }) });
