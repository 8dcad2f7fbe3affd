import type { RequestContext } from '../../core/context.ts';
import type { Detector, DetectorFactory } from '../../core/detector.ts';
import type { Services } from '../../core/services.ts';
import type { ResponseInfo, ThreatLevel } from '../../core/types.ts';
import { migrate, type Migration, type SqliteDb } from '../../store/sqlite.ts';
import { KeyMemo } from '../../core/key-memo.ts';

/** Counters of one bucket (a minute, an hour or one second). */
export interface TrafficCounters {
  allowed: number;
  logged: number;
  throttled: number;
  /** `block` and `ban` verdicts. */
  blocked: number;
  /** Requests whose action was relaxed by monitor mode (would have been throttled/blocked). */
  monitored: number;
}

/** Dimensions of the bounded top-N tables. */
export type TopKind = 'endpoint' | 'client' | 'country' | 'category' | 'rule';

/** One row of a top-N list over a period. */
export interface TopRow {
  key: string;
  requests: number;
  blocked: number;
}

const zero = (): TrafficCounters & Record<Lowercase<ThreatLevel>, number> => ({ allowed: 0, logged: 0, throttled: 0, blocked: 0, monitored: 0, low: 0, medium: 0, high: 0, critical: 0 });
type Bucket = ReturnType<typeof zero>;
type TopEntry = { requests: number; blocked: number };
const TOP_KINDS: readonly TopKind[] = ['endpoint', 'client', 'country', 'category', 'rule'];
/** One minute's pending aggregates: counters and one bounded map per top-N dimension. */
type MinuteAgg = { t: number; bucket: Bucket } & Record<TopKind, Map<string, TopEntry>>;
const newMinute = (t: number): MinuteAgg => ({ t, bucket: zero(), endpoint: new Map(), client: new Map(), country: new Map(), category: new Map(), rule: new Map() });

/** Adds one request to a top-N map; new keys are ignored once the map holds {@link TOP_CAPACITY} keys. */
function bump(m: Map<string, TopEntry>, key: string, blocked: boolean): void {
  const e = m.get(key);
  if (e !== undefined) {
    e.requests++;
    if (blocked) e.blocked++;
  } else if (m.size < TOP_CAPACITY) {
    m.set(key, { requests: 1, blocked: blocked ? 1 : 0 });
  }
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
CREATE TABLE cp_traffic_minute (
  t INTEGER PRIMARY KEY, allowed INTEGER NOT NULL, logged INTEGER NOT NULL, throttled INTEGER NOT NULL, blocked INTEGER NOT NULL,
  monitored INTEGER NOT NULL, low INTEGER NOT NULL, medium INTEGER NOT NULL, high INTEGER NOT NULL, critical INTEGER NOT NULL);
CREATE TABLE cp_traffic_top (
  t INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, requests INTEGER NOT NULL, blocked INTEGER NOT NULL,
  PRIMARY KEY (t, kind, key));
`,
  },
];

const MINUTE = 60_000;
/** Distinct keys per dimension held between flushes; new keys past it are not tracked until the next flush. */
const TOP_CAPACITY = 2_000;
/** Keys per dimension written per minute and flush: the heaviest by requests and the heaviest by blocked requests. */
const TOP_WRITE = 50;
/** Endpoint keys (untemplated paths) are cut to this many characters. */
const KEY_MAX = 160;

/**
 * Traffic statistics over **all** requests (events only cover non-allowed ones): per-minute counters of
 * allowed / logged / throttled / blocked / monitored requests and threat levels, plus bounded top-N tables
 * (endpoints, clients, countries, categories, rules).
 *
 * Hot path: {@link record} is O(1) — a few integer increments and at most five Map updates. Memory is
 * bounded: counters per pending minute (normally 1–2) and at most {@link TOP_CAPACITY} keys per dimension
 * and minute between flushes (keys arriving after that are dropped from the top tables only — a heavy hitter is
 * almost always seen before the table fills, the usual trade-off of bounded heavy-hitter sketches).
 * Every `flushIntervalMs` (10 s) a timer adds the pending deltas to SQLite (`cp_traffic_minute`,
 * `cp_traffic_top`) in one transaction, off the request path.
 */
export class TrafficStats {
  private readonly db: SqliteDb;
  /** Aggregates of the minutes not yet flushed (normally the current one, sometimes the previous one). */
  private pending = new Map<number, MinuteAgg>();
  /** The minute the last request fell in (fast path: no Map lookup while the minute does not change). */
  private cur?: MinuteAgg;
  private second: TrafficCounters = zero();
  private readonly secondListeners = new Set<(t: number, c: TrafficCounters) => void>();
  private flushTimer?: NodeJS.Timeout;
  private secondTimer?: NodeJS.Timeout;
  private lastPrune = 0;
  /** Endpoint keys of templated routes, by method and route. */
  private readonly routeKeys = new KeyMemo(16, TOP_CAPACITY, 1024);
  private lastMethod = '';
  private lastPath = '';
  private lastPathKey = ' ';
  /** Data older than this is deleted at flush time (ms). */
  retentionMs = 30 * 86_400_000;

  constructor(db: SqliteDb, flushIntervalMs = 10_000) {
    this.db = db;
    migrate(db, 'controlplane_stats', MIGRATIONS);
    if (flushIntervalMs > 0) {
      this.flushTimer = setInterval(() => this.flushSafe(), flushIntervalMs);
      this.flushTimer.unref();
    }
  }

  /** Counts one finished request. O(1); never throws. */
  record(ctx: RequestContext, res: ResponseInfo, now = ctx.startedAt): void {
    const v = ctx.verdict;
    const action = v?.action ?? (res.status === 429 ? 'throttle' : res.status === 403 ? 'block' : 'allow');
    const t = now - (now % MINUTE);
    let m = this.cur;
    if (m === undefined || m.t !== t) {
      m = this.pending.get(t);
      if (m === undefined) {
        m = newMinute(t);
        this.pending.set(t, m);
      }
      this.cur = m;
    }
    const b = m.bucket;
    const blocked = action === 'block' || action === 'ban';
    const s = this.second;
    if (action === 'allow') (b.allowed++, s.allowed++);
    else if (action === 'log') (b.logged++, s.logged++);
    else if (action === 'throttle') (b.throttled++, s.throttled++);
    else (b.blocked++, s.blocked++);
    if (v?.monitor) (b.monitored++, s.monitored++);
    switch (v?.level ?? 'LOW') {
      case 'LOW': b.low++; break;
      case 'MEDIUM': b.medium++; break;
      case 'HIGH': b.high++; break;
      case 'CRITICAL': b.critical++; break;
    }
    bump(m.endpoint, ctx.route !== undefined ? this.routeKey(ctx.method, ctx.route) : this.pathKey(ctx.method, ctx.path), blocked);
    bump(m.client, ctx.clientKey, blocked);
    const country = ctx.geo?.country;
    if (country !== undefined) bump(m.country, country, blocked);
    if (action !== 'allow' || v?.monitor) {
      const reason = v?.reasons[0];
      if (reason !== undefined) {
        bump(m.rule, reason, blocked);
        const sig = ctx.signals;
        for (let i = 0; i < sig.length; i++) {
          if (sig[i]!.ruleId === reason) {
            bump(m.category, sig[i]!.category, blocked);
            break;
          }
        }
      }
    }
  }

  /** `METHOD route` for a templated route, built once per method and route (a busy endpoint's key is not rebuilt and re-hashed per request). */
  private routeKey(method: string, route: string): string {
    return this.routeKeys.get(method, route) ?? this.routeKeys.set(method, route, method + ' ' + route);
  }

  /** `METHOD path` (path cut to {@link KEY_MAX} chars) for an untemplated path; the last key is reused while method and path repeat. */
  private pathKey(method: string, path: string): string {
    if (path === this.lastPath && method === this.lastMethod) return this.lastPathKey;
    const key = method + ' ' + (path.length > KEY_MAX ? path.slice(0, KEY_MAX) : path);
    this.lastMethod = method;
    this.lastPath = path;
    this.lastPathKey = key;
    return key;
  }

  private flushSafe(): void {
    try {
      this.flush();
    } catch {
      /* the next flush retries with the data still pending */
    }
  }

  /** Writes pending deltas to SQLite (one transaction). Called by the timer and before queries. */
  flush(now = Date.now()): void {
    if (this.pending.size === 0) return;
    const pending = this.pending;
    const upMin = this.db.prepare(`INSERT INTO cp_traffic_minute (t, allowed, logged, throttled, blocked, monitored, low, medium, high, critical)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (t) DO UPDATE SET allowed = allowed + excluded.allowed, logged = logged + excluded.logged,
      throttled = throttled + excluded.throttled, blocked = blocked + excluded.blocked, monitored = monitored + excluded.monitored,
      low = low + excluded.low, medium = medium + excluded.medium, high = high + excluded.high, critical = critical + excluded.critical`);
    const upTop = this.db.prepare(`INSERT INTO cp_traffic_top (t, kind, key, requests, blocked) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (t, kind, key) DO UPDATE SET requests = requests + excluded.requests, blocked = blocked + excluded.blocked`);
    this.db.transaction(() => {
      for (const [t, m] of pending) {
        const b = m.bucket;
        upMin.run(t, b.allowed, b.logged, b.throttled, b.blocked, b.monitored, b.low, b.medium, b.high, b.critical);
        for (const kind of TOP_KINDS) {
          // Heaviest keys by requests, plus the heaviest by blocked (attackers are often not the busiest clients).
          const entries = [...m[kind].entries()];
          const pick = new Map<string, TopEntry>();
          for (const [k, e] of entries.sort((x, y) => y[1].requests - x[1].requests).slice(0, TOP_WRITE)) pick.set(k, e);
          for (const [k, e] of entries.sort((x, y) => y[1].blocked - x[1].blocked).slice(0, TOP_WRITE)) if (e.blocked > 0) pick.set(k, e);
          for (const [k, e] of pick) upTop.run(t, kind, k, e.requests, e.blocked);
        }
      }
      if (now - this.lastPrune > 3_600_000) {
        this.lastPrune = now;
        const before = now - this.retentionMs;
        this.db.prepare('DELETE FROM cp_traffic_minute WHERE t < ?').run(before);
        this.db.prepare('DELETE FROM cp_traffic_top WHERE t < ?').run(before);
      }
    })();
    this.pending = new Map();
    this.cur = undefined;
  }

  /**
   * Timeline of counters per bucket over [from, to) (ms), oldest first; empty buckets are omitted.
   * @param bucketMs - 60,000 (minute) or 3,600,000 (hour).
   */
  timeline(from: number, to: number, bucketMs: number): ({ t: number } & TrafficCounters)[] {
    this.flushSafe();
    return this.db
      .prepare(`SELECT (t / ?) * ? AS t, SUM(allowed) AS allowed, SUM(logged) AS logged, SUM(throttled) AS throttled, SUM(blocked) AS blocked,
        SUM(monitored) AS monitored FROM cp_traffic_minute WHERE t >= ? AND t < ? GROUP BY (t / ?) ORDER BY 1`)
      .all(bucketMs, bucketMs, from, to, bucketMs) as ({ t: number } & TrafficCounters)[];
  }

  /** Totals and threat-level distribution over [from, to). */
  totals(from: number, to: number): TrafficCounters & { levels: Record<ThreatLevel, number> } {
    this.flushSafe();
    const r = this.db
      .prepare(`SELECT COALESCE(SUM(allowed),0) AS allowed, COALESCE(SUM(logged),0) AS logged, COALESCE(SUM(throttled),0) AS throttled,
        COALESCE(SUM(blocked),0) AS blocked, COALESCE(SUM(monitored),0) AS monitored, COALESCE(SUM(low),0) AS low, COALESCE(SUM(medium),0) AS medium,
        COALESCE(SUM(high),0) AS high, COALESCE(SUM(critical),0) AS critical FROM cp_traffic_minute WHERE t >= ? AND t < ?`)
      .get(from, to) as Bucket;
    return {
      allowed: r.allowed, logged: r.logged, throttled: r.throttled, blocked: r.blocked, monitored: r.monitored,
      levels: { LOW: r.low, MEDIUM: r.medium, HIGH: r.high, CRITICAL: r.critical },
    };
  }

  /** The heaviest keys of one dimension over [from, to), by requests (or blocked for `byBlocked`). */
  topN(kind: TopKind, from: number, to: number, limit = 20, byBlocked = false): TopRow[] {
    this.flushSafe();
    return this.db
      .prepare(`SELECT key, SUM(requests) AS requests, SUM(blocked) AS blocked FROM cp_traffic_top WHERE kind = ? AND t >= ? AND t < ?
        GROUP BY key ORDER BY ${byBlocked ? 'SUM(blocked) DESC, ' : ''}SUM(requests) DESC LIMIT ?`)
      .all(kind, from, to, limit) as TopRow[];
  }

  /**
   * Subscribes to per-second counters (the live stream); the 1 s timer runs only while someone listens.
   * @returns an unsubscribe function.
   */
  onSecond(listener: (t: number, c: TrafficCounters) => void): () => void {
    this.secondListeners.add(listener);
    if (!this.secondTimer) {
      this.second = zero();
      this.secondTimer = setInterval(() => {
        const c = this.second;
        this.second = zero();
        const t = Date.now() - 1000;
        const out: TrafficCounters = { allowed: c.allowed, logged: c.logged, throttled: c.throttled, blocked: c.blocked, monitored: c.monitored };
        for (const l of this.secondListeners) {
          try {
            l(t, out);
          } catch {
            /* a listener must not stop the others */
          }
        }
      }, 1000);
      this.secondTimer.unref();
    }
    return () => {
      this.secondListeners.delete(listener);
      if (this.secondListeners.size === 0 && this.secondTimer) {
        clearInterval(this.secondTimer);
        this.secondTimer = undefined;
      }
    };
  }

  /** Flushes and stops the timers. */
  close(): void {
    this.flushSafe();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.secondTimer) clearInterval(this.secondTimer);
    this.flushTimer = undefined;
    this.secondTimer = undefined;
    this.secondListeners.clear();
  }
}

const instances = new WeakMap<SqliteDb, TrafficStats>();

/** The traffic statistics of a database: one instance per connection, shared by the detector (rebuilt on reload) and the control plane. */
export function trafficStatsFor(db: SqliteDb): TrafficStats {
  let s = instances.get(db);
  if (!s) {
    s = new TrafficStats(db);
    instances.set(db, s);
  }
  return s;
}

/**
 * Detector factory: counts every request in its response phase (including allow-listed ones) into
 * {@link TrafficStats}. Emits no signal. Registered last in `src/detectors/registry.ts` so it sees final verdicts.
 * Returns undefined when the control plane is disabled in the policy.
 */
export const trafficStatsDetector: DetectorFactory<Services> = (policy, services) => {
  if (!policy.controlPlane.enabled) return undefined;
  const stats = trafficStatsFor(services.db);
  stats.retentionMs = policy.events.retention;
  const d: Detector = {
    name: 'traffic-stats',
    runsOnAllowListed: true,
    observeResponse(ctx, res) {
      stats.record(ctx, res);
    },
  };
  return d;
};
