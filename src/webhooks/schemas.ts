import { Type } from 'typebox';

import { named, NullableInteger, NullableString, PagingQuery } from '../schemas.js';

import { MAX_URL_LENGTH } from './commands.js';

const Events = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  maxItems: 64,
  description: 'event types (`payment.committed`), prefixes (`charge.*`) or `*` for everything',
});

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'http or https; receives a POST per event' }),
    events: Events,
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, examples: [{ url: 'https://accounting.example.org/purse-events', events: ['payment.committed', 'charge.*'], description: 'accounting' }] },
);

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH })),
    events: Type.Optional(Events),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    enabled: Type.Optional(Type.Boolean({ description: 'true again clears the failure streak; pending deliveries resume' })),
  },
  { additionalProperties: false, examples: [{ enabled: true }] },
);

export const WebhookSchema = named('Webhook', Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  enabled: Type.Boolean(),
  failingSince: NullableString({ description: 'first failure of the current streak' }),
  disabledReason: NullableString(),
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
}));

export const WebhookWithSecretSchema = named(
  'WebhookWithSecret',
  Type.Object({
    ...WebhookSchema.properties,
    secret: Type.String({ description: 'whsec_…: shown this once; verify signatures with it (Standard Webhooks)' }),
  }),
);

export const WebhookListSchema = named('WebhookList', Type.Object({ webhooks: Type.Array(WebhookSchema), count: Type.Integer() }));

export const WebhookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const DeliveryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), deliveryId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });

export const DeliverySchema = named('WebhookDelivery', Type.Object({
  id: Type.Integer(),
  eventId: Type.String({ description: 'also the webhook-id header of every attempt' }),
  eventType: Type.String(),
  state: Type.String({ description: 'pending or delivered' }),
  attempts: Type.Integer(),
  nextAttempt: NullableString(),
  lastStatus: NullableInteger(),
  lastError: NullableString(),
  created: Type.String({ format: 'date-time' }),
  delivered: NullableString(),
  attemptLog: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      statusCode: NullableInteger({ description: 'null when no answer came' }),
      durationMs: Type.Integer(),
      error: NullableString(),
    }),
  ),
}));

export const DeliveryListSchema = named('WebhookDeliveryList', Type.Object({ deliveries: Type.Array(DeliverySchema), count: Type.Integer() }));

export const DeliveryListQuery = Type.Object({ ...PagingQuery }, { additionalProperties: false });
