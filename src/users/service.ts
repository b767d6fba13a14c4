// People, read side: who may read whom, finding people, and how a login is checked. Every change
// is a command (commands.ts).
import type { Principal } from '../auth/principal.js';
import { hasRight } from '../auth/scopes.js';
import type { Hasher } from '../auth/hashing.js';
import type { Db, ReadTx } from '../db/index.js';
import { forbidden, invalid, notFound } from '../errors.js';
import { booleanOf } from '../schemas.js';

import type { FindUsersFilter, UserView } from './schemas.js';
import * as store from './store.js';
import { cardText, identityKey, toView } from './views.js';

export { identityKey, toView };

export type LoginInfo =
  | { type: 1; card: string }
  | { type: 2; pin: string }
  | { type: 3; user: string; pwd: string }
  | { type: 4; card: string; pin: string }
  | { type: 5; card: string; pwd: string };

export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly hasher: Hasher,
  ) {}

  /** One's own record is always readable; another's needs manageUsers. */
  async get(id: number, principal: Principal): Promise<UserView> {
    if (id !== principal.userId && !hasRight(principal.rights, 'manageUsers')) {
      throw forbidden('reading another user needs the right manageUsers');
    }
    return this.getAny(id);
  }

  async getAny(id: number): Promise<UserView> {
    const row = await this.db.read((q) => store.getUser(q, id));
    if (row === undefined) throw notFound(`user ${id} does not exist`);
    return toView(row);
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
      active: booleanOf(isActive) === false ? 0 : 1,
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

  /**
   * Checks a login_info credential; the user id, or null — never why it failed (not even that the
   * account holds rights). `passwordForRights`: an account that holds rights logs in only with its
   * password (the web login page, where a PIN would be the whole defence of every right).
   */
  async login(info: LoginInfo, options: { passwordForRights?: boolean } = {}): Promise<number | null> {
    const row = await this.db.read((q) => this.loginCandidate(q, info));
    const ok = await this.verifySecret(row, info);
    // A PIN alone is a weak secret: it does not open an account that holds rights.
    const weakForRights = info.type === 2 || (options.passwordForRights === true && info.type !== 3 && info.type !== 5);
    const refusedForRights = weakForRights && row !== undefined && row.rights !== '';
    return ok && !refusedForRights && row !== undefined && row.active === 1 ? row.id : null;
  }

  /**
   * The person a login names, as a key for the failure limit: the login name, or the keyed hash of
   * the card that goes with a PIN or password. A card or a PIN alone names nobody: it is the guess.
   */
  loginSubject(info: LoginInfo): string | undefined {
    switch (info.type) {
      case 1:
      case 2:
        return undefined;
      case 3:
        return `user:${identityKey(info.user)}`;
      case 4:
      case 5:
        return `card:${this.hasher.keyed('card', cardText(info.card))}`;
    }
  }

  private loginCandidate(q: ReadTx, info: LoginInfo): Promise<store.UserRow | undefined> {
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
}
