// People as the API shows them, and the normal forms their lookups use.
import { isRight } from '../auth/scopes.js';

import type { UserView } from './schemas.js';
import type * as store from './store.js';

/** Case-insensitive identity of a username or email. */
export const identityKey = (text: string): string => text.normalize('NFKC').toLowerCase();

/** Card readers differ in letter case; a card is the same card either way. */
export const cardText = (card: string): string => card.trim().toUpperCase();

export function toView(row: store.UserRow): UserView {
  return {
    id: row.id,
    username: row.username,
    fullname: row.fullname,
    email: row.email,
    code: row.code,
    lang: row.lang,
    phone: row.phone,
    notes: row.notes,
    isActive: row.active === 1,
    rights: row.rights.split(' ').filter(isRight),
  };
}
