import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Policy } from '../../config/schema.ts';
import { LruMap } from '../../core/lru.ts';
import type { DecisionScope, ThreatLevel } from '../../core/types.ts';
import type { DecisionService } from '../../decisions/types.ts';
import type { EventSink, SecurityEvent } from '../../events/types.ts';
import { migrate, type SqliteDb } from '../../store/sqlite.ts';
import { recommend } from './recommend.ts';
import {
  LEVEL_RANK, LEVELS,
  type Actor, type ActorKind, type Incident, type IncidentChange, type IncidentChangeType, type IncidentFilter, type IncidentPage,
  type IncidentState, type IncidentStats, type Recommendation,
} from './types.ts';

/** Bounds of the per-incident aggregates (see {@link IncidentStats}). */
const MAX_IPS = 256;
const MAX_ROUTES = 64;
const MAX_RULES = 64;
/** Events correlated per drain step before yielding the event loop. */
const DRAIN_BATCH = 500;
/** Interval of the housekeeping timer (mute expiry, index sweep), ms. */
const SWEEP_INTERVAL_MS = 5_000;
/** Longest stored string taken from a request (actor values, routes), characters. */
const MAX_TEXT = 256;

/** SQLite schema of the `incidents` namespace. */
export const INCIDENT_MIGRATIONS = [
  {
    version: 1,
    up: `CREATE TABLE incidents (
      id TEXT PRIMARY KEY,
      corr_key TEXT NOT NULL,
      actor_kind TEXT NOT NULL,
      actor TEXT NOT NULL,
      scenario TEXT NOT NULL,
      severity INTEGER NOT NULL,
      state TEXT NOT NULL,
      muted_until INTEGER,
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      events INTEGER NOT NULL,
      blocked INTEGER NOT NULL,
      generation INTEGER NOT NULL DEFAULT 0,
      samples TEXT NOT NULL,
      stats TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      acknowledged_by TEXT, acknowledged_at INTEGER,
      resolved_by TEXT, resolved_at INTEGER
    );
    CREATE INDEX incidents_key ON incidents (corr_key, last_seen);
    CREATE INDEX incidents_last ON incidents (last_seen, id);
    CREATE INDEX incidents_actor ON incidents (actor);
    CREATE INDEX incidents_state ON incidents (state, muted_until);`,
  },
];

interface Row {
  id: string; corr_key: string; actor_kind: string; actor: string; scenario: string; severity: number; state: string;
  muted_until: number | null; first_seen: number; last_seen: number; events: number; blocked: number; generation: number;
  samples: string; stats: string; created_at: number; updated_at: number; acknowledged_by: string | null;
  acknowledged_at: number | null; resolved_by: string | null; resolved_at: number | null;
}

interface Entry {
  key: string;
  incident: Incident;
  /** When an `updated` change of this incident was last published (ms), to rate-limit duplicates on the stream. */
  publishedAt?: number;
}

/** Minimum interval between two published `updated` (duplicate) changes of one incident, ms. */
const UPDATE_PUBLISH_INTERVAL_MS = 1000;

/** Options of {@link createIncidentService}. */
export interface IncidentServiceOptions {
  db: SqliteDb;
  /** The event sink to correlate from (subscribed on creation). Omit to feed events with `ingest()` only. */
  events?: EventSink;
  /** Used to skip recommending bans that are already active, and to apply decision recommendations. */
  decisions?: DecisionService;
  logger?: Logger;
  policy: () => Policy;
  /** Clock, ms since epoch (tests). */
  now?: () => number;
}

/**
 * Incident correlation and storage. Events are queued by a cheap sink listener (never blocks or throws on the
 * data plane's `push`) and correlated off the hot path in batches, each batch persisted in one SQLite transaction.
 */
export interface IncidentService {
  /** Queues one event for correlation (what the sink listener calls). Drops and counts when the queue is full. */
  ingest(event: SecurityEvent): void;
  /** Correlates everything queued now; resolves when persisted and published (tests, shutdown). */
  flush(): Promise<void>;
  list(filter?: IncidentFilter): IncidentPage;
  get(id: string): Incident | undefined;
  /** Marks acknowledged. @returns the incident, or undefined when unknown. */
  acknowledge(id: string, by: string): Incident | undefined;
  resolve(id: string, by: string): Incident | undefined;
  /** Mutes until `until` (ms since epoch, must be in the future). @throws {RangeError} when `until` is not in the future. */
  mute(id: string, until: number, by: string): Incident | undefined;
  /** Re-opens a muted, acknowledged or resolved incident. */
  reopen(id: string, by: string): Incident | undefined;
  /** Recommendations computed from the incident's aggregates (see `recommend.ts`). */
  recommendations(id: string): Recommendation[] | undefined;
  /** Subscribes to incident changes; returns an unsubscribe function. Listener errors are logged, never thrown. */
  subscribe(listener: (change: IncidentChange) => void): () => void;
  /** Counters: events correlated, dropped (queue full), incidents opened, events queued, incidents in the in-memory index. */
  readonly stats: { correlated: number; dropped: number; opened: number; queued: number; indexed: number };
  /** Runs housekeeping now (mute expiry, index sweep, retention); it also runs every 5 s. */
  sweep(): void;
  /** Stops correlating (flushes the queue first). */
  close(): Promise<void>;
}

function toIncident(r: Row): Incident {
  const inc: Incident = {
    id: r.id,
    actor: { kind: r.actor_kind as ActorKind, value: r.actor },
    scenario: r.scenario,
    severity: LEVELS[r.severity] ?? 'LOW',
    state: r.state as IncidentState,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    events: r.events,
    blocked: r.blocked,
    sampleEventIds: JSON.parse(r.samples) as string[],
    stats: JSON.parse(r.stats) as IncidentStats,
    generation: r.generation,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.muted_until !== null) inc.mutedUntil = r.muted_until;
  if (r.acknowledged_by !== null) inc.acknowledgedBy = r.acknowledged_by;
  if (r.acknowledged_at !== null) inc.acknowledgedAt = r.acknowledged_at;
  if (r.resolved_by !== null) inc.resolvedBy = r.resolved_by;
  if (r.resolved_at !== null) inc.resolvedAt = r.resolved_at;
  return inc;
}

function trunc(s: string): string {
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}

/** Picks the actor of an event: the first of `keys` present on the event. Always falls back to the client key. */
export function actorOf(e: SecurityEvent, keys: readonly ActorKind[]): Actor {
  for (const k of keys) {
    if (k === 'user' && e.user) return { kind: 'user', value: trunc(e.user) };
    if (k === 'api_key' && e.apiKey) return { kind: 'api_key', value: trunc(e.apiKey) };
    if (k === 'fingerprint' && e.fingerprint) return { kind: 'fingerprint', value: trunc(e.fingerprint) };
    if (k === 'ip') break;
  }
  return { kind: 'ip', value: trunc(e.clientKey || e.clientIp) };
}

/** Scenario of an event: its primary category, else the first signal's category, else its first reason's prefix. */
export function scenarioOf(e: SecurityEvent): string {
  const c = e.category ?? e.signals[0]?.category;
  if (c) return trunc(c);
  const r = e.reasons[0];
  if (r) return trunc(r.split('.')[0] ?? r);
  return 'unknown';
}

function emptyStats(): IncidentStats {
  return { ips: {}, routes: {}, rules: {}, actions: {}, monitored: 0, overflow: 0 };
}

const CHANGE_RANK: Readonly<Record<IncidentChangeType, number>> = {
  updated: 0, unmuted: 1, muted: 1, acknowledged: 1, resolved: 1, escalated: 2, reopened: 3, opened: 4,
};

function encodeCursor(lastSeen: number, id: string): string {
  return Buffer.from(JSON.stringify([lastSeen, id])).toString('base64url');
}

function decodeCursor(c: string): [number, string] | undefined {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* invalid cursor */
  }
  return undefined;
}

/**
 * Creates the incident service: applies the `incidents` migrations, subscribes to `events` and starts the
 * housekeeping timer (unref'd). Correlation rules (settings in `controlPlane.incidents`):
 * - key = (actor, scenario); an event joins the latest incident of its key when it arrives within `window` ms of
 *   that incident's last event, else it opens a new incident;
 * - severity = max(event threat level, `severityByAction` floor of the enforced — or in monitor mode would-be —
 *   action); a rise publishes `escalated`, the same severity publishes `updated` (duplicates never alert);
 * - a resolved incident that recurs within the window is re-opened (`reopened`, `generation` + 1);
 * - a muted incident keeps correlating silently and returns to `open` when `mutedUntil` passes.
 * Allowed requests (action and would-be action `allow`, i.e. sampled traffic) are ignored.
 * @throws when the migrations fail.
 */
export function createIncidentService(opts: IncidentServiceOptions): IncidentService {
  const { db, logger } = opts;
  const now = opts.now ?? Date.now;
  migrate(db, 'incidents', INCIDENT_MIGRATIONS);
  const cfg = () => opts.policy().controlPlane.incidents;

  const index = new LruMap<string, Entry>(cfg().maxOpen);
  const byId = new Map<string, string>(); // incident id → correlation key, for entries in `index`
  const listeners = new Set<(c: IncidentChange) => void>();
  let queue: SecurityEvent[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  const counters = {
    correlated: 0, dropped: 0, opened: 0, queued: 0,
    get indexed(): number {
      return index.size;
    },
  };

  const selLatest = db.prepare('SELECT * FROM incidents WHERE corr_key = ? ORDER BY last_seen DESC LIMIT 1');
  const selById = db.prepare('SELECT * FROM incidents WHERE id = ?');
  const upsert = db.prepare(`INSERT INTO incidents (id, corr_key, actor_kind, actor, scenario, severity, state, muted_until,
      first_seen, last_seen, events, blocked, generation, samples, stats, created_at, updated_at,
      acknowledged_by, acknowledged_at, resolved_by, resolved_at)
    VALUES (@id, @corr_key, @actor_kind, @actor, @scenario, @severity, @state, @muted_until, @first_seen, @last_seen, @events,
      @blocked, @generation, @samples, @stats, @created_at, @updated_at, @acknowledged_by, @acknowledged_at, @resolved_by, @resolved_at)
    ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, state = excluded.state, muted_until = excluded.muted_until,
      first_seen = excluded.first_seen, last_seen = excluded.last_seen, events = excluded.events, blocked = excluded.blocked,
      generation = excluded.generation, samples = excluded.samples, stats = excluded.stats, updated_at = excluded.updated_at,
      acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at,
      resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at`);

  function keyOf(inc: Incident): string {
    return `${inc.actor.kind}\u0000${inc.actor.value}\u0000${inc.scenario}`;
  }

  function toRow(key: string, i: Incident): Row {
    return {
      id: i.id, corr_key: key, actor_kind: i.actor.kind, actor: i.actor.value, scenario: i.scenario,
      severity: LEVEL_RANK[i.severity], state: i.state, muted_until: i.mutedUntil ?? null, first_seen: i.firstSeen,
      last_seen: i.lastSeen, events: i.events, blocked: i.blocked, generation: i.generation,
      samples: JSON.stringify(i.sampleEventIds), stats: JSON.stringify(i.stats), created_at: i.createdAt,
      updated_at: i.updatedAt, acknowledged_by: i.acknowledgedBy ?? null, acknowledged_at: i.acknowledgedAt ?? null,
      resolved_by: i.resolvedBy ?? null, resolved_at: i.resolvedAt ?? null,
    };
  }

  const writeMany = db.transaction((entries: Entry[]) => {
    for (const e of entries) upsert.run(toRow(e.key, e.incident));
  });

  function remember(entry: Entry): void {
    index.set(entry.key, entry);
    byId.set(entry.incident.id, entry.key);
    // LruMap evicts silently beyond maxOpen; keep byId bounded alongside.
    if (byId.size > index.size * 2 + 16) {
      for (const [id, k] of byId) if (index.peek(k)?.incident.id !== id) byId.delete(id);
    }
  }

  function publish(change: IncidentChange): void {
    for (const l of listeners) {
      try {
        l(change);
      } catch (err) {
        logger?.error({ err }, 'incidents: listener failed');
      }
    }
  }

  function expireMute(inc: Incident, t: number): boolean {
    if (inc.state === 'muted' && inc.mutedUntil !== undefined && inc.mutedUntil <= t) {
      inc.state = 'open';
      delete inc.mutedUntil;
      return true;
    }
    return false;
  }

  function addSample(inc: Incident, id: string, max: number): void {
    const s = inc.sampleEventIds;
    if (s.length < max) {
      s.push(id);
      return;
    }
    // Keep the first half (how it started) and a sliding window of the latest ones.
    const half = Math.ceil(max / 2);
    s.splice(half, 1);
    s.push(id);
  }

  function bump<T>(map: Record<string, T>, key: string, make: () => T, stats: IncidentStats, max: number): T | undefined {
    let v = map[key];
    if (v === undefined) {
      if (Object.keys(map).length >= max) {
        stats.overflow++;
        return undefined;
      }
      v = make();
      map[key] = v;
    }
    return v;
  }

  function account(inc: Incident, e: SecurityEvent): void {
    const s = inc.stats;
    inc.events++;
    if (e.action === 'block' || e.action === 'ban') inc.blocked++;
    s.actions[e.action] = (s.actions[e.action] ?? 0) + 1;
    if (e.monitor) s.monitored++;
    if (e.clientIp) {
      const ip = trunc(e.clientIp);
      if (s.ips[ip] !== undefined) s.ips[ip]++;
      else if (Object.keys(s.ips).length < MAX_IPS) s.ips[ip] = 1;
      else s.overflow++;
    }
    const q = e.target.indexOf('?');
    const route = trunc(e.route ?? (q === -1 ? e.target : e.target.slice(0, q)));
    const method = e.method.slice(0, 16);
    const throttled = e.action === 'throttle' || e.signals.some((x) => x.category === 'ratelimit');
    const rt = bump(s.routes, `${method} ${route}`, () => ({ count: 0, method, throttled: 0 }), s, MAX_ROUTES);
    if (rt) {
      rt.count++;
      if (throttled) rt.throttled++;
    }
    const wouldBlock = e.monitor && (e.wouldBe === 'block' || e.wouldBe === 'ban');
    for (const sig of e.signals) {
      const r = bump(s.rules, trunc(sig.ruleId), () => ({ count: 0, category: trunc(sig.category), monitor: 0, wouldBlock: 0 }), s, MAX_RULES);
      if (!r) continue;
      r.count++;
      if (sig.monitor || e.monitor) r.monitor++;
      if (wouldBlock && (sig.monitor || e.reasons.includes(sig.ruleId))) r.wouldBlock++;
    }
  }

  function severityOf(e: SecurityEvent): ThreatLevel {
    const floors = cfg().severityByAction;
    const act = e.monitor ? e.wouldBe : e.action;
    let rank = LEVEL_RANK[e.level] ?? 0;
    if (act !== 'allow') rank = Math.max(rank, LEVEL_RANK[floors[act]]);
    return LEVELS[rank] ?? 'LOW';
  }

  function lookup(key: string): Entry | undefined {
    const hit = index.get(key);
    if (hit) return hit;
    const row = selLatest.get(key) as Row | undefined;
    if (!row) return undefined;
    const entry = { key, incident: toIncident(row) };
    remember(entry);
    return entry;
  }

  function correlate(e: SecurityEvent, dirty: Map<string, Entry>, changes: Map<string, IncidentChange>): void {
    if (e.action === 'allow' && e.wouldBe === 'allow') return;
    const c = cfg();
    const actor = actorOf(e, c.actorKeys);
    const scenario = scenarioOf(e);
    const key = `${actor.kind}\u0000${actor.value}\u0000${scenario}`;
    const sev = severityOf(e);
    const t = now();
    let entry = lookup(key);
    let type: IncidentChangeType;
    let previous: ThreatLevel | undefined;
    if (entry && e.time - entry.incident.lastSeen <= c.window && entry.incident.firstSeen - e.time <= c.window) {
      const inc = entry.incident;
      expireMute(inc, t);
      type = 'updated';
      if (inc.state === 'resolved') {
        inc.state = 'open';
        inc.generation++;
        delete inc.resolvedBy;
        delete inc.resolvedAt;
        delete inc.acknowledgedBy;
        delete inc.acknowledgedAt;
        type = 'reopened';
      }
      if (LEVEL_RANK[sev] > LEVEL_RANK[inc.severity]) {
        previous = inc.severity;
        inc.severity = sev;
        if (type === 'updated') type = 'escalated';
      }
      inc.firstSeen = Math.min(inc.firstSeen, e.time);
      inc.lastSeen = Math.max(inc.lastSeen, e.time);
      inc.updatedAt = t;
    } else {
      const inc: Incident = {
        id: randomUUID(),
        actor,
        scenario,
        severity: sev,
        state: 'open',
        firstSeen: e.time,
        lastSeen: e.time,
        events: 0,
        blocked: 0,
        sampleEventIds: [],
        stats: emptyStats(),
        generation: 0,
        createdAt: t,
        updatedAt: t,
      };
      entry = { key, incident: inc };
      remember(entry);
      type = 'opened';
      counters.opened++;
    }
    account(entry.incident, e);
    addSample(entry.incident, e.id, c.sampleEvents);
    counters.correlated++;
    dirty.set(entry.incident.id, entry);
    const prev = changes.get(entry.incident.id);
    if (!prev || CHANGE_RANK[type] > CHANGE_RANK[prev.type]) {
      const change: IncidentChange = { type, incident: entry.incident };
      const ps = previous ?? prev?.previousSeverity;
      if (type === 'escalated' && ps) change.previousSeverity = ps;
      changes.set(entry.incident.id, change);
    } else if (type === 'escalated' && prev.type === 'updated') {
      changes.set(entry.incident.id, { type, incident: entry.incident, ...(previous ? { previousSeverity: previous } : {}) });
    }
  }

  function drainOnce(): void {
    const batch = queue.length <= DRAIN_BATCH ? queue : queue.slice(0, DRAIN_BATCH);
    queue = queue.length <= DRAIN_BATCH ? [] : queue.slice(DRAIN_BATCH);
    const dirty = new Map<string, Entry>();
    const changes = new Map<string, IncidentChange>();
    for (const e of batch) {
      try {
        correlate(e, dirty, changes);
      } catch (err) {
        logger?.error({ err, eventId: e.id }, 'incidents: correlation failed for an event');
      }
    }
    if (dirty.size > 0) {
      try {
        writeMany([...dirty.values()]);
      } catch (err) {
        logger?.error({ err }, 'incidents: persisting a batch failed');
      }
    }
    if (listeners.size === 0) return;
    const t = now();
    for (const c of changes.values()) {
      // Duplicates ('updated') are published at most once a second per incident; every other change always.
      const e = dirty.get(c.incident.id);
      if (c.type === 'updated' && e && e.publishedAt !== undefined && t - e.publishedAt < UPDATE_PUBLISH_INTERVAL_MS) continue;
      if (e) e.publishedAt = t;
      publish({ ...c, incident: structuredClone(c.incident) });
    }
  }

  function schedule(): void {
    if (scheduled || closed) return;
    scheduled = setImmediate(() => {
      scheduled = undefined;
      drainOnce();
      if (queue.length > 0) schedule();
    });
  }

  const unsubscribe = opts.events?.subscribe((e) => service.ingest(e));

  function housekeeping(): void {
    const t = now();
    const window = cfg().window;
    const expired = db
      .prepare(`SELECT * FROM incidents WHERE state = 'muted' AND muted_until <= ? LIMIT 1000`)
      .all(t) as Row[];
    for (const r of expired) {
      const key = r.corr_key;
      const live = index.peek(key);
      const inc = live && live.incident.id === r.id ? live.incident : toIncident(r);
      if (expireMute(inc, t)) {
        inc.updatedAt = t;
        upsert.run(toRow(key, inc));
        publish({ type: 'unmuted', incident: structuredClone(inc) });
      }
    }
    index.sweep((v) => t - v.incident.lastSeen > window * 2 && v.incident.state !== 'muted');
    // Retention: incidents follow the events' retention (`events.retention`), in bounded batches.
    const cutoff = t - opts.policy().events.retention;
    db.prepare(`DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE last_seen < ? AND state != 'muted' LIMIT 10000)`).run(cutoff);
    for (const [id, k] of byId) if (index.peek(k)?.incident.id !== id) byId.delete(id);
  }
  const timer = setInterval(() => {
    try {
      housekeeping();
    } catch (err) {
      logger?.error({ err }, 'incidents: housekeeping failed');
    }
  }, SWEEP_INTERVAL_MS);
  timer.unref();

  function load(id: string): Entry | undefined {
    const k = byId.get(id);
    if (k) {
      const hit = index.peek(k);
      if (hit && hit.incident.id === id) return hit;
    }
    const row = selById.get(id) as Row | undefined;
    if (!row) return undefined;
    const entry = { key: row.corr_key, incident: toIncident(row) };
    // Only the latest incident of a key may live in the index.
    const live = index.peek(row.corr_key);
    if (!live || live.incident.lastSeen <= entry.incident.lastSeen) remember(entry);
    return entry;
  }

  function change(id: string, type: IncidentChangeType, apply: (inc: Incident, t: number) => void): Incident | undefined {
    const entry = load(id);
    if (!entry) return undefined;
    const t = now();
    expireMute(entry.incident, t);
    apply(entry.incident, t);
    entry.incident.updatedAt = t;
    upsert.run(toRow(entry.key, entry.incident));
    const copy = structuredClone(entry.incident);
    publish({ type, incident: structuredClone(copy) });
    return copy;
  }

  const service: IncidentService = {
    stats: counters,
    sweep: housekeeping,
    ingest(event: SecurityEvent): void {
      if (closed) return;
      if (queue.length >= cfg().queueLimit) {
        counters.dropped++;
        return;
      }
      queue.push(event);
      counters.queued = queue.length;
      schedule();
    },
    async flush(): Promise<void> {
      if (scheduled) {
        clearImmediate(scheduled);
        scheduled = undefined;
      }
      while (queue.length > 0) drainOnce();
      counters.queued = 0;
    },
    list(filter: IncidentFilter = {}): IncidentPage {
      const where: string[] = [];
      const args: (string | number)[] = [];
      const t = now();
      if (filter.state === 'muted') {
        where.push(`state = 'muted' AND muted_until > ?`);
        args.push(t);
      } else if (filter.state === 'open') {
        where.push(`(state = 'open' OR (state = 'muted' AND muted_until <= ?))`);
        args.push(t);
      } else if (filter.state) {
        where.push('state = ?');
        args.push(filter.state);
      }
      if (filter.severity) {
        where.push('severity >= ?');
        args.push(LEVEL_RANK[filter.severity]);
      }
      if (filter.actor) {
        const colon = filter.actor.indexOf(':');
        const kind = colon > 0 ? filter.actor.slice(0, colon) : '';
        if (['ip', 'api_key', 'user', 'fingerprint'].includes(kind)) {
          where.push('actor_kind = ? AND actor = ?');
          args.push(kind, filter.actor.slice(colon + 1));
        } else {
          where.push('actor = ?');
          args.push(filter.actor);
        }
      }
      if (filter.scenario) {
        where.push('scenario = ?');
        args.push(filter.scenario);
      }
      if (filter.from !== undefined) {
        where.push('last_seen >= ?');
        args.push(filter.from);
      }
      if (filter.to !== undefined) {
        where.push('first_seen <= ?');
        args.push(filter.to);
      }
      if (filter.cursor) {
        const c = decodeCursor(filter.cursor);
        if (!c) throw new RangeError('invalid cursor');
        where.push('(last_seen < ? OR (last_seen = ? AND id < ?))');
        args.push(c[0], c[0], c[1]);
      }
      const limit = Math.min(1000, Math.max(1, filter.limit ?? 100));
      const sql = `SELECT * FROM incidents ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY last_seen DESC, id DESC LIMIT ?`;
      const rows = db.prepare(sql).all(...args, limit + 1) as Row[];
      const items = rows.slice(0, limit).map((r) => {
        const live = index.peek(r.corr_key);
        const inc = live && live.incident.id === r.id ? structuredClone(live.incident) : toIncident(r);
        expireMute(inc, t);
        return inc;
      });
      const page: IncidentPage = { items };
      const last = items[items.length - 1];
      if (rows.length > limit && last) page.nextCursor = encodeCursor(last.lastSeen, last.id);
      return page;
    },
    get(id: string): Incident | undefined {
      const e = load(id);
      if (!e) return undefined;
      const copy = structuredClone(e.incident);
      expireMute(copy, now());
      return copy;
    },
    acknowledge(id, by) {
      return change(id, 'acknowledged', (inc, t) => {
        inc.state = 'acknowledged';
        delete inc.mutedUntil;
        inc.acknowledgedBy = by;
        inc.acknowledgedAt = t;
      });
    },
    resolve(id, by) {
      return change(id, 'resolved', (inc, t) => {
        inc.state = 'resolved';
        delete inc.mutedUntil;
        inc.resolvedBy = by;
        inc.resolvedAt = t;
      });
    },
    mute(id, until, by) {
      if (!(until > now())) throw new RangeError('mute until must be in the future');
      return change(id, 'muted', (inc, t) => {
        inc.state = 'muted';
        inc.mutedUntil = until;
        inc.acknowledgedBy = by;
        inc.acknowledgedAt = t;
      });
    },
    reopen(id, _by) {
      return change(id, 'reopened', (inc) => {
        if (inc.state === 'resolved') inc.generation++;
        inc.state = 'open';
        delete inc.mutedUntil;
        delete inc.resolvedBy;
        delete inc.resolvedAt;
      });
    },
    recommendations(id: string): Recommendation[] | undefined {
      const inc = service.get(id);
      if (!inc) return undefined;
      const t = now();
      const isBanned = (scope: DecisionScope, value: string): boolean => {
        if (!opts.decisions) return false;
        try {
          return opts.decisions.list({ scope, value }, t).some((d) => d.type === 'ban');
        } catch {
          return false;
        }
      };
      return recommend(inc, opts.policy(), isBanned);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close(): Promise<void> {
      if (closed) return;
      await service.flush();
      closed = true;
      unsubscribe?.();
      clearInterval(timer);
      listeners.clear();
    },
  };
  return service;
}
