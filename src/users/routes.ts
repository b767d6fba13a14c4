// /v3/users — MyQ's users API. Credentials are write-only: accepted, never returned.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

import { principalOf } from '../auth/guard.js';
import type { Clock } from '../clock.js';
import { commandOf, valueOf } from '../commands/http.js';
import type { CommandPipeline } from '../commands/pipeline.js';
import { errorResponses, IdParam } from '../schemas.js';

import { CreateUserBody, FindUsersQuery, ListUsersQuery, UpdateUserBody, UserListSchema, UserSchema } from './schemas.js';
import type { UsersService } from './service.js';

export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService; pipeline: CommandPipeline; clock: Clock }> = async (app, { users, pipeline, clock }) => {
  const tags = ['users'];

  app.get(
    '/v3/users',
    {
      config: { auth: { scope: 'users', right: 'manageUsers' } },
      schema: { operationId: 'listUsers', tags, summary: 'List users', querystring: ListUsersQuery, response: { 200: UserListSchema, ...errorResponses(400) } },
    },
    async (request) => users.list(request.query.limit, request.query.start),
  );

  app.get(
    '/v3/users/find',
    {
      config: { auth: { scope: 'users', right: 'manageUsers' } },
      schema: {
        operationId: 'findUsers',
        tags,
        summary: 'Find users',
        description: 'At least one filter of username, email, card, code, isActive; isActive defaults to 1.',
        querystring: FindUsersQuery,
        response: { 200: UserListSchema, ...errorResponses(400) },
      },
    },
    async (request) => users.find(request.query),
  );

  app.get(
    '/v3/users/:id',
    {
      config: { auth: { scope: 'users' } },
      schema: {
        operationId: 'getUser',
        tags,
        summary: 'Get a user',
        description: "One's own record; another's needs the right manageUsers.",
        params: IdParam,
        response: { 200: UserSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => users.get(request.params.id, principalOf(request)),
  );

  app.post(
    '/v3/users',
    {
      config: { auth: { scope: 'users', right: 'manageUsers' }, idempotent: true },
      schema: { operationId: 'createUser', tags, summary: 'Create a user', body: CreateUserBody, response: { 201: UserSchema, ...errorResponses(400, 409) } },
    },
    async (request, reply) => {
      const user = valueOf(reply, await pipeline.execute(commandOf(request, clock, 'user.create', request.body)));
      return reply.code(201).header('location', `/v3/users/${user.id}`).send(user);
    },
  );

  app.patch(
    '/v3/users/:id',
    {
      config: { auth: { scope: 'users', right: 'manageUsers' }, idempotent: true },
      schema: { operationId: 'updateUser', tags, summary: 'Update a user', params: IdParam, body: UpdateUserBody, response: { 200: UserSchema, ...errorResponses(400, 404, 409) } },
    },
    async (request, reply) => valueOf(reply, await pipeline.execute(commandOf(request, clock, 'user.update', { ...request.body, id: request.params.id }))),
  );
};
