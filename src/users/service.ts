// The rules about people: who may read and change whom, how credentials are kept, how a login is
// checked. Credentials are hashed before the write unit runs (units do database work only).
import { recordAudit } from '../audit.js';
import { actorHasRight, type Actor, type Principal } from '../auth/principal.js';
import { hasRight, isRight, type Right } from '../auth/scopes.js';
import type { Hasher } from '../auth/hashing.js';
import type { PrincipalCache } from '../auth/principal-cache.js';
import type { Clock } from '../clock.js';
import { isUniqueViolation, type Db, type Tx } from '../db/index.js';
import { conflict, forbidden, invalid, notFound } from '../errors.js';
import type { Afterward } from '../idempotency/plugin.js';
import type { LedgerService } from '../ledger/service.js';
import { TtlCache } from '../ttl-cache.js';

import type { CreateUserInput, FindUsersFilter, UpdateUserInput, UserView } from './schemas.js';
import * as store from './store.js';

export type LoginInfo =
  | { type: 1; card: string }
  | { type: 2; pin: string }
  | { type: 3; user: string; pwd: string }
  | { type: 4; card: string; pin: string }
  | { type: 5; card: string; pwd: string };

/** Case-insensitive identity of a username or email. */
export const identityKey = (text: string): string => text.normalize('NFKC').toLowerCase();

/** Card readers differ in letter case; a card is the same card either way. */
const cardText = (card: string): string => card.trim().toUpperCase();

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

export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    private readonly ledger: LedgerService,
    private readonly principals: PrincipalCache,
  ) {
    this.active = new TtlCache(clock);
  }

  /** Person → active, read by every payment; cleared whenever this process changes a person. */
  private readonly active: TtlCache<number, boolean>;

  async create(input: CreateUserInput, actor: Actor, afterward?: Afterward<UserView>): Promise<UserView> {
    this.assertMayChangeRights(input, actor);
    const columns = await this.columns(input);
    const cardKeys = input.cards?.map((card) => this.hasher.keyed('card', cardText(card)));
    const id = await this.writeMappingConflicts(async (tx) => {
      const now = this.clock.nowMs();
      const userId = await store.insertUser(tx, columns, now);
      await this.ledger.openCreditAccount(tx, userId, now);
      if (cardKeys !== undefined) await store.replaceCards(tx, userId, cardKeys, now);
      await recordAudit(tx, actor, { action: 'user.create', subject: `user:${userId}`, detail: { username: input.username } }, now);
      if (afterward !== undefined) await afterward(tx, await this.viewIn(tx, userId));
      return userId;
    });
    return this.getAny(id);
  }

  async update(id: number, input: UpdateUserInput, actor: Actor, afterward?: Afterward<UserView>): Promise<UserView> {
    this.assertMayChangeRights(input, actor);
    const target = await this.db.read((q) => store.getUser(q, id));
    if (target === undefined) throw notFound(`user ${id} not found`);
    if (target.rights !== '' && !actorHasRight(actor, 'admin')) {
      throw forbidden('only an administrator may change a user who holds rights');
    }
    const columns = await this.columns(input);
    const cardKeys = input.cards?.map((card) => this.hasher.keyed('card', cardText(card)));
    await this.writeMappingConflicts(async (tx) => {
      const now = this.clock.nowMs();
      if (!(await store.updateUser(tx, id, columns, now))) throw notFound(`user ${id} not found`);
      if (cardKeys !== undefined) await store.replaceCards(tx, id, cardKeys, now);
      const changed = Object.keys(input).join(' ');
      await recordAudit(tx, actor, { action: 'user.update', subject: `user:${id}`, detail: { changed } }, now);
      if (afterward !== undefined) await afterward(tx, await this.viewIn(tx, id));
    });
    this.principals.clear();
    this.active.clear();
    return this.getAny(id);
  }

  private async viewIn(tx: Tx, id: number): Promise<UserView> {
    const row = await store.getUser(tx, id);
    if (row === undefined) throw new Error(`user ${id} vanished inside its own transaction`);
    return toView(row);
  }

  /** One's own record is always readable; another's needs manageUsers. */
  async get(id: number, principal: Principal): Promise<UserView> {
    if (id !== principal.userId && !hasRight(principal.rights, 'manageUsers')) {
      throw forbidden('reading another user needs the right manageUsers');
    }
    return this.getAny(id);
  }

  async getAny(id: number): Promise<UserView> {
    const row = await this.db.read((q) => store.getUser(q, id));
    if (row === undefined) throw notFound(`user ${id} not found`);
    return toView(row);
  }

  /** Whether a person exists and is active, as every payment asks; remembered for a moment. */
  async isActive(id: number): Promise<boolean | undefined> {
    const cached = this.active.get(id);
    if (cached !== undefined) return cached;
    const row = await this.db.read((q) => store.getUser(q, id));
    if (row === undefined) return undefined;
    this.active.set(id, row.active === 1);
    return row.active === 1;
  }

  /** Resolves a command-line reference: a numeric id or a username. */
  async resolve(reference: string): Promise<UserView> {
    const row = await this.db.read((q) =>
      /^\d+$/.test(reference) ? store.getUser(q, Number(reference)) : store.getUserByUsernameKey(q, identityKey(reference)),
    );
    if (row === undefined) throw notFound(`no user "${reference}"`);
    return toView(row);
  }

  /** Usernames (any case) → ids, for those that exist. */
  async idsByUsername(usernames: readonly string[]): Promise<Map<string, number>> {
    const keys = [...new Set(usernames.map(identityKey))];
    const byKey = await this.db.read((q) => store.idsByUsernameKeys(q, keys));
    return new Map(usernames.flatMap((name) => {
      const id = byKey.get(identityKey(name));
      return id === undefined ? [] : [[name, id] as const];
    }));
  }

  async find(filter: FindUsersFilter): Promise<{ users: UserView[]; count: number }> {
    const { username, email, card, code, isActive } = filter;
    if ([username, email, card, code, isActive].every((v) => v === undefined)) {
      throw invalid('at least one filter is required: username, email, card, code or isActive', [
        { field: 'querystring', problem: 'needs at least one of username, email, card, code, isActive' },
      ]);
    }
    const storeFilter: store.UserFilter = {
      usernameKey: username === undefined ? undefined : identityKey(username),
      emailKey: email === undefined ? undefined : identityKey(email),
      cardKey: card === undefined ? undefined : this.hasher.keyed('card', cardText(card)),
      code,
      active: isActive === '0' || isActive === 'false' ? 0 : 1,
    };
    return this.page(storeFilter, filter.limit, filter.start);
  }

  list(limit?: number, start?: number): Promise<{ users: UserView[]; count: number }> {
    return this.page({}, limit, start);
  }

  private async page(filter: store.UserFilter, limit = 100, start = 0): Promise<{ users: UserView[]; count: number }> {
    const { rows, count } = await this.db.read((q) => store.findUsers(q, filter, limit, start));
    return { users: rows.map(toView), count };
  }

  /** Adds one login card (the command line's `user add-card`). */
  async addCard(id: number, card: string, actor: Actor): Promise<void> {
    const cardKey = this.hasher.keyed('card', cardText(card));
    await this.writeMappingConflicts(async (tx) => {
      const now = this.clock.nowMs();
      await store.addCard(tx, id, cardKey, now);
      await recordAudit(tx, actor, { action: 'user.addCard', subject: `user:${id}` }, now);
    });
  }

  /** Adds one right (the command line's `user grant`). */
  async grant(id: number, right: Right, actor: Actor): Promise<UserView> {
    const user = await this.getAny(id);
    return this.update(id, { rights: [...new Set([...user.rights, right])] }, actor);
  }

  /** Checks a login_info credential; the user id, or null — never why it failed. */
  async login(info: LoginInfo): Promise<number | null> {
    const row = await this.db.read((q) => this.loginCandidate(q, info));
    const ok = await this.verifySecret(row, info);
    // A PIN alone is a weak secret: it does not open an account that holds rights.
    const pinOnlyForPrivileged = info.type === 2 && row !== undefined && row.rights !== '';
    return ok && !pinOnlyForPrivileged && row !== undefined && row.active === 1 ? row.id : null;
  }

  private loginCandidate(q: Tx, info: LoginInfo): Promise<store.UserRow | undefined> {
    switch (info.type) {
      case 1:
      case 4:
      case 5:
        return store.getUserByCardKey(q, this.hasher.keyed('card', cardText(info.card)));
      case 2:
        return store.getUserByPinKey(q, this.hasher.keyed('pin', info.pin));
      case 3:
        return store.getUserByUsernameKey(q, identityKey(info.user));
    }
  }

  private async verifySecret(row: store.UserRow | undefined, info: LoginInfo): Promise<boolean> {
    switch (info.type) {
      case 1:
        return row !== undefined;
      case 2:
      case 4:
        return this.hasher.slowVerify(row?.pin_hash, info.pin);
      case 3:
      case 5:
        return this.hasher.slowVerify(row?.password_hash, info.pwd);
    }
  }

  private assertMayChangeRights(input: UpdateUserInput, actor: Actor): void {
    if (input.rights !== undefined && !actorHasRight(actor, 'admin')) throw forbidden('changing rights needs the admin right');
    // PINs are unique (a PIN alone logs in), so setting one tells whether it is taken: only an
    // administrator may, or a user-manager could probe for the PIN of a privileged account.
    if (input.pin !== undefined && !actorHasRight(actor, 'admin')) throw forbidden('setting a PIN needs the admin right');
  }

  private async columns(input: UpdateUserInput): Promise<store.UserColumns> {
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
      rights: input.rights?.join(' '),
      password_hash: input.password === undefined ? undefined : await this.hasher.slowHash(input.password),
      pin_hash: input.pin === undefined ? undefined : await this.hasher.slowHash(input.pin),
      pin_key: input.pin === undefined ? undefined : this.hasher.keyed('pin', input.pin),
    };
  }

  /** Turns a unique-constraint violation into a 409 that names the field. */
  private async writeMappingConflicts<T>(unit: (tx: Tx) => Promise<T>): Promise<T> {
    try {
      return await this.db.write(unit);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const text = String(error);
      const field = text.includes('username') ? 'username' : text.includes('pin') ? 'pin' : 'cards';
      const problem = field === 'username' ? 'is taken' : 'is in use by another user';
      throw conflict(`${field} ${problem}`, [{ field, problem }]);
    }
  }
}
