// One error family for every service; server.ts maps it to HTTP in one place.

export interface ErrorDetail {
  field?: string;
  problem: string;
}

export type ErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'paymentRequired'
  | 'forbidden'
  | 'notFound'
  | 'methodNotAllowed'
  | 'conflict'
  | 'unsupportedMediaType'
  | 'rateLimited'
  | 'unavailable';

export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  paymentRequired: 402,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  conflict: 409,
  unsupportedMediaType: 415,
  rateLimited: 429,
  unavailable: 503,
};

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly data: ErrorDetail[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return HTTP_STATUS[this.kind];
  }
}

/** RFC 6749 §5.2 error codes; the body carries them beside MyQ's code and message. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type';

export class OAuthError extends AppError {
  constructor(
    readonly oauthCode: OAuthErrorCode,
    description: string,
    data: ErrorDetail[] = [],
  ) {
    // invalid_client is 401 with a Basic challenge (RFC 6749 §5.2); every other code is 400.
    const kind: ErrorKind = oauthCode === 'invalid_client' ? 'unauthorized' : 'invalid';
    const headers: Record<string, string> = oauthCode === 'invalid_client' ? { 'www-authenticate': 'Basic realm="purse"' } : {};
    super(kind, description, data, headers);
    this.name = 'OAuthError';
  }
}

export const invalid = (message: string, data: ErrorDetail[] = []): AppError => new AppError('invalid', message, data);
export const notFound = (message: string): AppError => new AppError('notFound', message);
export const conflict = (message: string, data: ErrorDetail[] = []): AppError => new AppError('conflict', message, data);
export const forbidden = (message: string): AppError => new AppError('forbidden', message);

export function unauthorized(message: string, bearerError = 'invalid_token'): AppError {
  const challenge = `Bearer realm="purse", error="${bearerError}", error_description="${message}"`;
  return new AppError('unauthorized', message, [], { 'www-authenticate': challenge });
}

/** The database (or another thing Purse needs) is away for now; the client should try again. */
export function unavailable(message: string, retryAfterSeconds: number): AppError {
  return new AppError('unavailable', message, [], { 'retry-after': String(retryAfterSeconds) });
}

export function rateLimited(message: string, retryAfterSeconds: number): AppError {
  return new AppError('rateLimited', message, [], { 'retry-after': String(retryAfterSeconds) });
}

/** Which part of a request a field is in, as people say it: "params.id" → "path parameter id". */
const PART_NAMES: Readonly<Record<string, string>> = { params: 'path parameter', querystring: 'query parameter', headers: 'header' };

/**
 * A field as a message names it: path and query parameters and headers by their name, body fields
 * as they are ("body.params.amount", "amount").
 */
export function describeField(field: string): string {
  const dot = field.indexOf('.');
  const part = dot < 0 ? undefined : PART_NAMES[field.slice(0, dot)];
  return part === undefined ? field : `${part} ${field.slice(dot + 1)}`;
}

/** One failed check of a JSON schema, as Ajv reports it. */
export interface SchemaProblem {
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

/** Ajv's terse wording ("must be integer", "must NOT have more than 64 characters") in plain words. */
export function schemaProblem({ keyword, message, params }: SchemaProblem): string {
  const limit = String(params.limit);
  switch (keyword) {
    case 'required': return 'is required';
    case 'additionalProperties': return 'is not a known field';
    case 'type': return `must be ${String(params.type).split(',').map((t) => TYPE_NAMES[t] ?? t).join(' or ')}`;
    case 'minimum': return `must be at least ${limit}`;
    case 'maximum': return `must be at most ${limit}`;
    case 'exclusiveMinimum': return `must be more than ${limit}`;
    case 'exclusiveMaximum': return `must be less than ${limit}`;
    case 'minLength': return `must be at least ${limit} characters long`;
    case 'maxLength': return `must be at most ${limit} characters long`;
    case 'minItems': return `must have at least ${limit} items`;
    case 'maxItems': return `must have at most ${limit} items`;
    case 'minProperties': return `must have at least ${limit} fields`;
    case 'enum': return `must be one of: ${Array.isArray(params.allowedValues) ? params.allowedValues.map(String).join(', ') : 'the listed values'}`;
    default: return message ?? 'is not valid';
  }
}

/** What went wrong, in one line: an error's message, or whatever was thrown as text. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
