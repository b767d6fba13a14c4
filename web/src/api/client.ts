// The one way the app calls Purse's API: openapi-fetch over the types openapi-typescript generated
// at build time from Purse's own OpenAPI document (schema.d.ts), so a path, a parameter or a field
// that the server does not have is a compile error here.
import createClient from 'openapi-fetch';

import { accessToken, expired } from '../auth/session';

import type { components, paths } from './schema';

export type Schemas = components['schemas'];

/** Every error answer of the API: `{code, message, data: [{field, problem}]}`. */
export interface ApiProblem {
  code: number;
  message: string;
  data: { field?: string; problem: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: ApiProblem) {
    super(problem.message);
  }
}

export const api = createClient<paths>({ baseUrl: window.location.origin });

api.use({
  async onRequest({ request }) {
    const token = await accessToken();
    if (token !== undefined) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) expired();
    return response;
  },
});

function problemOf(error: unknown, status: number): ApiProblem {
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    const data = 'data' in error && Array.isArray(error.data) ? (error.data as ApiProblem['data']) : [];
    return { code: status, message: error.message, data };
  }
  return { code: status, message: `the server answered ${status}`, data: [] };
}

/**
 * The data of an openapi-fetch answer, or an ApiError carrying the API's error body (which forms
 * show next to their fields).
 */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok || data === undefined) {
    if (response.ok && response.status === 204) return undefined as T;
    throw new ApiError(problemOf(error, response.status));
  }
  return data;
}

/** A file the API answers (a CSV), fetched with the token and handed to the browser as a download. */
export async function download(path: string, accept: string, fileName: string): Promise<void> {
  const token = await accessToken();
  const response = await fetch(path, { headers: { accept, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });
  if (!response.ok) throw new ApiError(problemOf(await response.json().catch(() => undefined), response.status));
  saveBlob(await response.blob(), fileName);
}

/** Hands bytes to the browser as a download named `fileName`. */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/** A fresh Idempotency-Key for one write: a retry of the same click is answered once. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
