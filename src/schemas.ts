// Schemas shared by every module: the error body, ids and paging.
import { Type, type Static } from 'typebox';

export const ErrorDetailSchema = Type.Object({
  field: Type.Optional(Type.String()),
  problem: Type.String(),
});

export const ErrorBodySchema = Type.Object(
  {
    code: Type.Integer({ description: 'HTTP-like status; may differ from the HTTP status' }),
    message: Type.String(),
    data: Type.Array(ErrorDetailSchema),
    error: Type.Optional(Type.String({ description: 'RFC 6749 error code (token endpoint only)' })),
    error_description: Type.Optional(Type.String()),
  },
  { description: 'Every error, everywhere' },
);

export type ErrorBody = Static<typeof ErrorBodySchema>;

/** Response entries for the errors any guarded route can give. */
export const errorResponses = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((status) => [status, ErrorBodySchema]));

export const MAX_PAGE_LIMIT = 1000;

export const PagingQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100, description: 'page size' })),
  start: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'rows to skip' })),
};

export const IdParam = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});
