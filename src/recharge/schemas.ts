import { Type, type Static } from 'typebox';

import { Amount, BooleanQuery, DateTimeQuery, documentedAs, named, PagingQuery, StringEnum } from '../schemas.js';
import { CardInputSchema } from '../gateway/schemas.js';

export const ProviderSchema = named(
  'Provider',
  Type.Object({
    name: Type.String(),
    reference: Type.String(),
    description: Type.String(),
    params: Type.Array(Type.String(), { description: 'the params its payments take' }),
    enabled: Type.Optional(Type.Boolean({ description: 'only with ?all=true' })),
  }),
);

export const ProviderListSchema = named('ProviderList', Type.Object({ providers: Type.Array(ProviderSchema), count: Type.Integer() }));

export const ProviderListQuery = Type.Object(
  { all: Type.Optional(BooleanQuery('include disabled providers (right manageSettings)')) },
  { additionalProperties: false },
);

const ProviderReference = Type.String({ minLength: 1, maxLength: 64, description: 'external, voucher, card or mbway', examples: ['external'] });

export const ProviderParams = Type.Object({ reference: ProviderReference });

export const ProviderPatchBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false, examples: [{ enabled: true }] });

export const PaymentParams = Type.Object({
  reference: ProviderReference,
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, examples: [1] }),
});

/** What each provider's payments take; the provider checks its own and names the field. */
const RechargeParamsSchema = named(
  'RechargeParams',
  Type.Object(
    {
      amount: Type.Optional(Amount('external, card and mbway: the amount to recharge')),
      code: Type.Optional(Type.String({ description: 'voucher: the code, in any case, with or without dashes' })),
      card: Type.Optional(CardInputSchema),
      phone_number: Type.Optional(Type.String({ description: 'mbway: a Portuguese mobile number, 9 digits starting with 9, optionally after +351' })),
    },
    { description: 'Provider params: external {amount}; voucher {code}; card {amount, card}; mbway {amount, phone_number}' },
  ),
);

// Validated as any object or JSON text: each provider checks its own params and names the field.
const ParamsField = documentedAs(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.String({ maxLength: 4096 })]), {
  anyOf: [RechargeParamsSchema, { type: 'string', maxLength: 4096, description: 'the same object as JSON text' }],
  description: 'provider params, as an object or as JSON text; for external: {"amount": 13}',
});

export const CreatePaymentBody = Type.Object(
  {
    userId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    params: Type.Optional(ParamsField),
  },
  // userId 1 is the administrator made on first start: "Try it out" creates a real payment.
  { additionalProperties: false, examples: [{ userId: 1, params: { amount: 13 } }] },
);

export const UpdatePaymentBody = Type.Object(
  { description: Type.Optional(Type.String({ maxLength: 500 })), params: Type.Optional(ParamsField) },
  { additionalProperties: false, minProperties: 1, examples: [{ description: 'printer top-up', params: { amount: 15 } }] },
);

export const RollbackBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false, examples: [{ reason: 'cancelled at the kiosk' }] });

export const CreatedPaymentSchema = named(
  'CreatedPayment',
  Type.Object({
    id: Type.String(),
    userId: Type.Integer(),
    amount: Type.Number(),
    description: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown(), { description: 'as given; a card only masked, with the gateway payment id' }),
  }),
);

export const PaymentStateSchema = named('PaymentState', StringEnum(['created', 'committed', 'rolledBack', 'expired']));

export const PaymentSchema = named('Payment', Type.Object({
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
}));
export type PaymentView = Static<typeof PaymentSchema>;

export const PaymentListSchema = named('PaymentList', Type.Object({ payments: Type.Array(PaymentSchema), count: Type.Integer() }));

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

export const CommitResultSchema = named('CommitResult', Type.Object({ amount: Type.Number({ description: 'credited' }) }));
