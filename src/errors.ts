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
  | 'conflict'
  | 'rateLimited'
  | 'unavailable';

export const HTTP_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  paymentRequired: 402,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
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
  | 'invalid_scope';

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

/** What went wrong, in one line: an error's message, or whatever was thrown as text. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
