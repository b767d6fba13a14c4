// /v3/me — the person behind a token and their password — and /v3/clients, the API clients
// (right manageSettings, scope settings): what the web app's pages need of the auth module.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { AppError } from '../errors.js';
import { errorResponses } from '../schemas.js';

import type { FailureLimiter } from './failure-limiter.js';
import { principalOf } from './guard.js';
import { actorOf } from './principal.js';
import { ApiClientListSchema, ApiClientSchema, ApiClientWithSecretSchema, ChangePasswordBody, ClientParams, CreateClientBody, MeSchema } from './schemas.js';
import { formatScopes } from './scopes.js';
import type { AuthService } from './service.js';

export interface AccountRoutesOptions {
  auth: AuthService;
  failures: FailureLimiter;
  pipeline: CommandPipeline;
  clock: Clock;
}

export const accountRoutes: FastifyPluginAsyncTypebox<AccountRoutesOptions> = async (app, { auth, failures, pipeline, clock }) => {
  const anyToken = { auth: {} };

  app.get(
    '/v3/me',
    { config: anyToken, schema: { operationId: 'getMe', tags: ['users'], summary: 'Who this token belongs to', description: 'The person (or the client\'s user), their rights as stored now and the token\'s scopes.', response: { 200: MeSchema } } },
    async (request) => auth.me(principalOf(request)),
  );

  app.post(
    '/v3/me/password',
    {
      config: anyToken,
      schema: {
        operationId: 'changeMyPassword',
        tags: ['users'],
        summary: 'Change my password',
        description: 'A person changes their own password, giving the current one. Their other sessions end; the one that asked stays open. Wrong current passwords count against the same limit as failed logins.',
        body: ChangePasswordBody,
        response: { 204: { description: 'Changed', type: 'null' }, ...errorResponses(400, 429) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      // Someone holding a stolen token must not get unlimited guesses at the password behind it.
      const keys = [`ip:${request.ip}`, `password user:${principal.userId}`];
      const wrong = (error: unknown): boolean => error instanceof AppError && error.kind === 'invalid' && error.data.some((d) => d.field === 'currentPassword');
      await failures.attempt(keys, 'too many wrong passwords; try again later', () => auth.changePassword(principal, request.body.currentPassword, request.body.newPassword), (outcome) => (!outcome.ok && wrong(outcome.error) ? keys : []));
      return reply.code(204).send(null);
    },
  );

  const tags = ['auth'];
  const clientAuth = { scope: 'settings', right: 'manageSettings' } as const;

  app.get(
    '/v3/clients',
    { config: { auth: clientAuth }, schema: { operationId: 'listClients', tags, summary: 'List API clients', description: 'Revoked ones too; secrets are never shown again. Below admin, only the clients acting as oneself.', response: { 200: ApiClientListSchema } } },
    async (request) => {
      const clients = await auth.listClients(actorOf(principalOf(request)));
      return { clients, count: clients.length };
    },
  );

  app.post(
    '/v3/clients',
    {
      config: { auth: clientAuth },
      schema: {
        operationId: 'createClient',
        tags,
        summary: 'Register an API client',
        description: 'Answers the secret this once. The client acts as `userId` with that user\'s rights; below admin, one may register clients only for oneself. Its scopes must be some of the asking token\'s (else 400 naming `scopes`).',
        body: CreateClientBody,
        response: { 201: ApiClientWithSecretSchema, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { name, scopes, userId } = request.body;
      const { id, secret } = await auth.createClient({ name, scopes: formatScopes(scopes), userId }, actorOf(principalOf(request)));
      return reply.code(201).send({ ...(await auth.getClient(id)), secret });
    },
  );

  app.post(
    '/v3/clients/:id/revoke',
    {
      config: { auth: clientAuth, idempotent: true },
      schema: {
        operationId: 'revokeClient',
        tags,
        summary: 'Revoke an API client',
        description: 'Its tokens stop working at once and its secret is refused. Below admin, only a client acting as oneself (another\'s is a 404). `purse-web`, Purse\'s own web app, cannot be revoked (409).',
        params: ClientParams,
        response: { 200: ApiClientSchema, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { id } = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'client.revoke', { id: request.params.id })));
      return auth.getClient(id);
    },
  );
};
