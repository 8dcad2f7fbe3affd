import type { Statement } from 'better-sqlite3';
import type { Decision, DecisionScope } from '../core/types.ts';
import { migrate, type Migration, type SqliteDb } from '../store/sqlite.ts';
import type { DecisionStore } from './types.ts';

/** Migrations of the `decisions` namespace in the embedded database. */
export const DECISION_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE decisions (
      id TEXT PRIMARY KEY,
      scope TEXT NOT NULL,
      value TEXT NOT NULL,
      type TEXT NOT NULL,
      origin TEXT NOT NULL,
      source TEXT NOT NULL,
      reason TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      offence INTEGER NOT NULL
    );
    CREATE INDEX decisions_expires ON decisions (expires_at);
    CREATE INDEX decisions_offence ON decisions (scope, value, source, created_at);`,
  },
];

interface Row {
  id: string;
  scope: string;
  value: string;
  type: string;
  origin: string;
  source: string;
  reason: string;
  created_at: number;
  expires_at: number;
  offence: number;
}

function fromRow(r: Row): Decision {
  return {
    id: r.id,
    scope: r.scope as Decision['scope'],
    value: r.value,
    type: r.type as Decision['type'],
    origin: r.origin as Decision['origin'],
    source: r.source,
    reason: r.reason,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    offence: r.offence,
  };
}

/**
 * Decisions in the embedded SQLite database (table `decisions`, namespace `decisions`), so bans survive a
 * restart. Statements are synchronous (better-sqlite3, single-row writes of a few µs) and wrapped in
 * promises; the service writes behind, never on the request path.
 * `countOffences` counts decisions (expired ones included until pruned) created at or after `since`.
 */
export class SqliteDecisionStore implements DecisionStore {
  private readonly db: SqliteDb;
  private readonly stmts: {
    load: Statement<[number], Row>;
    put: Statement<[Row]>;
    del: Statement<[string]>;
    count: Statement<[string, string, string, number], { n: number }>;
    prune: Statement<[number]>;
  };

  /** Applies the `decisions` migrations. @throws when the database cannot be migrated. */
  constructor(db: SqliteDb) {
    this.db = db;
    migrate(db, 'decisions', DECISION_MIGRATIONS);
    this.stmts = {
      load: db.prepare('SELECT * FROM decisions WHERE expires_at > ? ORDER BY created_at'),
      put: db.prepare(`INSERT INTO decisions (id, scope, value, type, origin, source, reason, created_at, expires_at, offence)
        VALUES (@id, @scope, @value, @type, @origin, @source, @reason, @created_at, @expires_at, @offence)
        ON CONFLICT(id) DO UPDATE SET expires_at = excluded.expires_at, offence = excluded.offence, reason = excluded.reason, type = excluded.type`),
      del: db.prepare('DELETE FROM decisions WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM decisions WHERE scope = ? AND value = ? AND source = ? AND created_at >= ?'),
      prune: db.prepare('DELETE FROM decisions WHERE expires_at < ?'),
    };
  }

  async loadActive(now: number): Promise<Decision[]> {
    return this.stmts.load.all(now).map(fromRow);
  }

  async put(d: Decision): Promise<void> {
    this.stmts.put.run({
      id: d.id,
      scope: d.scope,
      value: d.value,
      type: d.type,
      origin: d.origin,
      source: d.source,
      reason: d.reason,
      created_at: d.createdAt,
      expires_at: d.expiresAt,
      offence: d.offence,
    });
  }

  async delete(id: string): Promise<boolean> {
    return this.stmts.del.run(id).changes > 0;
  }

  async countOffences(scope: DecisionScope, value: string, source: string, since: number): Promise<number> {
    return this.stmts.count.get(scope, value, source, since)?.n ?? 0;
  }

  async prune(before: number): Promise<number> {
    return this.stmts.prune.run(before).changes;
  }

  /** The database is owned by the composition root: nothing to close here. */
  async close(): Promise<void> {}
}
