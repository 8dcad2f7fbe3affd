import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Decision, DecisionScope } from '../core/types.ts';
import type { DecisionChange, DecisionStore } from './types.ts';

type Change = DecisionChange;

/** Quotes a PostgreSQL identifier (schema name). */
export function quoteIdent(s: string): string {
  return '"' + s.replaceAll('"', '""') + '"';
}

/**
 * Decisions in PostgreSQL (`<schema>.decisions`), for deployments that already run PostgreSQL and several
 * instances. Changes are announced with `pg_notify` on channel `bulwark_decisions` and received over a
 * dedicated LISTEN connection, so bans propagate between instances like the Redis store.
 * The table is created on first use (`CREATE … IF NOT EXISTS`).
 */
export class PostgresDecisionStore implements DecisionStore {
  private readonly pool: pg.Pool;
  private readonly owned: boolean;
  private readonly t: string;
  private readonly schema: string;
  private readonly instance = randomUUID();
  private ready?: Promise<void>;
  private listenClient?: pg.Client;
  private readonly connStr?: string;
  private readonly listeners: ((c: Change) => void)[] = [];

  /**
   * @param conn - connection string (`postgres://…`) or a `pg.Pool` (then not ended by {@link close}).
   * @param opts.schema - schema holding the table (default `public`), created when missing.
   */
  constructor(conn: string | pg.Pool, opts: { schema?: string } = {}) {
    this.owned = typeof conn === 'string';
    if (typeof conn === 'string') this.connStr = conn;
    this.pool = typeof conn === 'string' ? new pg.Pool({ connectionString: conn, max: 4 }) : conn;
    this.pool.on('error', () => { /* idle client errors: the pool replaces the client */ });
    this.schema = opts.schema ?? 'public';
    this.t = `${quoteIdent(this.schema)}.decisions`;
  }

  private init(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)};
         CREATE TABLE IF NOT EXISTS ${this.t} (
           id TEXT PRIMARY KEY, scope TEXT NOT NULL, value TEXT NOT NULL, type TEXT NOT NULL, origin TEXT NOT NULL,
           source TEXT NOT NULL, reason TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, offence INTEGER NOT NULL);
         CREATE INDEX IF NOT EXISTS decisions_expires ON ${this.t} (expires_at);
         CREATE INDEX IF NOT EXISTS decisions_offence ON ${this.t} (scope, value, source, created_at);`,
      )
      .then(() => undefined)
      .catch((err: unknown) => {
        this.ready = undefined;
        throw err;
      });
    return this.ready;
  }

  private static fromRow(r: Record<string, unknown>): Decision {
    return {
      id: r.id as string,
      scope: r.scope as Decision['scope'],
      value: r.value as string,
      type: r.type as Decision['type'],
      origin: r.origin as Decision['origin'],
      source: r.source as string,
      reason: r.reason as string,
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      offence: Number(r.offence),
    };
  }

  async loadActive(now: number): Promise<Decision[]> {
    await this.init();
    const r = await this.pool.query(`SELECT * FROM ${this.t} WHERE expires_at > $1 ORDER BY created_at`, [now]);
    return r.rows.map(PostgresDecisionStore.fromRow);
  }

  async put(d: Decision): Promise<void> {
    await this.init();
    await this.pool.query(
      `WITH up AS (INSERT INTO ${this.t} (id, scope, value, type, origin, source, reason, created_at, expires_at, offence)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, offence = EXCLUDED.offence, reason = EXCLUDED.reason, type = EXCLUDED.type
         RETURNING 1)
       SELECT pg_notify('bulwark_decisions', $11) FROM up`,
      [d.id, d.scope, d.value, d.type, d.origin, d.source, d.reason, d.createdAt, d.expiresAt, d.offence, JSON.stringify({ from: this.instance, schema: this.schema, op: 'put', decision: d })],
    );
  }

  async delete(id: string): Promise<boolean> {
    await this.init();
    const r = await this.pool.query(
      `WITH del AS (DELETE FROM ${this.t} WHERE id = $1 RETURNING 1) SELECT pg_notify('bulwark_decisions', $2) FROM del`,
      [id, JSON.stringify({ from: this.instance, schema: this.schema, op: 'delete', id })],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async countOffences(scope: DecisionScope, value: string, source: string, since: number): Promise<number> {
    await this.init();
    const r = await this.pool.query(`SELECT COUNT(*)::int AS n FROM ${this.t} WHERE scope = $1 AND value = $2 AND source = $3 AND created_at >= $4`, [scope, value, source, since]);
    return Number(r.rows[0]?.n ?? 0);
  }

  async prune(before: number): Promise<number> {
    await this.init();
    const r = await this.pool.query(`DELETE FROM ${this.t} WHERE expires_at < $1`, [before]);
    return r.rowCount ?? 0;
  }

  /**
   * Listens for other instances' changes (a dedicated connection; needs a connection string, not a Pool). When
   * that connection drops, it reconnects with backoff (0.5 s doubling to 30 s), LISTENs again and hands over the
   * active set as a `sync`, since notifications sent meanwhile are lost.
   */
  onChange(listener: (c: Change) => void): void {
    this.listeners.push(listener);
    if (this.listenClient || !this.connStr) return;
    this.listen(0);
  }

  private listen(attempt: number): void {
    if (this.closing || !this.connStr) return;
    const c = new pg.Client({ connectionString: this.connStr });
    this.listenClient = c;
    let lost = false;
    const reconnect = (): void => {
      if (lost || this.closing) return;
      lost = true;
      c.end().catch(() => undefined);
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      setTimeout(() => this.listen(attempt + 1), delay).unref();
    };
    c.on('error', reconnect);
    c.on('end', reconnect);
    c.on('notification', (n) => {
      if (n.channel !== 'bulwark_decisions' || !n.payload) return;
      let m: { from?: string; schema?: string; op?: string; decision?: Decision; id?: string };
      try {
        m = JSON.parse(n.payload) as typeof m;
      } catch {
        return;
      }
      if (m.from === this.instance || m.schema !== this.schema) return;
      const ch: Change | undefined = m.op === 'put' && m.decision ? { op: 'put', decision: m.decision } : m.op === 'delete' && typeof m.id === 'string' ? { op: 'delete', id: m.id } : undefined;
      if (ch) for (const l of this.listeners) l(ch);
    });
    this.listening = c
      .connect()
      .then(() => c.query('LISTEN bulwark_decisions'))
      .then(async () => {
        if (attempt === 0) return;
        attempt = 0;
        const readAt = Date.now();
        const decisions = await this.loadActive(readAt);
        for (const l of this.listeners) l({ op: 'sync', decisions, readAt });
      })
      .catch(reconnect);
  }

  private closing = false;

  private listening?: Promise<void>;

  /** Resolves once LISTEN is active (tests). */
  async listenReady(): Promise<void> {
    await this.listening;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.listenClient) await this.listenClient.end().catch(() => undefined);
    if (this.owned) await this.pool.end().catch(() => undefined);
  }
}
