import { loadRedisRateLimitStore } from './detectors/ratelimit.ts';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { Pipeline } from './core/pipeline.ts';
import type { Detector } from './core/detector.ts';
import type { Services } from './core/services.ts';
import { CidrSet } from './core/ip.ts';
import { loadPolicy, validatePolicy } from './config/load.ts';
import { ConfigError } from './config/errors.ts';
import type { Policy } from './config/schema.ts';
import { PolicyWatcher } from './config/watch.ts';
import { Metrics } from './observability/metrics.ts';
import { openDatabase } from './store/sqlite.ts';
import { buildDetectors } from './detectors/registry.ts';
import { createDecisionService } from './decisions/service.ts';
import { SqliteDecisionStore } from './decisions/sqlite-store.ts';
import type { RedisDecisionStore } from './decisions/redis-store.ts';
import type { PostgresEventStore } from './events/postgres-store.ts';
import { toSecurityEvent } from './events/record.ts';
import { BatchingEventSink } from './events/sink.ts';
import { SqliteEventStore } from './events/sqlite-store.ts';
import type { EventSink, EventStore } from './events/types.ts';
import type { DecisionService, DecisionStore } from './decisions/types.ts';
import { Gateway, type GatewayState } from './dataplane/gateway.ts';
import { Forwarder } from './dataplane/forward.ts';
import { createAdminServer, type ReadinessCheck } from './admin/server.ts';
import { startDemoApi, type DemoApi } from './demo/api.ts';
import { createRiskDecide } from './behavior/risk/decide.ts';

/** Options of {@link startBulwark}. Ports: 0 picks an ephemeral port (tests). */
export interface StartOptions {
  /** Policy YAML file; watched for changes (hot reload) unless `watch` is false. */
  policyFile?: string;
  /** Policy object (validated like a file; used by tests). Wins over `policyFile`'s content at start. */
  policy?: unknown;
  /** Upstream base URL; overrides `policy.upstreams` (also after reloads). */
  upstream?: string;
  /** Listen address of the gateway and admin listeners (default `0.0.0.0`; tests use `127.0.0.1`). */
  host?: string;
  /** Gateway port (default 8080). */
  gatewayPort?: number;
  /** Admin listener port (default 9090). */
  adminPort?: number;
  /** Start the bundled demo API when no upstream is configured (default true). */
  demo?: boolean;
  /** Demo API port (default 3001). The demo API always binds to loopback. */
  demoPort?: number;
  /** Directory of persistent state: `<dataDir>/bulwark.db` (required). */
  dataDir: string;
  /** pino level (default `info`; `silent` for tests). */
  logLevel?: string;
  /**
   * Redis URL for state shared between instances: rate-limit state and decisions (bans) then live in Redis
   * instead of memory / `bulwark.db`. Events stay in `bulwark.db` unless `postgresUrl` is set.
   */
  redisUrl?: string;
  /**
   * Prefix of every Redis key (default `bulwark:`), so several deployments or tests can share one Redis.
   * Checked by {@link redisPrefixProblem}. Ignored without `redisUrl`.
   */
  redisPrefix?: string;
  /**
   * PostgreSQL URL (`postgres://user:password@host:5432/db`) for security events shared between instances:
   * events are then written to and queried from `<postgresSchema>.events` there instead of `bulwark.db`
   * (control-plane list/search/export, incidents, retention). Decisions stay in Redis or `bulwark.db`.
   * Start fails when the server cannot be reached or the table cannot be created.
   */
  postgresUrl?: string;
  /**
   * Schema of the events table (default `public`; created when missing), so several deployments or tests can
   * share one database. Checked by {@link postgresSchemaProblem}. Ignored without `postgresUrl`.
   */
  postgresSchema?: string;
  /** Registered on the admin Fastify instance before it listens (control plane, dashboard). */
  plugins?: Array<(admin: FastifyInstance, app: BulwarkApp) => Promise<void>>;
  /** Watch `policyFile` for changes (default true when a file is given). */
  watch?: boolean;
  /** Reload on SIGHUP and log it (default false: the CLI turns it on; tests call `reload()`). */
  handleSignals?: boolean;
  /** Logger to use instead of a new pino logger (tests capturing logs). */
  logger?: Logger;
  /**
   * Extra detectors appended after the registry's (tests, embedding); called on start and on every reload
   * with the new policy.
   */
  detectors?: (policy: Policy, services: Services) => Detector[];
  /**
   * Build the registry's detectors (default true). False runs only `detectors` — used by the bench to
   * measure the data plane's own overhead, and by embedders with their own detector set.
   */
  useRegistry?: boolean;
}

/** A running Bulwark instance. */
export interface BulwarkApp {
  /** e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  adminUrl: string;
  /** Set when the bundled demo API was started. */
  demoUrl?: string;
  services: Services;
  /** The policy requests currently start on. */
  policy(): Policy;
  /** The pipeline requests currently start on. */
  pipeline(): Pipeline;
  /**
   * Reloads the policy and swaps it atomically (in-flight requests finish on the old one).
   * @param next - a policy object, a policy file path (which becomes the watched file), or nothing to
   *   re-read the current policy file (SIGHUP).
   * @throws {ConfigError} when the new policy is invalid; the old policy stays in force.
   */
  reload(next?: Policy | string): Promise<void>;
  admin: FastifyInstance;
  /** Stops listeners, finishes in-flight requests, closes detectors and stores, flushes events last. */
  close(): Promise<void>;
}

/** Substrings of object keys whose values are censored in logs. */
const SECRET_KEY_PARTS = ['secret', 'password', 'passwd', 'token', 'authorization', 'cookie', 'api-key', 'apikey', 'api_key'];

function isSecretKey(k: string): boolean {
  const l = k.toLowerCase();
  for (const p of SECRET_KEY_PARTS) if (l.includes(p)) return true;
  return false;
}

/** Deep copy of a log object with secret-looking keys censored (depth- and size-bounded). */
function redactDeep(v: unknown, depth: number): unknown {
  if (depth > 6 || typeof v !== 'object' || v === null || v instanceof Error || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.slice(0, 100).map((x) => redactDeep(x, depth + 1));
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, val] of Object.entries(v)) {
    if (++n > 200) break;
    out[k] = isSecretKey(k) ? '[redacted]' : redactDeep(val, depth + 1);
  }
  return out;
}

/**
 * The structured JSON logger (pino, to stdout). Any key containing `secret`, `password`, `token`,
 * `authorization`, `cookie` or `api-key`/`apikey` (e.g. `headers.authorization`, `x-api-key`,
 * `webhookSecret`) is logged as `[redacted]`, at any depth.
 */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { service: 'bulwark' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (obj) => redactDeep(obj, 0) as Record<string, unknown> },
  });
}

/** Default Redis key prefix (rate-limit state `bulwark:rl:…`, decisions `bulwark:dec:…`). */
export const DEFAULT_REDIS_PREFIX = 'bulwark:';

/**
 * Why `prefix` cannot be a Redis key prefix, or undefined when it can: 1–128 printable ASCII characters
 * without spaces (key names appear in `KEYS`/`SCAN` patterns and logs; spaces and control characters there
 * are a footgun, and a prefix is a name, not data).
 */
export function redisPrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return 'expected a non-empty key prefix such as bulwark: or bulwark-staging:';
  if (prefix.length > 128) return `expected at most 128 characters, got ${prefix.length}`;
  if (!/^[\x21-\x7e]+$/.test(prefix)) return 'expected printable ASCII characters without spaces, such as bulwark: or bulwark-staging:';
  return undefined;
}

/**
 * Why `schema` cannot name the PostgreSQL events schema, or undefined when it can: a plain identifier of at
 * most 63 characters (PostgreSQL silently truncates longer names, NAMEDATALEN − 1) made of ASCII letters,
 * digits and `_`, not starting with a digit or `pg_` (reserved for system schemas, CREATE SCHEMA refuses it).
 */
export function postgresSchemaProblem(schema: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) return 'expected 1-63 ASCII letters, digits or _ not starting with a digit, such as public or bulwark';
  if (/^pg_/i.test(schema)) return 'names starting with pg_ are reserved for PostgreSQL system schemas';
  return undefined;
}

/**
 * A connection URL (Redis, PostgreSQL) safe to log: the password (if any) and query parameters with
 * secret-looking names (`?password=`, `?sslpassword=`: pg also reads settings from the query) replaced by `***`, or
 * undefined when the text is not a URL (then nothing of it is logged: it could be anything, including a secret).
 */
export function redactUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (isSecretKey(k)) u.searchParams.set(k, '***');
    return u.href;
  } catch {
    return undefined;
  }
}

/** {@link redactUrl} under its earlier name (Redis URLs). */
export const redactRedisUrl = redactUrl;

/** Text of a connection error: Node's AggregateError (several addresses tried) has an empty message. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message !== '') return err.message;
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorText).join('; ');
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

/** Readiness check `name`: ok when `ping` resolves within 1000 ms; otherwise the reason, prefixed by `label`. */
function pingCheck(name: string, label: string, ping: () => Promise<unknown>): ReadinessCheck {
  return {
    name,
    check: async () => {
      try {
        await Promise.race([ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer within 1000 ms')), 1000).unref())]);
        return { ok: true };
      } catch (err) {
        return { ok: false, detail: `${label}: ${errorText(err)}` };
      }
    },
  };
}

function urlOf(a: AddressInfo): string {
  let host = a.address;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${a.port}`;
}

/**
 * Builds the detectors of `policy`. Detectors of the previous pipeline that implement `reconfigure`
 * survive the reload (keeping their per-client state, e.g. rate-limit cells) when the new policy still
 * enables a detector of that name: they get `reconfigure(policy)` and the freshly built twin is closed.
 * @returns the detector list and the old detectors that are no longer used (to close when idle).
 */
function rebuildDetectors(
  policy: Policy,
  services: Services,
  previous: readonly Detector[] | undefined,
  extra?: (policy: Policy, services: Services) => Detector[],
  useRegistry = true,
): { detectors: Detector[]; replaced: Detector[] } {
  const fresh = useRegistry ? buildDetectors(policy, services) : [];
  if (extra) fresh.push(...extra(policy, services));
  if (previous === undefined) return { detectors: fresh, replaced: [] };
  const reusable = new Map<string, Detector>();
  for (const d of previous) if (typeof d.reconfigure === 'function') reusable.set(d.name, d);
  const detectors: Detector[] = [];
  const kept = new Set<Detector>();
  for (const d of fresh) {
    const old = reusable.get(d.name);
    if (old !== undefined && !kept.has(old)) {
      old.reconfigure!(policy);
      kept.add(old);
      detectors.push(old);
      void Promise.resolve()
        .then(() => d.close?.())
        .catch(() => {});
    } else {
      detectors.push(d);
    }
  }
  return { detectors, replaced: previous.filter((d) => !kept.has(d)) };
}

/**
 * The composition root: opens `<dataDir>/bulwark.db`, creates the decision service (decisions in
 * `bulwark.db`, or in Redis under `<redisPrefix>dec:` when `redisUrl` is set), event sink and store (events
 * in `bulwark.db`, or in PostgreSQL `<postgresSchema>.events` when `postgresUrl` is set),
 * builds the detectors (src/detectors/registry.ts) into a {@link Pipeline}, starts the demo API when no
 * upstream is configured, the gateway (data plane) and the admin listener (with `plugins` registered),
 * watches the policy file, and prunes old events and decisions hourly.
 *
 * @throws {ConfigError} for an invalid policy, `redisPrefix` or `postgresSchema`; other errors when a port
 *   cannot be bound, the database cannot be opened, Redis cannot be read or PostgreSQL cannot be reached or
 *   its events table created at start (everything opened so far is closed again).
 */
export async function startBulwark(opts: StartOptions): Promise<BulwarkApp> {
  const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  let policyFile = opts.policyFile ? resolve(opts.policyFile) : undefined;
  let policy: Policy = opts.policy !== undefined ? validatePolicy(opts.policy) : loadPolicy(policyFile);
  const host = opts.host ?? '0.0.0.0';
  const dataDir = resolve(opts.dataDir);
  const redisPrefix = opts.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const prefixProblem = redisPrefixProblem(redisPrefix);
  if (prefixProblem !== undefined) throw new ConfigError('BWK_CONFIG_INVALID', [{ path: 'redisPrefix', message: prefixProblem }]);
  const postgresSchema = opts.postgresSchema ?? 'public';
  const schemaProblem = opts.postgresUrl ? postgresSchemaProblem(postgresSchema) : undefined;
  if (schemaProblem !== undefined) throw new ConfigError('BWK_CONFIG_INVALID', [{ path: 'postgresSchema', message: schemaProblem }]);
  const cleanups: Array<() => Promise<void> | void> = [];
  const runCleanups = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        logger.warn({ err }, 'shutdown step failed');
      }
    }
    cleanups.length = 0;
  };

  try {
    const metrics = new Metrics();
    const db = openDatabase(join(dataDir, 'bulwark.db'));
    cleanups.push(() => {
      db.close();
    });

    let eventStore: EventStore;
    let pgEvents: PostgresEventStore | undefined;
    if (opts.postgresUrl) {
      // Loaded only when configured (like ioredis): deployments on SQLite do not load pg's module graph.
      const { PostgresEventStore } = await import('./events/postgres-store.ts');
      const store = new PostgresEventStore(opts.postgresUrl, { schema: postgresSchema });
      cleanups.push(() => store.close());
      const where = redactUrl(opts.postgresUrl) ?? '(URL not shown: it does not parse)';
      try {
        await store.ready();
      } catch (err) {
        throw new Error(`event store: cannot use PostgreSQL at ${where} (schema ${postgresSchema}): ${errorText(err)}`, { cause: err });
      }
      logger.info({ store: 'postgres', postgres: redactUrl(opts.postgresUrl), schema: postgresSchema }, 'event store: PostgreSQL (shared between instances)');
      eventStore = pgEvents = store;
    } else {
      const store = new SqliteEventStore(db);
      cleanups.push(() => store.close());
      logger.info({ store: 'sqlite', file: db.name }, 'event store: SQLite (this instance only)');
      eventStore = store;
    }
    const events: EventSink = new BatchingEventSink(eventStore, {
      queueLimit: policy.events.queueLimit,
      batchSize: policy.events.batchSize,
      flushIntervalMs: policy.events.flushInterval,
      metrics,
      logger,
    });
    cleanups.push(() => events.close());

    let current: GatewayState | undefined;
    let decisionStore: DecisionStore;
    let redisStore: RedisDecisionStore | undefined;
    if (opts.redisUrl) {
      // Loaded only when configured (see loadRedisRateLimitStore in src/detectors/ratelimit.ts).
      const { RedisDecisionStore } = await import('./decisions/redis-store.ts');
      redisStore = new RedisDecisionStore(opts.redisUrl, {
        prefix: redisPrefix,
        // Offence history must outlive the offence window (escalation counts earlier bans) also after a
        // reload that lengthens it: twice the window, at least the store's default of 30 days.
        offenceRetentionMs: () => Math.max(30 * 86_400_000, 2 * (current?.policy ?? policy).decisions.offenceWindow),
      });
      decisionStore = redisStore;
    } else {
      decisionStore = new SqliteDecisionStore(db);
    }
    let decisions: DecisionService;
    try {
      decisions = await createDecisionService({
        store: decisionStore,
        policy: () => current?.policy ?? policy,
        metrics,
        logger,
      });
    } catch (err) {
      // the service never existed, so nothing else closes the store's connections
      await decisionStore.close().catch(() => undefined);
      throw err;
    }
    cleanups.push(() => decisions.close());
    if (redisStore && opts.redisUrl) {
      // Serve only once other instances' changes reach this one (bans added meanwhile are in the resync).
      await redisStore.ready();
      logger.info({ store: 'redis', redis: redactUrl(opts.redisUrl), prefix: redisPrefix }, 'decision store: Redis (shared between instances)');
    } else {
      logger.info({ store: 'sqlite', file: db.name }, 'decision store: SQLite (this instance only)');
    }

    const services: Services = { logger, metrics, decisions, events, eventStore, db, dataDir, redisUrl: opts.redisUrl, redisPrefix };
    if (opts.redisUrl) await loadRedisRateLimitStore();

    let demo: DemoApi | undefined;
    const upstreamsOf = (p: Policy): string[] => (opts.upstream ? [opts.upstream] : demo && p.upstreams.length === 0 ? [demo.url] : p.upstreams);
    if (!opts.upstream && policy.upstreams.length === 0) {
      if (opts.demo === false) throw new ConfigError('BWK_CONFIG_INVALID', [{ path: 'upstreams', message: 'no upstream configured (set --upstream, BULWARK_UPSTREAM or upstreams) and the demo API is disabled' }], policyFile);
      demo = await startDemoApi({ port: opts.demoPort ?? 3001, host: '127.0.0.1' });
      cleanups.push(() => demo!.close());
      logger.info({ url: demo.url }, 'demo API started (no upstream configured)');
    }

    const observer = {
      detectorError: (detector: string, err: unknown): void => {
        metrics.detectorErrors.inc({ detector });
        logger.warn({ err, detector }, 'detector failed; request continued without its signal');
      },
    };
    const makeForwarder = (p: Policy): Forwarder =>
      new Forwarder({ upstreams: upstreamsOf(p), connections: p.proxy.connections, headersTimeout: p.proxy.headersTimeout, bodyTimeout: p.proxy.bodyTimeout });
    const sameForwarding = (a: Policy, b: Policy): boolean =>
      JSON.stringify([upstreamsOf(a), a.proxy]) === JSON.stringify([upstreamsOf(b), b.proxy]);

    const first = rebuildDetectors(policy, services, undefined, opts.detectors, opts.useRegistry);
    current = {
      policy,
      pipeline: new Pipeline({ policy, detectors: first.detectors, observer, decide: createRiskDecide(services) }),
      trusted: new CidrSet(policy.trustedProxies),
      forwarder: makeForwarder(policy),
    };
    const gateway = new Gateway({ state: current, services, toEvent: toSecurityEvent });
    cleanups.push(async () => {
      await Promise.all([current!.pipeline.close(), current!.forwarder.close()]);
    });

    const admin = createAdminServer({
      metrics,
      beforeScrape: () => {
        metrics.eventQueueDepth.set(events.depth);
        metrics.activeDecisions.set(decisions.list().length);
      },
      readiness: [
        { name: 'policy', check: () => ({ ok: current !== undefined, detail: policyFile ?? 'built-in defaults' }) },
        { name: 'store', check: () => ({ ok: db.open, detail: db.open ? undefined : 'database closed' }) },
        // decisions (and rate limits) in Redis, events (control-plane queries, incidents) in PostgreSQL: not
        // ready while the store does not answer
        ...(redisStore === undefined ? [] : [pingCheck('redis', 'Redis', () => redisStore!.ping())]),
        ...(pgEvents === undefined ? [] : [pingCheck('postgres', 'PostgreSQL', () => pgEvents!.ping())]),
        {
          name: 'upstream',
          check: async () => {
            const f = gateway.state.forwarder;
            const ok = await f.probe(1000);
            return { ok, detail: ok ? f.origins.join(', ') : `no upstream reachable (${f.origins.join(', ')})` };
          },
        },
      ],
    });
    cleanups.push(() => admin.close());

    let reloading: Promise<void> = Promise.resolve();
    const doReload = async (next?: Policy | string): Promise<void> => {
      let p: Policy;
      try {
        if (next === undefined) {
          p = policyFile ? loadPolicy(policyFile) : opts.policy !== undefined ? validatePolicy(opts.policy) : loadPolicy();
        } else if (typeof next === 'string') {
          p = loadPolicy(resolve(next));
        } else {
          p = validatePolicy(next);
        }
      } catch (err) {
        metrics.policyReloads.inc({ result: 'error' });
        if (err instanceof ConfigError) {
          for (const i of err.issues) logger.error({ code: err.code, path: i.path, reason: i.message, file: err.file }, `policy reload rejected: ${i.path || '(root)'}: ${i.message}`);
        } else logger.error({ err }, 'policy reload failed');
        throw err;
      }
      if (typeof next === 'string') {
        policyFile = resolve(next);
        if (watcher && watcher.file !== policyFile) {
          watcher.close();
          watcher = new PolicyWatcher(policyFile, onFileChange);
          watcher.start();
        }
      }
      const old = current!;
      const rebuilt = rebuildDetectors(p, services, old.pipeline.detectors, opts.detectors, opts.useRegistry);
      const forwarder = sameForwarding(old.policy, p) ? old.forwarder : makeForwarder(p);
      const state: GatewayState = {
        policy: p,
        pipeline: new Pipeline({ policy: p, detectors: rebuilt.detectors, observer, decide: createRiskDecide(services) }),
        trusted: new CidrSet(p.trustedProxies),
        forwarder,
      };
      current = state;
      policy = p;
      gateway.swap(state, (retired) => {
        for (const d of rebuilt.replaced) void Promise.resolve(d.close?.()).catch((err: unknown) => observer.detectorError(d.name, err));
        if (retired.forwarder !== state.forwarder) void retired.forwarder.close();
      });
      metrics.policyReloads.inc({ result: 'success' });
      logger.info({ file: policyFile, mode: p.mode, detectors: rebuilt.detectors.map((d) => d.name) }, 'policy reloaded');
    };
    const reload = (next?: Policy | string): Promise<void> => {
      const r = reloading.then(() => doReload(next));
      reloading = r.catch(() => {});
      return r;
    };
    const onFileChange = (): void => {
      reload().catch(() => {
        /* logged and counted in doReload; the old policy stays */
      });
    };
    let watcher: PolicyWatcher | undefined;
    if (policyFile && opts.watch !== false && existsSync(policyFile)) {
      watcher = new PolicyWatcher(policyFile, onFileChange);
      watcher.start();
      cleanups.push(() => watcher?.close());
    }
    let onHup: (() => void) | undefined;
    if (opts.handleSignals) {
      onHup = () => {
        logger.info('SIGHUP: reloading policy');
        onFileChange();
      };
      process.on('SIGHUP', onHup);
      cleanups.push(() => {
        if (onHup) process.removeListener('SIGHUP', onHup);
      });
    }

    // retention: events older than events.retention, decisions expired longer than the offence window
    const prune = async (): Promise<void> => {
      try {
        const now = Date.now();
        const p = current!.policy;
        const ev = await eventStore.prune(now - p.events.retention);
        // expired decisions are kept for one offence window: escalation counts earlier offences
        const dec = await decisionStore.prune(now - p.decisions.offenceWindow);
        if (ev > 0 || dec > 0) logger.info({ events: ev, decisions: dec }, 'retention: pruned old events and expired decisions');
      } catch (err) {
        logger.warn({ err }, 'retention prune failed');
      }
    };
    const pruneTimer = setInterval(() => void prune(), 3_600_000);
    pruneTimer.unref();
    cleanups.push(() => clearInterval(pruneTimer));

    // shutdown order (cleanups run in reverse): gateway → timers/watchers → admin → pipeline/forwarder →
    // demo → decisions → events (flush) → event store → db
    let closing: Promise<void> | undefined;
    const app: BulwarkApp = {
      gatewayUrl: '',
      adminUrl: '',
      demoUrl: demo?.url,
      services,
      policy: () => current!.policy,
      pipeline: () => current!.pipeline,
      reload,
      admin,
      close: async () => {
        // stop taking traffic first, then stores; events are flushed last so nothing recorded is lost
        if (watcher) watcher.close();
        await gateway.close();
        closing ??= runCleanups();
        await closing;
      },
    };

    for (const plugin of opts.plugins ?? []) await plugin(admin, app);

    const gwAddr = await gateway.listen(opts.gatewayPort ?? 8080, host);
    cleanups.push(async () => {
      await gateway.close();
    });
    app.gatewayUrl = urlOf(gwAddr);
    await admin.listen({ port: opts.adminPort ?? 9090, host });
    app.adminUrl = urlOf(admin.server.address() as AddressInfo);
    void prune();

    logger.info({ gateway: app.gatewayUrl, admin: app.adminUrl, demo: app.demoUrl, upstreams: current.forwarder.origins, mode: policy.mode }, 'bulwark started');
    return app;
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

