import { Worker } from 'node:worker_threads';
import type { Statement } from 'better-sqlite3';
import { migrate, type Migration, type SqliteDb } from '../store/sqlite.ts';
import type { EventPage, EventQuery, EventStore, SecurityEvent } from './types.ts';

/** Maximum chars of searchable text indexed per event (target, user agent, evidence). */
export const MAX_SEARCH_TEXT = 4096;

/**
 * Migrations of the `events` namespace. Events are one row each (signals as JSON), with a side table of
 * rule ids for the `ruleId` filter and an FTS5 trigram index for substring search over target, User-Agent
 * and evidence (trigram: `LIKE '%…%'` uses the index for needles of 3+ characters).
 */
export const EVENT_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `CREATE TABLE events (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      time INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      client_ip TEXT NOT NULL,
      client_key TEXT NOT NULL,
      country TEXT, asn INTEGER,
      method TEXT NOT NULL,
      target TEXT NOT NULL,
      route TEXT, host TEXT, user_agent TEXT, api_key TEXT, user TEXT, fingerprint TEXT,
      status INTEGER NOT NULL,
      action TEXT NOT NULL,
      would_be TEXT NOT NULL,
      monitor INTEGER NOT NULL,
      anomaly_score REAL NOT NULL,
      risk REAL NOT NULL,
      level TEXT NOT NULL,
      category TEXT,
      decision_id TEXT,
      latency_ms REAL NOT NULL,
      reasons TEXT NOT NULL,
      signals TEXT NOT NULL
    );
    CREATE INDEX events_time ON events (time, seq);
    CREATE INDEX events_client ON events (client_ip, time);
    CREATE INDEX events_route ON events (route, time);
    CREATE INDEX events_category ON events (category, time);
    CREATE INDEX events_action ON events (action, time);
    CREATE TABLE event_rules (
      rule_id TEXT NOT NULL,
      time INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      PRIMARY KEY (rule_id, time, seq)
    ) WITHOUT ROWID;
    CREATE INDEX event_rules_time ON event_rules (time);
    CREATE VIRTUAL TABLE events_fts USING fts5(text, tokenize = 'trigram');`,
  },
  {
    // The clientIp filter also matches the aggregated client key (IPv6 /64): index it too so the OR can use both.
    version: 2,
    up: 'CREATE INDEX events_client_key ON events (client_key, time);',
  },
];

interface Row {
  seq: number;
  id: string;
  time: number;
  request_id: string;
  client_ip: string;
  client_key: string;
  country: string | null;
  asn: number | null;
  method: string;
  target: string;
  route: string | null;
  host: string | null;
  user_agent: string | null;
  api_key: string | null;
  user: string | null;
  fingerprint: string | null;
  status: number;
  action: string;
  would_be: string;
  monitor: number;
  anomaly_score: number;
  risk: number;
  level: string;
  category: string | null;
  decision_id: string | null;
  latency_ms: number;
  reasons: string;
  signals: string;
}

/** Text indexed for full-text search: target, User-Agent, and evidence of every signal, bounded. */
export function searchText(e: SecurityEvent): string {
  let t = e.target;
  if (e.userAgent) t += '\n' + e.userAgent;
  for (const s of e.signals) {
    if (t.length >= MAX_SEARCH_TEXT) break;
    t += '\n' + s.ruleId;
    if (s.message) t += ' ' + s.message;
    const ev = s.evidence;
    if (ev) {
      if (ev.value) t += ' ' + ev.value;
      if (ev.matched) t += ' ' + ev.matched;
      if (ev.transformed) t += ' ' + ev.transformed;
    }
  }
  return t.length > MAX_SEARCH_TEXT ? t.slice(0, MAX_SEARCH_TEXT) : t;
}

/** Rule ids of an event's signals, without duplicates. */
export function ruleIdsOf(e: SecurityEvent): string[] {
  const out = new Set<string>();
  for (const s of e.signals) out.add(s.ruleId);
  return [...out];
}

/** Encodes the keyset position (time, seq) as an opaque cursor. */
export function encodeCursor(time: number, seq: number | string): string {
  return Buffer.from(`${time}.${seq}`).toString('base64url');
}

/** Decodes a cursor; undefined when it is malformed (treated as "from the newest"). */
export function decodeCursor(c: string): { time: number; seq: number } | undefined {
  const s = Buffer.from(c, 'base64url').toString('latin1');
  const dot = s.indexOf('.');
  if (dot <= 0) return undefined;
  const time = Number(s.slice(0, dot));
  const seq = Number(s.slice(dot + 1));
  if (!Number.isSafeInteger(time) || !Number.isSafeInteger(seq)) return undefined;
  return { time, seq };
}

function fromRow(r: Row): SecurityEvent {
  const e: SecurityEvent = {
    id: r.id,
    time: r.time,
    requestId: r.request_id,
    clientIp: r.client_ip,
    clientKey: r.client_key,
    method: r.method,
    target: r.target,
    status: r.status,
    action: r.action as SecurityEvent['action'],
    wouldBe: r.would_be as SecurityEvent['wouldBe'],
    monitor: r.monitor === 1,
    anomalyScore: r.anomaly_score,
    risk: r.risk,
    level: r.level as SecurityEvent['level'],
    signals: JSON.parse(r.signals) as SecurityEvent['signals'],
    reasons: JSON.parse(r.reasons) as string[],
    latencyMs: r.latency_ms,
  };
  if (r.country !== null) e.country = r.country;
  if (r.asn !== null) e.asn = r.asn;
  if (r.route !== null) e.route = r.route;
  if (r.host !== null) e.host = r.host;
  if (r.user_agent !== null) e.userAgent = r.user_agent;
  if (r.api_key !== null) e.apiKey = r.api_key;
  if (r.user !== null) e.user = r.user;
  if (r.fingerprint !== null) e.fingerprint = r.fingerprint;
  if (r.category !== null) e.category = r.category;
  if (r.decision_id !== null) e.decisionId = r.decision_id;
  return e;
}

/** Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`. */
function likeEscape(s: string): string {
  let out = '';
  for (const ch of s) out += ch === '%' || ch === '_' || ch === '\\' ? '\\' + ch : ch;
  return out;
}

/** Builds the WHERE clause shared by query and stream. */
function where(q: Omit<EventQuery, 'cursor' | 'limit'>): { sql: string; args: unknown[] } {
  const c: string[] = [];
  const a: unknown[] = [];
  if (q.from !== undefined) {
    c.push('time >= ?');
    a.push(q.from);
  }
  if (q.to !== undefined) {
    c.push('time < ?');
    a.push(q.to);
  }
  if (q.clientIp !== undefined) {
    c.push('(client_ip = ? OR client_key = ?)');
    a.push(q.clientIp, q.clientIp);
  }
  if (q.route !== undefined) {
    c.push('route = ?');
    a.push(q.route);
  }
  if (q.category !== undefined) {
    c.push('category = ?');
    a.push(q.category);
  }
  if (q.action !== undefined) {
    c.push('action = ?');
    a.push(q.action);
  }
  if (q.level !== undefined) {
    c.push('level = ?');
    a.push(q.level);
  }
  if (q.monitor !== undefined) {
    c.push('monitor = ?');
    a.push(q.monitor ? 1 : 0);
  }
  if (q.ruleId !== undefined) {
    c.push('seq IN (SELECT seq FROM event_rules WHERE rule_id = ?)');
    a.push(q.ruleId);
  }
  if (q.text !== undefined && q.text !== '') {
    c.push(`seq IN (SELECT rowid FROM events_fts WHERE text LIKE ? ESCAPE '\\')`);
    a.push('%' + likeEscape(q.text.slice(0, 256)) + '%');
  }
  return { sql: c.length ? c.join(' AND ') : '1', args: a };
}

/**
 * Prepares the batch insert on a connection: one transaction per call (all or nothing); an event whose id
 * is already stored is skipped (idempotent retries). Used by the store and by its writer thread.
 */
export function prepareEventInsert(db: SqliteDb): (events: readonly SecurityEvent[]) => void {
  const ins = db.prepare(`INSERT INTO events (id, time, request_id, client_ip, client_key, country, asn, method, target, route, host,
    user_agent, api_key, user, fingerprint, status, action, would_be, monitor, anomaly_score, risk, level, category, decision_id,
    latency_ms, reasons, signals) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING`);
  const insRule = db.prepare('INSERT OR IGNORE INTO event_rules (rule_id, time, seq) VALUES (?, ?, ?)');
  const insFts = db.prepare('INSERT INTO events_fts (rowid, text) VALUES (?, ?)');
  return db.transaction((events: readonly SecurityEvent[]) => {
    for (const e of events) {
      const r = ins.run(
        e.id, e.time, e.requestId, e.clientIp, e.clientKey, e.country ?? null, e.asn ?? null, e.method, e.target, e.route ?? null,
        e.host ?? null, e.userAgent ?? null, e.apiKey ?? null, e.user ?? null, e.fingerprint ?? null, e.status, e.action, e.wouldBe,
        e.monitor ? 1 : 0, e.anomalyScore, e.risk, e.level, e.category ?? null, e.decisionId ?? null, e.latencyMs,
        JSON.stringify(e.reasons), JSON.stringify(e.signals),
      );
      if (r.changes === 0) continue; // duplicate id (a retried batch): already stored
      const seq = r.lastInsertRowid;
      for (const id of ruleIdsOf(e)) insRule.run(id, e.time, seq);
      insFts.run(seq, searchText(e));
    }
  });
}

/** Options of {@link SqliteEventStore}. */
export interface SqliteEventStoreOptions {
  /**
   * Write batches from a worker thread with its own connection to the same file (default: true for a file
   * database, always false for `:memory:`). A batch of 500 events costs 10–30 ms of SQLite work (row, five
   * indexes, rule rows, trigram FTS); in a worker that time is off the event loop that serves requests.
   */
  writerThread?: boolean;
}

/**
 * Security events in the embedded SQLite database (WAL), written one transaction per batch — by default from
 * a writer thread with its own connection (WAL: readers on the main connection are never blocked).
 * Queries page newest first with an opaque keyset cursor (stable under concurrent inserts); `stream`
 * walks oldest first in chunks of 500 rows (constant memory, and never holds a statement open across
 * awaits, so writers are not blocked); `prune` deletes in chunks of 5,000 rows.
 */
export class SqliteEventStore implements EventStore {
  private readonly db: SqliteDb;
  private readonly cache = new Map<string, Statement<unknown[], Row>>();
  private readonly insertMany: (events: readonly SecurityEvent[]) => void;
  private readonly writer?: SqliteWriterClient;

  /**
   * Applies the `events` migrations (on `db`, before any writer thread opens the file).
   * @throws when the database cannot be migrated.
   */
  constructor(db: SqliteDb, opts: SqliteEventStoreOptions = {}) {
    this.db = db;
    migrate(db, 'events', EVENT_MIGRATIONS);
    this.insertMany = prepareEventInsert(db);
    const file = db.memory ? undefined : db.name;
    if (file && (opts.writerThread ?? true)) this.writer = new SqliteWriterClient(file);
  }

  private stmt(sql: string): Statement<unknown[], Row> {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql) as Statement<unknown[], Row>;
      if (this.cache.size < 256) this.cache.set(sql, s);
    }
    return s;
  }

  /**
   * Inserts the batch in one transaction (all or nothing); duplicate ids are ignored (idempotent retries).
   * Rejects with the SQLite error (or when the writer thread died; it is restarted on the next batch).
   */
  async insertBatch(events: readonly SecurityEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.writer) return this.writer.insert(events);
    this.insertMany(events);
  }

  /** A page of events, newest first. `limit` is clamped to 1–1000 (default 100). */
  async query(q: EventQuery): Promise<EventPage> {
    const limit = typeof q.limit === 'number' && Number.isFinite(q.limit) ? Math.min(1000, Math.max(1, Math.floor(q.limit))) : 100;
    const w = where(q);
    let sql = `SELECT * FROM events WHERE ${w.sql}`;
    const args = w.args.slice();
    const cur = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (cur) {
      // Row-value comparison lets SQLite seek the (time, seq) index instead of rescanning from its start.
      sql += ' AND (time, seq) < (?, ?)';
      args.push(cur.time, cur.seq);
    }
    sql += ' ORDER BY time DESC, seq DESC LIMIT ?';
    args.push(limit + 1);
    const rows = this.stmt(sql).all(...args);
    const page: EventPage = { events: rows.slice(0, limit).map(fromRow) };
    if (rows.length > limit) {
      const last = rows[limit - 1]!;
      page.nextCursor = encodeCursor(last.time, last.seq);
    }
    return page;
  }

  /** Every matching event, oldest first, read in chunks of 500 rows. */
  async *stream(q: Omit<EventQuery, 'cursor' | 'limit'>): AsyncIterable<SecurityEvent> {
    const w = where(q);
    const sql = `SELECT * FROM events WHERE ${w.sql} AND (time, seq) > (?, ?) ORDER BY time, seq LIMIT 500`;
    let time = -Infinity;
    let seq = -1;
    for (;;) {
      const rows = this.stmt(sql).all(...w.args, time === -Infinity ? -9e15 : time, seq);
      for (const r of rows) yield fromRow(r);
      if (rows.length < 500) return;
      const last = rows[rows.length - 1]!;
      time = last.time;
      seq = last.seq;
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /**
   * Deletes events with `time < before` (and their rule and search rows) in transactions of 1,000 events,
   * yielding to the event loop between chunks so retention never stalls request handling for long.
   */
  async prune(before: number): Promise<number> {
    const pick = this.db.prepare('SELECT seq FROM events WHERE time < ? ORDER BY time LIMIT 1000');
    const delFts = this.db.prepare('DELETE FROM events_fts WHERE rowid = ?');
    const delEv = this.db.prepare('DELETE FROM events WHERE seq = ?');
    const delRules = this.db.prepare('DELETE FROM event_rules WHERE (rule_id, time, seq) IN (SELECT rule_id, time, seq FROM event_rules WHERE time < ? LIMIT 1000)');
    let total = 0;
    for (;;) {
      const seqs = (pick.all(before) as { seq: number }[]).map((r) => r.seq);
      if (seqs.length === 0) break;
      this.db.transaction(() => {
        for (const s of seqs) {
          delFts.run(s);
          delEv.run(s);
        }
      })();
      total += seqs.length;
      await new Promise<void>((r) => setImmediate(r));
      if (seqs.length < 1000) break;
    }
    while (delRules.run(before).changes > 0) await new Promise<void>((r) => setImmediate(r));
    return total;
  }

  /** Stops the writer thread after its current batch; the database itself is owned by the composition root. */
  async close(): Promise<void> {
    await this.writer?.close();
  }
}

/** Main-thread side of the writer thread: one request/response per batch, in order. */
class SqliteWriterClient {
  private readonly file: string;
  private worker?: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(file: string) {
    this.file = file;
  }

  private spawn(): Worker {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const w = new Worker(new URL('./sqlite-writer' + ext, import.meta.url), { workerData: { file: this.file } });
    w.on('message', (m: { id: number; ok: boolean; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref(); // idle: do not keep the process alive
      if (m.ok) p.resolve();
      else p.reject(new Error(m.error ?? 'event write failed'));
    });
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (err) => fail(err));
    w.on('exit', (code) => fail(new Error(`event writer thread exited (${code})`)));
    // After adding listeners (a 'message' listener re-refs the port): the writer never keeps the process alive.
    w.unref();
    return w;
  }

  insert(events: readonly SecurityEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('event store closed'));
    this.worker ??= this.spawn();
    const id = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.ref(); // a batch in flight keeps the process alive until it is answered
      this.worker!.postMessage({ id, events });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    if (this.pending.size > 0) {
      await new Promise<void>((r) => {
        const check = setInterval(() => {
          if (this.pending.size === 0) {
            clearInterval(check);
            r();
          }
        }, 5);
        setTimeout(() => {
          clearInterval(check);
          r();
        }, 5000).unref();
      });
    }
    this.worker = undefined;
    await w.terminate();
  }
}
