import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type SqliteDb = Database.Database;

/**
 * One schema migration of a namespace: `version` increases from 1; `up` is SQL run in a transaction.
 */
export interface Migration {
  version: number;
  up: string;
}

/**
 * Opens (creating if needed) the embedded SQLite database in WAL mode, tuned for many small batched writes
 * from one process: `synchronous=NORMAL` (durable at checkpoints; in WAL a crash loses at most the last
 * transactions, never corrupts), a 5 s busy timeout, and foreign keys on.
 * @param file - path of the database file, or `:memory:`.
 * @throws when the file cannot be opened or is not a SQLite database.
 */
export function openDatabase(file: string): SqliteDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    namespace TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (namespace, version))`);
  return db;
}

/**
 * Applies the migrations of one namespace (e.g. `events`, `decisions`, `controlplane`) that are not yet
 * recorded in `schema_migrations`, each in its own transaction, in version order.
 * @returns the versions applied now.
 * @throws when a migration's SQL fails (that migration is rolled back; earlier ones stay).
 */
export function migrate(db: SqliteDb, namespace: string, migrations: readonly Migration[]): number[] {
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations WHERE namespace = ?').all(namespace) as { version: number }[]).map((r) => r.version),
  );
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (namespace, version, applied_at) VALUES (?, ?, ?)');
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      record.run(namespace, m.version, Date.now());
    })();
    applied.push(m.version);
  }
  return applied;
}
