// Changes to people as commands. Credentials are hashed before the transaction (prepare); who may
// change whom is decided inside it, against the target as it is then.
import { actorHasRight, type Actor } from '../auth/principal.js';
import { endSessions } from '../auth/commands.js';
import type { Hasher } from '../auth/hashing.js';
import { formatRights } from '../auth/scopes.js';
import type { Command, CommandDefinition, Effects } from '../commands/types.js';
import { uniqueViolation, type ReadTx, type Tx } from '../db/index.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { openCreditAccount } from '../ledger/postings.js';

import type { CreateUserInput, UpdateUserInput, UserView } from './schemas.js';
import * as store from './store.js';
import { cardText, identityKey, toView } from './views.js';

declare module '../commands/types.js' {
  interface CommandMap {
    'user.create': { input: CreateUserInput; output: UserView };
    'user.update': { input: UpdateUserInput & { id: number }; output: UserView };
    'user.addCard': { input: { id: number; card: string }; output: UserView };
  }
}

export interface PreparedUser {
  columns: store.UserColumns;
  cardKeys?: string[];
}

/** Rights and PINs are an administrator's: PINs are unique, so setting one tells whether it is taken. */
function assertMayChangeRights(input: UpdateUserInput, actor: Actor): void {
  if (input.rights !== undefined && !actorHasRight(actor, 'admin')) throw forbidden('changing rights needs the admin right');
  if (input.pin !== undefined && !actorHasRight(actor, 'admin')) throw forbidden('setting a PIN needs the admin right');
}

function assertManagesUsers(actor: Actor): void {
  if (!actorHasRight(actor, 'manageUsers')) throw forbidden('this needs the right "manageUsers"');
}

/** Only an administrator may change a person who holds rights (they could lock the admin out). */
async function authorizeOnUser(q: ReadTx, { input, actor }: Command<'user.update' | 'user.addCard'>): Promise<void> {
  assertManagesUsers(actor);
  if ('rights' in input || 'pin' in input) assertMayChangeRights(input, actor);
  const target = await store.getUser(q, input.id);
  if (target === undefined) throw notFound(`user ${input.id} does not exist`);
  if (target.rights !== '' && !actorHasRight(actor, 'admin')) throw forbidden('only an administrator may change a user who holds rights');
}

export function userCommands(deps: { hasher: Hasher; currency: string }): {
  create: CommandDefinition<'user.create', PreparedUser>;
  update: CommandDefinition<'user.update', PreparedUser>;
  addCard: CommandDefinition<'user.addCard', { cardKey: string }>;
} {
  const prepare = async ({ input, actor }: Command<'user.create' | 'user.update'>): Promise<PreparedUser> => {
    // Early, with the token's rights: nobody refused anyway makes Purse hash a password.
    assertMayChangeRights(input, actor);
    const cardKeys = input.cards?.map((card) => deps.hasher.keyed('card', cardText(card)));
    return { columns: await columnsOf(input, deps.hasher), ...(cardKeys === undefined ? {} : { cardKeys }) };
  };
  return {
    create: {
      name: 'user.create',
      changesActors: true,
      prepare,
      authorize: async (_q, { input, actor }) => {
        assertManagesUsers(actor);
        assertMayChangeRights(input, actor);
      },
      run: (tx, { atMs }, prepared, effects) => createPerson(tx, prepared, deps.currency, atMs, effects),
    },
    update: {
      name: 'user.update',
      changesActors: true,
      prepare,
      authorize: authorizeOnUser,
      run: (tx, { input, atMs }, prepared, effects) => updatePerson(tx, input.id, prepared, Object.keys(input).filter((k) => k !== 'id'), atMs, effects),
    },
    addCard: {
      name: 'user.addCard',
      changesActors: true,
      prepare: async ({ input }) => ({ cardKey: deps.hasher.keyed('card', cardText(input.card)) }),
      authorize: authorizeOnUser,
      run: async (tx, { input, atMs }, { cardKey }, effects) => {
        const before = await viewIn(tx, input.id);
        await mappingConflicts(() => store.addCard(tx, input.id, cardKey, atMs));
        emitUpdated(effects, before, before, ['cards']);
        // As a change of cards over HTTP does: the person's set of credentials is no longer the one
        // their sessions were opened under.
        await endSessions(tx, input.id, 'credentials changed', atMs, effects);
        return before;
      },
    },
  };
}

/** Inserts a person with their credit account (also first start's administrator). */
export async function createPerson(tx: Tx, prepared: PreparedUser, currency: string, atMs: number, effects: Effects): Promise<UserView> {
  const id = await mappingConflicts(() => store.insertUser(tx, prepared.columns, atMs));
  await openCreditAccount(tx, id, currency, atMs);
  if (prepared.cardKeys !== undefined) await replaceCards(tx, id, prepared.cardKeys, atMs);
  const view = await viewIn(tx, id);
  effects.about(`user:${id}`, { username: view.username });
  effects.emit('user.created', `user:${id}`, view);
  return view;
}

export async function updatePerson(tx: Tx, id: number, prepared: PreparedUser, changed: string[], atMs: number, effects: Effects): Promise<UserView> {
  const before = await viewIn(tx, id);
  await mappingConflicts(() => store.updateUser(tx, id, prepared.columns, atMs));
  if (prepared.cardKeys !== undefined) await replaceCards(tx, id, prepared.cardKeys, atMs);
  const view = await viewIn(tx, id);
  emitUpdated(effects, before, view, changed);
  const reason = sessionsEndedBy(before, view, prepared);
  if (reason !== undefined) await endSessions(tx, id, reason, atMs, effects);
  return view;
}

/**
 * Why a change ends the person's sessions, if it does. New credentials: a session opened with the
 * old ones must not outlive them. Deactivation: a person made active again must log in again.
 * Other rights: rights are read live, but a session may have been opened in a way the new rights
 * forbid (a PIN alone opens no account that holds rights).
 */
function sessionsEndedBy(before: UserView, after: UserView, prepared: PreparedUser): string | undefined {
  if (before.isActive && !after.isActive) return 'user deactivated';
  const { password_hash: password, pin_hash: pin } = prepared.columns;
  if (password !== undefined || pin !== undefined || prepared.cardKeys !== undefined) return 'credentials changed';
  return formatRights(before.rights) === formatRights(after.rights) ? undefined : 'rights changed';
}

/** A person by username (any case), inside a transaction. */
export async function personByUsername(q: ReadTx, username: string): Promise<UserView | undefined> {
  const row = await store.getUserByUsernameKey(q, identityKey(username));
  return row === undefined ? undefined : toView(row);
}

/** What changed, never how: credentials are write-only, so the event names them and shows nothing. */
function emitUpdated(effects: Effects, before: UserView, after: UserView, changed: string[]): void {
  effects.about(`user:${after.id}`, { changed: changed.join(' ') });
  effects.emit('user.updated', `user:${after.id}`, { ...after, changed });
  if (before.isActive && !after.isActive) effects.emit('user.deactivated', `user:${after.id}`, after);
}

async function viewIn(q: ReadTx, id: number): Promise<UserView> {
  const row = await store.getUser(q, id);
  if (row === undefined) throw notFound(`user ${id} does not exist`);
  return toView(row);
}

async function replaceCards(tx: Tx, id: number, cardKeys: readonly string[], atMs: number): Promise<void> {
  await mappingConflicts(() => store.replaceCards(tx, id, cardKeys, atMs));
}

/** A unique constraint that a person's write ran into, as a 409 naming the field. */
async function mappingConflicts<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const constraint = uniqueViolation(error);
    if (constraint === undefined) throw error;
    const field = constraint === 'users_username_key_key' ? 'username' : constraint === 'users_pin_key_key' ? 'pin' : constraint === 'user_cards_pkey' ? 'cards' : undefined;
    if (field === undefined) throw error;
    const problem = field === 'username' ? 'is taken' : 'is in use by another user';
    throw conflict(`${field} ${problem}`, [{ field, problem }]);
  }
}

async function columnsOf(input: UpdateUserInput, hasher: Hasher): Promise<store.UserColumns> {
  return {
    username: input.username,
    username_key: input.username === undefined ? undefined : identityKey(input.username),
    fullname: input.fullname,
    email: input.email,
    email_key: input.email === undefined ? undefined : identityKey(input.email),
    code: input.code,
    lang: input.lang,
    phone: input.phone,
    notes: input.notes,
    active: input.isActive === undefined ? undefined : Number(input.isActive),
    rights: input.rights === undefined ? undefined : formatRights(input.rights),
    password_hash: input.password === undefined ? undefined : await hasher.slowHash(input.password),
    pin_hash: input.pin === undefined ? undefined : await hasher.slowHash(input.pin),
    pin_key: input.pin === undefined ? undefined : hasher.keyed('pin', input.pin),
  };
}
