// The logged-in person's own endpoints: who they are, and changing their password.
import { api, call } from '../api/client';

import type { Person } from './session';

/** GET /v3/me: the person the access token belongs to, with their rights. */
export function loadPerson(): Promise<Person> {
  return call(api.GET('/v3/me'));
}

/** POST /v3/me/password: Purse ends the person's other sessions and keeps this one. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await call(api.POST('/v3/me/password', { body: { currentPassword, newPassword } }));
}
