// `purse restore`: a SQLite backup takes the database's place — never the place of one in use,
// never over one without being told to, and only once its copy has proved to be a sound Purse
// database. The copy is staged beside the database and renamed over it, so a failure halfway leaves
// the old database as it was. PostgreSQL restores with its own tools.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import type { DatabaseTarget } from '../config.js';
import { AppError, conflict, invalid, reasonOf } from '../errors.js';
import { PrivateFile } from '../files.js';

import { LATEST_SCHEMA_VERSION } from './migrations.js';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const COPY_CHUNK_BYTES = 1024 * 1024;
/** What SQLite keeps beside a database: left there, the old one's would be read into the new one. */
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'] as const;

export interface RestoredDatabase {
  file: string;
  schemaVersion: number;
}

export function restoreDatabase(target: DatabaseTarget, source: string, force: boolean): RestoredDatabase {
  if (target.engine === 'postgres') {
    throw invalid('purse restore replaces a SQLite database; restore PostgreSQL with pg_restore, e.g. pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" purse.dump (README: Backups)');
  }
  checkHeader(source);
  refuseLiveTarget(target.file, source, force);
  fs.mkdirSync(path.dirname(target.file), { recursive: true, mode: 0o700 });
  const staged = PrivateFile.create(`${target.file}.restore-${crypto.randomBytes(6).toString('hex')}`, 'restore');
  try {
    copyInto(source, staged);
    staged.close();
    const schemaVersion = purseSchemaVersion(staged.path, source);
    for (const suffix of COMPANION_SUFFIXES) fs.rmSync(`${target.file}${suffix}`, { force: true });
    fs.renameSync(staged.path, target.file);
    return { file: target.file, schemaVersion };
  } catch (error) {
    staged.remove();
    throw error;
  }
}

function checkHeader(source: string): void {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  try {
    const fd = fs.openSync(source, 'r');
    try {
      fs.readSync(fd, header, 0, header.length, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw invalid(`cannot read ${source}: ${reasonOf(error)}`);
  }
  if (!header.equals(SQLITE_HEADER)) throw notPurse(source, 'it is not a SQLite database');
}

function refuseLiveTarget(file: string, source: string, force: boolean): void {
  if (!fs.existsSync(file)) return;
  if (fs.realpathSync(file) === fs.realpathSync(source)) throw invalid(`${source} is the database itself; restore from a backup elsewhere`);
  if (inUse(file)) throw conflict(`${file} is in use (is purse serve running?): stop every Purse process using it, then restore`);
  if (!force) throw conflict(`${file} already holds a database; restoring replaces it: pass --force to do that (purse backup FILE keeps a copy of it first)`);
}

/**
 * Whether another connection has the database open. Every connection to a WAL database holds a
 * shared lock as long as it is open, so an exclusive lock, asked for without waiting, is refused
 * while any Purse process (or anyone else) has it open.
 */
function inUse(file: string): boolean {
  let conn: Database.Database;
  try {
    conn = new Database(file, { fileMustExist: true, timeout: 0 });
  } catch (error) {
    throw invalid(`cannot open ${file}: ${reasonOf(error)}`);
  }
  try {
    conn.pragma('locking_mode = EXCLUSIVE');
    conn.exec('BEGIN EXCLUSIVE; COMMIT');
    return false;
  } catch (error) {
    if (error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY')) return true;
    // A damaged database is what a restore is for; no Purse can be serving from it.
    if (error instanceof Database.SqliteError && /^SQLITE_(NOTADB|CORRUPT)/.test(error.code)) return false;
    throw invalid(`cannot tell whether ${file} is in use: ${reasonOf(error)}`);
  } finally {
    conn.close();
  }
}

function copyInto(source: string, target: PrivateFile): void {
  const fd = fs.openSync(source, 'r');
  const chunk = Buffer.alloc(COPY_CHUNK_BYTES);
  try {
    for (let read = fs.readSync(fd, chunk); read > 0; read = fs.readSync(fd, chunk)) target.write(chunk.subarray(0, read));
  } finally {
    fs.closeSync(fd);
  }
}

/** The staged copy's schema version, once SQLite finds it sound and it holds Purse's schema. */
function purseSchemaVersion(staged: string, source: string): number {
  const conn = new Database(staged, { fileMustExist: true });
  try {
    const check = conn.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw notPurse(source, `SQLite's check of it failed: ${String(check)}`);
    const table = conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (table === undefined) throw notPurse(source, 'it has no schema_migrations table');
    const versions = conn.prepare('SELECT MIN(version) AS first, MAX(version) AS last FROM schema_migrations').get() as { first: number | null; last: number | null };
    if (versions.first !== 1 || versions.last === null) throw notPurse(source, 'its schema_migrations lacks the first migration');
    if (versions.last > LATEST_SCHEMA_VERSION) throw invalid(`${source} has schema version ${versions.last}, newer than this Purse's ${LATEST_SCHEMA_VERSION}: restore it with the Purse that wrote it`);
    return versions.last;
  } catch (error) {
    throw error instanceof AppError ? error : notPurse(source, reasonOf(error));
  } finally {
    conn.close();
  }
}

function notPurse(source: string, why: string): AppError {
  return invalid(`${source} is not a Purse database: ${why}`);
}
