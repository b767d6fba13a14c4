import { Type, type Static } from 'typebox';

import { BooleanQuery, DateTimeQuery, PagingQuery, StringEnum } from '../schemas.js';

export const ProviderSchema = Type.Object({
  name: Type.String(),
  reference: Type.String(),
  description: Type.String(),
  params: Type.Array(Type.String()),
  enabled: Type.Optional(Type.Boolean({ description: 'only with ?all=true' })),
});

export const ProviderListSchema = Type.Object({ providers: Type.Array(ProviderSchema), count: Type.Integer() });

export const ProviderListQuery = Type.Object(
  { all: Type.Optional(BooleanQuery('include disabled providers (right manageSettings)')) },
  { additionalProperties: false },
);

export const ProviderParams = Type.Object({ reference: Type.String({ minLength: 1, maxLength: 64 }) });

export const ProviderPatchBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });

export const PaymentParams = Type.Object({
  reference: Type.String({ minLength: 1, maxLength: 64 }),
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});

const ParamsField = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String({ maxLength: 4096 })], {
  description: 'provider params, as an object or as JSON text; for external: {"amount": 13}',
});

export const CreatePaymentBody = Type.Object(
  {
    userId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    params: Type.Optional(ParamsField),
  },
  { additionalProperties: false },
);

export const UpdatePaymentBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 500 })), params: Type.Optional(ParamsField) },
  { additionalProperties: false, minProperties: 1 },
);

export const RollbackBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });

export const CreatedPaymentSchema = Type.Object({
  id: Type.String(),
  userId: Type.Integer(),
  amount: Type.Number(),
  description: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
});

export const PaymentStateSchema = StringEnum(['created', 'committed', 'rolledBack', 'expired']);

export const PaymentSchema = Type.Object({
  id: Type.Integer(),
  userId: Type.Integer(),
  amount: Type.Number(),
  currency: Type.String(),
  state: PaymentStateSchema,
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
  expires: Type.String({ format: 'date-time' }),
  paymentNo: Type.Integer(),
  provider: Type.String(),
  description: Type.String(),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  reason: Type.Optional(Type.String()),
});
export type PaymentView = Static<typeof PaymentSchema>;

export const PaymentListSchema = Type.Object({ payments: Type.Array(PaymentSchema), count: Type.Integer() });

export const PaymentListQuery = Type.Object(
  {
    userId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    state: Type.Optional(PaymentStateSchema),
    from: Type.Optional(DateTimeQuery('created at or after')),
    to: Type.Optional(DateTimeQuery('created at or before')),
    ...PagingQuery,
  },
  { additionalProperties: false },
);

export const CommitResultSchema = Type.Object({ amount: Type.Number() });
