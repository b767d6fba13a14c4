// The audit trail, read: who did what to what, when, with which rights — newest first.
import type { Db } from '../db/index.js';

import * as store from './store.js';

export interface AuditEntry {
  id: number;
  at: string;
  actor: { userId: number | null; clientId: string | null };
  action: string;
  subject: string;
  detail: unknown;
  /** The rights the actor held when it acted (null for the command line and Purse itself). */
  rights: string[] | null;
}

/** `actor` as the API and the command line take it: a user id, or a client id (`cli`, `system:sweeper` …). */
export function actorFilter(actor: string | undefined): Pick<store.AuditFilter, 'actorUserId' | 'actorClientId'> {
  if (actor === undefined || actor === '') return {};
  const user = /^(?:user:)?(\d{1,15})$/.exec(actor);
  if (user !== null) return { actorUserId: Number(user[1]) };
  return { actorClientId: actor.startsWith('client:') ? actor.slice('client:'.length) : actor };
}

export class AuditService {
  constructor(private readonly db: Db) {}

  async page(filter: store.AuditFilter, limit: number, start: number): Promise<{ entries: AuditEntry[]; count: number }> {
    const { rows, count } = await this.db.read((q) => store.auditPage(q, filter, limit, start));
    return { entries: rows.map(entryOf), count };
  }
}

function entryOf(row: store.AuditRow): AuditEntry {
  return {
    id: row.id,
    at: new Date(row.at_ms).toISOString(),
    actor: { userId: row.actor_user_id, clientId: row.actor_client_id },
    action: row.action,
    subject: row.subject,
    detail: row.detail === '' ? {} : (JSON.parse(row.detail) as unknown),
    rights: row.actor_rights === null ? null : row.actor_rights.split(' ').filter((r) => r !== ''),
  };
}
