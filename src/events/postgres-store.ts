import pg from 'pg';
import { quoteIdent } from '../decisions/postgres-store.ts';
import { decodeCursor, encodeCursor, ruleIdsOf, searchText } from './sqlite-store.ts';
import type { EventPage, EventQuery, EventStore, SecurityEvent } from './types.ts';

function ignoreError(): void {}

/** An optional text column, {@link pgSafeText}. */
function opt(s: string | undefined): string | null {
  return s === undefined ? null : pgSafeText(s);
}

/** Columns in insert order. */
const COLS = [
  'id', 'time', 'request_id', 'client_ip', 'client_key', 'country', 'asn', 'method', 'target', 'route', 'host', 'user_agent', 'api_key',
  'user_id', 'fingerprint', 'status', 'action', 'would_be', 'monitor', 'anomaly_score', 'risk', 'level', 'category', 'decision_id',
  'latency_ms', 'reasons', 'signals', 'rule_ids', 'search',
] as const;

function fromRow(r: Record<string, unknown>): SecurityEvent {
  const e: SecurityEvent = {
    id: r.id as string,
    time: Number(r.time),
    requestId: r.request_id as string,
    clientIp: r.client_ip as string,
    clientKey: r.client_key as string,
    method: r.method as string,
    target: r.target as string,
    status: Number(r.status),
    action: r.action as SecurityEvent['action'],
    wouldBe: r.would_be as SecurityEvent['wouldBe'],
    monitor: r.monitor as boolean,
    anomalyScore: Number(r.anomaly_score),
    risk: Number(r.risk),
    level: r.level as SecurityEvent['level'],
    signals: r.signals as SecurityEvent['signals'],
    reasons: r.reasons as string[],
    latencyMs: Number(r.latency_ms),
  };
  const opt = (col: string, key: keyof SecurityEvent, num = false): void => {
    const v = r[col];
    if (v !== null && v !== undefined) (e as unknown as Record<string, unknown>)[key] = num ? Number(v) : v;
  };
  opt('country', 'country');
  opt('asn', 'asn', true);
  opt('route', 'route');
  opt('host', 'host');
  opt('user_agent', 'userAgent');
  opt('api_key', 'apiKey');
  opt('user_id', 'user');
  opt('fingerprint', 'fingerprint');
  opt('category', 'category');
  opt('decision_id', 'decisionId');
  return e;
}

/**
 * `s` as PostgreSQL `text` and `jsonb` accept it: NUL (U+0000), which neither can hold, and lone UTF-16
 * surrogates (from a request's `%uD800`; `jsonb` rejects their `\ud800` escape, `text` would get U+FFFD from the
 * UTF-8 encoder anyway) become U+FFFD. Events carry decoded request data, so without this one hostile request
 * would make its whole batch fail on every retry.
 */
export function pgSafeText(s: string): string {
  if (s.indexOf('\0') !== -1) s = s.replaceAll('\0', '\uFFFD');
  return s.isWellFormed() ? s : s.toWellFormed();
}

function pgSafeValue(_key: string, v: unknown): unknown {
  return typeof v === 'string' ? pgSafeText(v) : v;
}

/** `JSON.stringify(v)` with every string made {@link pgSafeText} (the replacer runs only when needed). */
function pgJson(v: unknown): string {
  const j = JSON.stringify(v);
  return j.indexOf('\\u') === -1 ? j : JSON.stringify(v, pgSafeValue);
}

/** Escapes `%`, `_` and `\` for ILIKE (default escape character `\`). */
function likeEscape(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '%' || ch === '_' || ch === '\\' ? '\\' + ch : ch;
  return out;
}

function where(q: Omit<EventQuery, 'cursor' | 'limit'>, args: unknown[]): string {
  const c: string[] = [];
  const add = (sql: string, v: unknown): void => {
    args.push(v);
    c.push(sql.replaceAll('$?', `$${args.length}`));
  };
  if (q.from !== undefined) add('time >= $?', q.from);
  if (q.to !== undefined) add('time < $?', q.to);
  if (q.clientIp !== undefined) add('(client_ip = $? OR client_key = $?)', q.clientIp);
  if (q.route !== undefined) add('route = $?', q.route);
  if (q.category !== undefined) add('category = $?', q.category);
  if (q.action !== undefined) add('action = $?', q.action);
  if (q.level !== undefined) add('level = $?', q.level);
  if (q.monitor !== undefined) add('monitor = $?', q.monitor);
  if (q.ruleId !== undefined) add('rule_ids @> ARRAY[$?]::text[]', q.ruleId);
  if (q.text !== undefined && q.text !== '') add('search ILIKE $?', '%' + likeEscape(q.text.slice(0, 256)) + '%');
  return c.length ? c.join(' AND ') : 'TRUE';
}

/**
 * Security events in PostgreSQL (`<schema>.events`) with the same contract as the SQLite store: one
 * transaction per batch (a multi-row INSERT), signals as JSONB, rule ids as a GIN-indexed text array,
 * substring search with ILIKE over a bounded text column (accelerated by a pg_trgm index when the extension
 * can be created), newest-first keyset pagination with an opaque cursor, constant-memory `stream` in
 * chunks of 500, chunked `prune`.
 */
export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly owned: boolean;
  private readonly schema: string;
  private readonly t: string;
  private initializing?: Promise<void>;

  /**
   * @param conn - connection string or a `pg.Pool` (then not ended by {@link close}).
   * @param opts.schema - schema holding the table (default `public`), created when missing.
   * @param opts.connectTimeoutMs - for a connection string: how long a query waits for a connection (a new
   *   one or a free pool slot) before failing, ms (default 10,000). Without it a blackholed server makes
   *   start-up and every query wait for the OS TCP timeout (minutes); failed event writes are retried.
   * @param opts.queryTimeoutMs - for a connection string: a query unanswered for this long fails (client-side
   *   `query_timeout`), ms (default 60,000), so a server that stops answering mid-write does not hold the event
   *   writer, or shutdown, for the TCP timeout; the write is retried.
   */
  constructor(conn: string | pg.Pool, opts: { schema?: string; connectTimeoutMs?: number; queryTimeoutMs?: number } = {}) {
    this.owned = typeof conn === 'string';
    this.pool =
      typeof conn === 'string'
        ? new pg.Pool({ connectionString: conn, max: 4, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000, query_timeout: opts.queryTimeoutMs ?? 60_000 })
        : conn;
    this.pool.on('error', () => { /* the pool replaces broken idle clients */ });
    this.schema = opts.schema ?? 'public';
    this.t = `${quoteIdent(this.schema)}.events`;
  }

  private init(): Promise<void> {
    this.initializing ??= (async () => {
      await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)};
        CREATE TABLE IF NOT EXISTS ${this.t} (
          seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, time BIGINT NOT NULL, request_id TEXT NOT NULL,
          client_ip TEXT NOT NULL, client_key TEXT NOT NULL, country TEXT, asn INTEGER, method TEXT NOT NULL, target TEXT NOT NULL,
          route TEXT, host TEXT, user_agent TEXT, api_key TEXT, user_id TEXT, fingerprint TEXT, status INTEGER NOT NULL,
          action TEXT NOT NULL, would_be TEXT NOT NULL, monitor BOOLEAN NOT NULL, anomaly_score DOUBLE PRECISION NOT NULL,
          risk DOUBLE PRECISION NOT NULL, level TEXT NOT NULL, category TEXT, decision_id TEXT, latency_ms DOUBLE PRECISION NOT NULL,
          reasons JSONB NOT NULL, signals JSONB NOT NULL, rule_ids TEXT[] NOT NULL, search TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS events_time ON ${this.t} (time, seq);
        CREATE INDEX IF NOT EXISTS events_client ON ${this.t} (client_ip, time);
        CREATE INDEX IF NOT EXISTS events_route ON ${this.t} (route, time);
        CREATE INDEX IF NOT EXISTS events_category ON ${this.t} (category, time);
        CREATE INDEX IF NOT EXISTS events_action ON ${this.t} (action, time);
        CREATE INDEX IF NOT EXISTS events_rules ON ${this.t} USING GIN (rule_ids);`);
      try {
        await this.pool.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
        await this.pool.query(`CREATE INDEX IF NOT EXISTS events_search ON ${this.t} USING GIN (search gin_trgm_ops)`);
      } catch {
        /* no pg_trgm: ILIKE scans */
      }
    })().catch((err: unknown) => {
      this.initializing = undefined;
      throw err;
    });
    return this.initializing;
  }

  /**
   * Connects and creates the schema, table and indexes when missing (otherwise done on first use), so a
   * caller can fail at start rather than on the first write.
   * @throws the connection or DDL error (e.g. unreachable server, no CREATE privilege); a later call retries.
   */
  async ready(): Promise<void> {
    await this.init();
  }

  /** One `SELECT 1` round trip (readiness probes). @throws when the server does not answer. */
  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Inserts the batch with one multi-row INSERT (atomic); duplicate ids are ignored (idempotent retries). */
  async insertBatch(events: readonly SecurityEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.init();
    // PostgreSQL allows 65,535 parameters per statement: 29 columns → chunks of 2,000 rows in one transaction.
    const client = await this.pool.connect();
    // pg-pool stops listening for a checked-out client's 'error' (a backend killed, a failover mid-write): without
    // a listener it would be an uncaught exception that stops the gateway. The query in progress rejects anyway.
    client.on('error', ignoreError);
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      for (let i = 0; i < events.length; i += 2000) {
        const chunk = events.slice(i, i + 2000);
        const args: unknown[] = [];
        const rows: string[] = [];
        for (const e of chunk) {
          const base = args.length;
          args.push(
            e.id, e.time, e.requestId, e.clientIp, e.clientKey, e.country ?? null, e.asn ?? null, e.method, pgSafeText(e.target), opt(e.route),
            opt(e.host), opt(e.userAgent), opt(e.apiKey), opt(e.user), e.fingerprint ?? null, e.status, e.action, e.wouldBe,
            e.monitor, e.anomalyScore, e.risk, e.level, e.category ?? null, e.decisionId ?? null, e.latencyMs,
            pgJson(e.reasons), pgJson(e.signals), ruleIdsOf(e), pgSafeText(searchText(e)),
          );
          rows.push('(' + COLS.map((_, j) => `$${base + j + 1}`).join(',') + ')');
        }
        await client.query(`INSERT INTO ${this.t} (${COLS.join(',')}) VALUES ${rows.join(',')} ON CONFLICT (id) DO NOTHING`, args);
      }
      await client.query('COMMIT');
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', ignoreError);
      // a client whose write failed may be broken: release(err) closes it instead of returning it to the pool
      client.release(failed);
    }
  }

  async query(q: EventQuery): Promise<EventPage> {
    await this.init();
    const limit = typeof q.limit === 'number' && Number.isFinite(q.limit) ? Math.min(1000, Math.max(1, Math.floor(q.limit))) : 100;
    const args: unknown[] = [];
    let sql = `SELECT * FROM ${this.t} WHERE ${where(q, args)}`;
    const cur = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (cur) {
      args.push(cur.time, cur.seq);
      sql += ` AND (time, seq) < ($${args.length - 1}, $${args.length})`;
    }
    args.push(limit + 1);
    sql += ` ORDER BY time DESC, seq DESC LIMIT $${args.length}`;
    const r = await this.pool.query(sql, args);
    const page: EventPage = { events: r.rows.slice(0, limit).map(fromRow) };
    if (r.rows.length > limit) {
      const last = r.rows[limit - 1] as { time: string; seq: string };
      page.nextCursor = encodeCursor(Number(last.time), Number(last.seq));
    }
    return page;
  }

  async *stream(q: Omit<EventQuery, 'cursor' | 'limit'>): AsyncIterable<SecurityEvent> {
    await this.init();
    let time = -9e15;
    let seq = -1;
    for (;;) {
      const args: unknown[] = [];
      const w = where(q, args);
      args.push(time, seq);
      const r = await this.pool.query(`SELECT * FROM ${this.t} WHERE ${w} AND (time, seq) > ($${args.length - 1}, $${args.length}) ORDER BY time, seq LIMIT 500`, args);
      for (const row of r.rows) yield fromRow(row);
      if (r.rows.length < 500) return;
      const last = r.rows[r.rows.length - 1] as { time: string; seq: string };
      time = Number(last.time);
      seq = Number(last.seq);
    }
  }

  async prune(before: number): Promise<number> {
    await this.init();
    let total = 0;
    for (;;) {
      const r = await this.pool.query(`DELETE FROM ${this.t} WHERE seq IN (SELECT seq FROM ${this.t} WHERE time < $1 ORDER BY time LIMIT 5000)`, [before]);
      const n = r.rowCount ?? 0;
      total += n;
      if (n < 5000) return total;
    }
  }

  async close(): Promise<void> {
    if (this.owned) await this.pool.end().catch(() => undefined);
  }
}
