import { Type } from 'typebox';

import { named } from '../schemas.js';

const LoginInfoSchema = named(
  'LoginInfo',
  Type.Object(
  {
    type: Type.Integer({ minimum: 1, maximum: 5, description: '1 card, 2 PIN, 3 user+pwd, 4 card+PIN, 5 card+pwd' }),
    card: Type.Optional(Type.String()),
    pin: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
    pwd: Type.Optional(Type.String()),
  },
  { description: 'end-user credentials for grant_type login_info' },
  ),
);

// Loose on purpose: the service answers every problem as an RFC 6749 error (invalid_request,
// unsupported_grant_type …), which a schema failure could not.
export const TokenRequestSchema = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 64, description: 'client_credentials, login_info or refresh_token' })),
    client_id: Type.Optional(Type.String({ maxLength: 128 })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(Type.String({ maxLength: 512, description: 'space-separated; granted = requested ∩ allowed' })),
    refresh_token: Type.Optional(Type.String({ maxLength: 256 })),
    login_info: Type.Optional(Type.Union([LoginInfoSchema, Type.String({ maxLength: 2048, description: 'the object as JSON text (form bodies)' })])),
  },
  { examples: [{ grant_type: 'client_credentials', scope: 'credit users payments settings', client_id: 'your-client-id', client_secret: 'your-client-secret' }] },
);

export const TokenResponseSchema = named(
  'Token',
  Type.Object({
    access_token: Type.String(),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'seconds' }),
    scope: Type.String({ description: 'the scopes granted, space-separated' }),
    refresh_token: Type.Optional(Type.String({ description: 'with offline.access; works once' })),
  }),
);
