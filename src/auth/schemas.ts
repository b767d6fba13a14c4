import { Type } from 'typebox';

import { IdSchema, named, StringEnum } from '../schemas.js';
import { RightSchema } from '../users/schemas.js';

import { ALL_SCOPES } from './scopes.js';

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
    grant_type: Type.Optional(Type.String({ maxLength: 64, description: 'client_credentials, login_info, refresh_token or authorization_code' })),
    client_id: Type.Optional(Type.String({ maxLength: 128 })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
    scope: Type.Optional(Type.String({ maxLength: 512, description: 'space-separated; granted = requested ∩ allowed' })),
    refresh_token: Type.Optional(Type.String({ maxLength: 256 })),
    login_info: Type.Optional(Type.Union([LoginInfoSchema, Type.String({ maxLength: 2048, description: 'the object as JSON text (form bodies)' })])),
    code: Type.Optional(Type.String({ maxLength: 256, description: 'authorization_code: the code the login page gave' })),
    redirect_uri: Type.Optional(Type.String({ maxLength: 2048, description: 'authorization_code: the redirect_uri the code was asked for with' })),
    code_verifier: Type.Optional(Type.String({ maxLength: 128, description: 'authorization_code: the PKCE verifier (RFC 7636) whose S256 hash was the code_challenge' })),
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

export const RevokeRequestSchema = Type.Object(
  {
    token: Type.Optional(Type.String({ maxLength: 4096, description: 'the refresh token or access token to revoke' })),
    // RFC 7009 §2.1: a hint the server does not know is ignored (the token is looked up everywhere), not refused.
    token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: 'refresh_token or access_token; any other value is ignored' })),
    client_id: Type.Optional(Type.String({ maxLength: 128 })),
    client_secret: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { examples: [{ token: 'the-refresh-token', token_type_hint: 'refresh_token', client_id: 'purse-web' }] },
);

/** The query of GET /oauth/authorize; loose, since the page answers each problem itself (RFC 6749 §4.1.2.1). */
export const AuthorizeQuerySchema = Type.Object({
  response_type: Type.Optional(Type.String({ maxLength: 64 })),
  client_id: Type.Optional(Type.String({ maxLength: 128 })),
  redirect_uri: Type.Optional(Type.String({ maxLength: 2048 })),
  code_challenge: Type.Optional(Type.String({ maxLength: 128, description: 'BASE64URL(SHA-256(code_verifier))' })),
  code_challenge_method: Type.Optional(Type.String({ maxLength: 16, description: 'only S256' })),
  state: Type.Optional(Type.String({ maxLength: 1024 })),
  scope: Type.Optional(Type.String({ maxLength: 512 })),
});

/** The login form: the authorization request again, the CSRF token, and one of the two ways in. */
export const AuthorizeFormSchema = Type.Object({
  ...AuthorizeQuerySchema.properties,
  csrf: Type.Optional(Type.String({ maxLength: 128 })),
  method: Type.Optional(Type.Union([Type.Literal('password'), Type.Literal('card')])),
  username: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Type.String({ maxLength: 256 })),
  card: Type.Optional(Type.String({ maxLength: 256 })),
  pin: Type.Optional(Type.String({ maxLength: 256 })),
});

const ScopeSchema = named('Scope', StringEnum(ALL_SCOPES));

export const MeSchema = named(
  'Me',
  Type.Object({
    id: Type.Integer(),
    username: Type.String(),
    fullname: Type.String(),
    email: Type.String(),
    rights: Type.Array(RightSchema, { description: 'as stored now; `admin` implies every right' }),
    scopes: Type.Array(ScopeSchema, { description: 'what this token may reach' }),
  }),
);

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 256, writeOnly: true }),
    newPassword: Type.String({ minLength: 8, maxLength: 256, writeOnly: true }),
  },
  { additionalProperties: false, examples: [{ currentPassword: 'the-old-password', newPassword: 'a-new-password' }] },
);

export const ApiClientSchema = named(
  'ApiClient',
  Type.Object({
    id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    userId: Type.Integer({ description: 'the user the client acts as (client_credentials)' }),
    createdAt: Type.String({ format: 'date-time' }),
    revoked: Type.Boolean(),
  }),
);

export const ApiClientWithSecretSchema = named(
  'ApiClientWithSecret',
  Type.Object({
    ...ApiClientSchema.properties,
    secret: Type.String({ description: 'shown this once; stored only as a slow hash' }),
  }),
);

export const ApiClientListSchema = named('ApiClientList', Type.Object({ clients: Type.Array(ApiClientSchema), count: Type.Integer() }));

export const CreateClientBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: ALL_SCOPES.length, uniqueItems: true }),
    userId: IdSchema({ description: 'the user it acts as; below admin, only oneself' }),
  },
  { additionalProperties: false, examples: [{ name: 'Print server', scopes: ['credit', 'users'], userId: 1 }] },
);

export const ClientParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
