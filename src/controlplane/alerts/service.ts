import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Policy } from '../../config/schema.ts';
import type { ThreatLevel } from '../../core/types.ts';
import { migrate, type SqliteDb } from '../../store/sqlite.ts';
import type { IncidentService } from '../incidents/service.ts';
import { LEVEL_RANK, LEVELS, type Incident, type IncidentChange, type Recommendation } from '../incidents/types.ts';
import { maskSecret, maskUrl, type SecretBox } from '../secrets.ts';
import { backoffDelay, postWebhook, sendMail, type AttemptResult, type SmtpSettings } from './deliver.ts';
import { alertTitle, emailContent, jsonPayload, slackPayload } from './format.ts';
import type {
  Alert, AlertFilter, AlertKind, AlertStreamMessage, Channel, ChannelPatch, ChannelType, Delivery, DeliveryStatus, EmailView,
  MuteRule, NewChannel, NewMuteRule, Page, WebhookFormat,
} from './types.ts';

/** Deliveries running at once (webhooks and e-mails together): alerts are rare, and a slow receiver must not pile up sockets. */
const MAX_CONCURRENT = 4;
/** Deliveries waiting for a worker; past it new ones are recorded as failed (`queue full`). */
const MAX_QUEUED = 10_000;
/** Stored error text, characters. */
const MAX_ERROR = 500;

/** SQLite schema of the `alerts` namespace (channels, alerts, deliveries, mute rules). */
export const ALERT_MIGRATIONS = [
  {
    version: 1,
    up: `CREATE TABLE alert_channels (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, enabled INTEGER NOT NULL, min_severity INTEGER NOT NULL,
      config TEXT NOT NULL, secret TEXT NOT NULL, masked TEXT NOT NULL,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, created_by TEXT NOT NULL);
    CREATE TABLE alerts (
      id TEXT PRIMARY KEY, incident_id TEXT NOT NULL, generation INTEGER NOT NULL, severity INTEGER NOT NULL,
      kind TEXT NOT NULL, previous_severity INTEGER, title TEXT NOT NULL, actor_kind TEXT NOT NULL, actor TEXT NOT NULL,
      scenario TEXT NOT NULL, events INTEGER NOT NULL, blocked INTEGER NOT NULL, created_at INTEGER NOT NULL,
      state TEXT NOT NULL, acknowledged_by TEXT, acknowledged_at INTEGER, muted INTEGER NOT NULL, muted_by TEXT,
      UNIQUE (incident_id, generation, severity));
    CREATE INDEX alerts_created ON alerts (created_at, id);
    CREATE TABLE alert_deliveries (
      id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, alert_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
      response_status INTEGER, latency_ms INTEGER, error TEXT, payload TEXT, created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL, next_attempt_at INTEGER);
    CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id, created_at, id);
    CREATE INDEX alert_deliveries_status ON alert_deliveries (status);
    CREATE TABLE alert_mute_rules (
      id TEXT PRIMARY KEY, channel_id TEXT, actor TEXT, category TEXT, rule_id TEXT, until INTEGER, reason TEXT,
      created_by TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  },
];

interface ChannelRow {
  id: string; name: string; type: string; enabled: number; min_severity: number; config: string; secret: string; masked: string;
  created_at: number; updated_at: number; created_by: string;
}
interface AlertRow {
  id: string; incident_id: string; generation: number; severity: number; kind: string; previous_severity: number | null;
  title: string; actor_kind: string; actor: string; scenario: string; events: number; blocked: number; created_at: number;
  state: string; acknowledged_by: string | null; acknowledged_at: number | null; muted: number; muted_by: string | null;
}
interface DeliveryRow {
  id: string; channel_id: string; alert_id: string; status: string; attempts: number; response_status: number | null;
  latency_ms: number | null; error: string | null; payload: string | null; created_at: number; updated_at: number;
  next_attempt_at: number | null;
}
interface MuteRow {
  id: string; channel_id: string | null; actor: string | null; category: string | null; rule_id: string | null;
  until: number | null; reason: string | null; created_by: string; created_at: number;
}

/** Non-secret channel settings stored in clear. */
interface ChannelConfig {
  format?: WebhookFormat;
  to?: string[];
  from?: string;
  smtp?: { host: string; port: number; secure: boolean; requireTLS: boolean; tlsInsecure?: boolean };
}
/** Secret channel settings, stored encrypted (AAD `alert-channel:<id>`). */
interface ChannelSecret {
  url?: string;
  signingKey?: string;
  user?: string;
  password?: string;
}

/** Stored message for a delivery: a webhook body, or the e-mail content. Contains no secret. */
type StoredPayload = { kind: 'webhook'; body: string } | { kind: 'email'; subject: string; text: string; html: string };

/** A validation problem with a channel or mute rule input (maps to HTTP 400/404/409 in the routes). */
export class AlertInputError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = 'AlertInputError';
    this.statusCode = statusCode;
    this.code = code;
  }
}

/** Options of {@link createAlertService}. */
export interface AlertServiceOptions {
  db: SqliteDb;
  /** The incident service whose `opened` / `escalated` / `reopened` changes raise alerts. */
  incidents: IncidentService;
  logger?: Logger;
  /** Encrypts channel secrets at rest. */
  secrets: SecretBox;
  policy: () => Policy;
  now?: () => number;
  /** Random source in [0, 1) for backoff jitter (tests). */
  random?: () => number;
}

/**
 * Alerts and their delivery: channels (webhook — JSON or Slack format — and SMTP e-mail) with secrets encrypted at
 * rest, a delivery log, mute rules, and a live in-app stream (`subscribe`).
 */
export interface AlertService {
  listChannels(): Channel[];
  getChannel(id: string): Channel | undefined;
  /** @throws {AlertInputError} 400 when the settings do not match the type. */
  createChannel(input: NewChannel, by: string): Channel;
  /** @throws {AlertInputError} 400 on settings of another type. @returns undefined when unknown. */
  updateChannel(id: string, patch: ChannelPatch, by: string): Channel | undefined;
  /** Deletes a channel with its delivery log and its mute rules. */
  deleteChannel(id: string): boolean;
  /** Sends a synthetic test alert now (one attempt) and returns its delivery record. */
  testChannel(id: string): Promise<Delivery | undefined>;
  listDeliveries(channelId: string, q?: { status?: DeliveryStatus; cursor?: string; limit?: number }): Page<Delivery>;
  listAlerts(filter?: AlertFilter): Page<Alert>;
  getAlert(id: string): Alert | undefined;
  acknowledgeAlert(id: string, by: string): Alert | undefined;
  listMuteRules(): MuteRule[];
  getMuteRule(id: string): MuteRule | undefined;
  /** @throws {AlertInputError} 400 without any matcher, 404 for an unknown channel. */
  createMuteRule(input: NewMuteRule, by: string): MuteRule;
  deleteMuteRule(id: string): boolean;
  /** Raises an alert for an incident change if it alerts (exposed for tests; normally driven by the subscription). */
  handleChange(change: IncidentChange): Alert | undefined;
  /** Live stream: alerts (not muted), acknowledgements and delivery updates. Returns an unsubscribe function. */
  subscribe(listener: (m: AlertStreamMessage) => void): () => void;
  /** Resolves when no delivery is queued, running or waiting for a retry (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function b64c(a: number, id: string): string {
  return Buffer.from(JSON.stringify([a, id])).toString('base64url');
}
function unb64c(c: string): [number, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fallthrough */
  }
  throw new RangeError('invalid cursor');
}

function level(rank: number): ThreatLevel {
  return LEVELS[rank] ?? 'LOW';
}

/**
 * Creates the alert service: applies the `alerts` migrations, subscribes to incident changes and resumes
 * deliveries left pending or retrying by a previous run.
 * @throws when the migrations fail.
 */
export function createAlertService(opts: AlertServiceOptions): AlertService {
  const { db, logger, secrets } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  migrate(db, 'alerts', ALERT_MIGRATIONS);
  const cfg = () => opts.policy().controlPlane.alerts;
  const listeners = new Set<(m: AlertStreamMessage) => void>();
  let closed = false;

  // ---- channels ---------------------------------------------------------------------------------------------
  const aad = (id: string) => `alert-channel:${id}`;

  function view(r: ChannelRow): Channel {
    const c: Channel = {
      id: r.id, name: r.name, type: r.type as ChannelType, enabled: r.enabled === 1, minSeverity: level(r.min_severity),
      createdAt: r.created_at, updatedAt: r.updated_at, createdBy: r.created_by,
    };
    const masked = JSON.parse(r.masked) as Pick<Channel, 'webhook' | 'email'>;
    if (masked.webhook) c.webhook = masked.webhook;
    if (masked.email) c.email = masked.email;
    return c;
  }

  function maskedOf(type: ChannelType, config: ChannelConfig, secret: ChannelSecret): Pick<Channel, 'webhook' | 'email'> {
    if (type === 'webhook') {
      return { webhook: { url: maskUrl(secret.url ?? ''), signingKey: maskSecret(secret.signingKey ?? ''), format: config.format ?? 'json' } };
    }
    const smtp = config.smtp!;
    const email: EmailView = {
      to: config.to ?? [], from: config.from ?? '',
      smtp: { host: smtp.host, port: smtp.port, secure: smtp.secure, requireTLS: smtp.requireTLS },
    };
    if (secret.user !== undefined) email.smtp.user = maskSecret(secret.user);
    if (secret.password !== undefined) email.smtp.password = maskSecret(secret.password);
    return { email };
  }

  function checkUrl(url: string): void {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AlertInputError(400, 'BWK_VALIDATION', 'webhook.url is not a URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AlertInputError(400, 'BWK_VALIDATION', 'webhook.url must be http(s)');
  }

  const selChannel = db.prepare('SELECT * FROM alert_channels WHERE id = ?');
  const insChannel = db.prepare(`INSERT INTO alert_channels (id, name, type, enabled, min_severity, config, secret, masked, created_at, updated_at, created_by)
    VALUES (@id, @name, @type, @enabled, @min_severity, @config, @secret, @masked, @created_at, @updated_at, @created_by)`);
  const updChannel = db.prepare(`UPDATE alert_channels SET name = @name, enabled = @enabled, min_severity = @min_severity, config = @config,
    secret = @secret, masked = @masked, updated_at = @updated_at WHERE id = @id`);

  function secretOf(r: ChannelRow): ChannelSecret {
    return JSON.parse(secrets.decrypt(r.secret, aad(r.id))) as ChannelSecret;
  }

  // ---- mute rules -------------------------------------------------------------------------------------------
  function muteView(r: MuteRow, t: number): MuteRule {
    const m: MuteRule = { id: r.id, createdBy: r.created_by, createdAt: r.created_at, active: r.until === null || r.until > t };
    if (r.channel_id !== null) m.channelId = r.channel_id;
    if (r.actor !== null) m.actor = r.actor;
    if (r.category !== null) m.category = r.category;
    if (r.rule_id !== null) m.ruleId = r.rule_id;
    if (r.until !== null) m.until = r.until;
    if (r.reason !== null) m.reason = r.reason;
    return m;
  }

  function matches(r: MuteRow, inc: Incident): boolean {
    if (r.actor !== null && r.actor !== inc.actor.value && r.actor !== `${inc.actor.kind}:${inc.actor.value}`) return false;
    if (r.category !== null && r.category !== inc.scenario) return false;
    if (r.rule_id !== null && !Object.hasOwn(inc.stats.rules, r.rule_id)) return false;
    return true;
  }

  /** Active mute rules matching the incident, for all channels (`undefined` key) or per channel. */
  function mutesFor(inc: Incident, t: number): { global?: MuteRow; perChannel: Map<string, MuteRow> } {
    const rows = db.prepare('SELECT * FROM alert_mute_rules WHERE until IS NULL OR until > ?').all(t) as MuteRow[];
    const out: { global?: MuteRow; perChannel: Map<string, MuteRow> } = { perChannel: new Map() };
    for (const r of rows) {
      if (!matches(r, inc)) continue;
      if (r.channel_id === null) out.global ??= r;
      else if (!out.perChannel.has(r.channel_id)) out.perChannel.set(r.channel_id, r);
    }
    return out;
  }

  // ---- alerts ------------------------------------------------------------------------------------------------
  function alertView(r: AlertRow): Alert {
    const a: Alert = {
      id: r.id, incidentId: r.incident_id, kind: r.kind as AlertKind, severity: level(r.severity), generation: r.generation,
      title: r.title, actor: { kind: r.actor_kind as Alert['actor']['kind'], value: r.actor }, scenario: r.scenario,
      events: r.events, blocked: r.blocked, createdAt: r.created_at, state: r.state as Alert['state'], muted: r.muted === 1,
    };
    if (r.previous_severity !== null) a.previousSeverity = level(r.previous_severity);
    if (r.acknowledged_by !== null) a.acknowledgedBy = r.acknowledged_by;
    if (r.acknowledged_at !== null) a.acknowledgedAt = r.acknowledged_at;
    if (r.muted_by !== null) a.mutedBy = r.muted_by;
    return a;
  }

  const insAlert = db.prepare(`INSERT OR IGNORE INTO alerts (id, incident_id, generation, severity, kind, previous_severity, title, actor_kind,
      actor, scenario, events, blocked, created_at, state, muted, muted_by)
    VALUES (@id, @incident_id, @generation, @severity, @kind, @previous_severity, @title, @actor_kind, @actor, @scenario, @events, @blocked,
      @created_at, 'new', @muted, @muted_by)`);
  let alertsSincePrune = 0;

  function publish(m: AlertStreamMessage): void {
    for (const l of listeners) {
      try {
        l(m);
      } catch (err) {
        logger?.error({ err }, 'alerts: stream listener failed');
      }
    }
  }

  // ---- deliveries ---------------------------------------------------------------------------------------------
  const insDelivery = db.prepare(`INSERT INTO alert_deliveries (id, channel_id, alert_id, status, attempts, error, payload, created_at, updated_at)
    VALUES (@id, @channel_id, @alert_id, @status, 0, @error, @payload, @created_at, @created_at)`);
  const updDelivery = db.prepare(`UPDATE alert_deliveries SET status = @status, attempts = @attempts, response_status = @response_status,
    latency_ms = @latency_ms, error = @error, updated_at = @updated_at, next_attempt_at = @next_attempt_at,
    payload = CASE WHEN @status IN ('pending', 'retrying') THEN payload ELSE NULL END WHERE id = @id`);
  const selDelivery = db.prepare('SELECT * FROM alert_deliveries WHERE id = ?');
  let deliveriesSincePrune = 0;

  function deliveryView(r: DeliveryRow): Delivery {
    const d: Delivery = {
      id: r.id, channelId: r.channel_id, alertId: r.alert_id, status: r.status as DeliveryStatus, attempts: r.attempts,
      createdAt: r.created_at, updatedAt: r.updated_at,
    };
    if (r.response_status !== null) d.responseStatus = r.response_status;
    if (r.latency_ms !== null) d.latencyMs = r.latency_ms;
    if (r.error !== null) d.error = r.error;
    if (r.next_attempt_at !== null) d.nextAttemptAt = r.next_attempt_at;
    return d;
  }

  /** Masks every secret of the channel inside an error text, then clips it. */
  function scrub(text: string, s: ChannelSecret): string {
    let out = text;
    for (const v of [s.url, s.signingKey, s.password, s.user]) {
      if (v && v.length >= 4) out = out.split(v).join(v === s.url ? maskUrl(v) : maskSecret(v));
    }
    if (s.url) {
      try {
        const u = new URL(s.url);
        const tail = u.pathname + u.search;
        if (tail.length > 1) out = out.split(tail).join('/***');
      } catch {
        /* not a URL: nothing more to hide */
      }
    }
    return out.length > MAX_ERROR ? out.slice(0, MAX_ERROR - 1) + '…' : out;
  }

  const queue: string[] = [];
  const timers = new Map<string, NodeJS.Timeout>();
  let running = 0;
  let idleWaiters: (() => void)[] = [];

  function checkIdle(): void {
    if (running === 0 && queue.length === 0 && timers.size === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }

  function enqueue(id: string): void {
    if (closed) return;
    queue.push(id);
    pump();
  }

  function pump(): void {
    while (!closed && running < MAX_CONCURRENT && queue.length > 0) {
      const id = queue.shift()!;
      running++;
      attempt(id)
        .catch((err: unknown) => logger?.error({ err, deliveryId: id }, 'alerts: delivery crashed'))
        .finally(() => {
          running--;
          pump();
          checkIdle();
        });
    }
  }

  async function attempt(id: string, maxAttempts?: number): Promise<void> {
    const row = selDelivery.get(id) as DeliveryRow | undefined;
    if (!row || row.payload === null || (row.status !== 'pending' && row.status !== 'retrying')) return;
    const ch = selChannel.get(row.channel_id) as ChannelRow | undefined;
    const c = cfg();
    const limit = maxAttempts ?? c.maxAttempts;
    if (!ch) {
      updDelivery.run({ id, status: 'failed', attempts: row.attempts, response_status: null, latency_ms: null, error: 'channel deleted', updated_at: now(), next_attempt_at: null });
      return;
    }
    if (ch.enabled !== 1 && maxAttempts === undefined) {
      updDelivery.run({ id, status: 'suppressed', attempts: row.attempts, response_status: null, latency_ms: null, error: 'channel disabled', updated_at: now(), next_attempt_at: null });
      return;
    }
    let secret: ChannelSecret;
    try {
      secret = secretOf(ch);
    } catch (err) {
      updDelivery.run({ id, status: 'failed', attempts: row.attempts, response_status: null, latency_ms: null, error: `cannot decrypt channel secrets: ${(err as Error).message}`, updated_at: now(), next_attempt_at: null });
      logger?.error({ channelId: ch.id, code: (err as { code?: string }).code }, 'alerts: cannot decrypt channel secrets');
      return;
    }
    const config = JSON.parse(ch.config) as ChannelConfig;
    const payload = JSON.parse(row.payload) as StoredPayload;
    let result: AttemptResult;
    if (payload.kind === 'webhook') {
      result = await postWebhook({ url: secret.url ?? '', signingKey: secret.signingKey ?? '', body: payload.body, timeoutMs: c.timeout, allowPrivate: c.allowPrivateWebhooks });
    } else {
      const smtp: SmtpSettings = { ...config.smtp!, ...(secret.user !== undefined ? { user: secret.user } : {}), ...(secret.password !== undefined ? { password: secret.password } : {}) };
      result = await sendMail({ smtp, from: config.from ?? '', to: config.to ?? [], subject: payload.subject, text: payload.text, html: payload.html, timeoutMs: c.timeout });
    }
    const attempts = row.attempts + 1;
    const t = now();
    const error = result.error ? scrub(result.error, secret) : null;
    let status: DeliveryStatus;
    let next: number | null = null;
    if (result.ok) status = 'delivered';
    else if (result.retryable && attempts < limit) {
      status = 'retrying';
      const delay = backoffDelay(attempts, c.backoffBase, c.backoffMax, result.retryAfterS, random);
      next = t + delay;
      // After close() the row stays 'retrying' with its due time and resumes on the next start.
      if (!closed) {
        const timer = setTimeout(() => {
          timers.delete(id);
          enqueue(id);
          checkIdle();
        }, delay);
        timers.set(id, timer);
      }
    } else status = 'failed';
    updDelivery.run({ id, status, attempts, response_status: result.status, latency_ms: result.latencyMs, error, updated_at: t, next_attempt_at: next });
    const log = { deliveryId: id, channelId: ch.id, channel: ch.name, attempt: attempts, status, responseStatus: result.status, latencyMs: result.latencyMs, ...(error ? { error } : {}) };
    if (status === 'failed') logger?.warn(log, 'alerts: delivery failed');
    else logger?.debug(log, 'alerts: delivery attempt');
    const updated = selDelivery.get(id) as DeliveryRow | undefined;
    if (updated) publish({ type: 'delivery', delivery: deliveryView(updated) });
  }

  function pruneDeliveries(channelId: string): void {
    db.prepare(`DELETE FROM alert_deliveries WHERE channel_id = ? AND status NOT IN ('pending', 'retrying') AND id NOT IN
      (SELECT id FROM alert_deliveries WHERE channel_id = ? ORDER BY created_at DESC LIMIT ?)`).run(channelId, channelId, cfg().deliveriesPerChannel);
  }

  function payloadFor(ch: ChannelRow, alert: Alert, inc: Incident, recs: Recommendation[]): StoredPayload {
    const c = cfg();
    if (ch.type === 'webhook') {
      const config = JSON.parse(ch.config) as ChannelConfig;
      const body = config.format === 'slack' ? slackPayload(alert, inc, recs, c.dashboardUrl) : jsonPayload(alert, inc, recs, c.dashboardUrl);
      return { kind: 'webhook', body: JSON.stringify(body) };
    }
    return { kind: 'email', ...emailContent(alert, inc, recs, c.dashboardUrl) };
  }

  function createDelivery(ch: ChannelRow, alertId: string, payload: StoredPayload | undefined, status: DeliveryStatus, error?: string): string {
    const id = randomUUID();
    insDelivery.run({ id, channel_id: ch.id, alert_id: alertId, status, error: error ?? null, payload: payload ? JSON.stringify(payload) : null, created_at: now() });
    if (++deliveriesSincePrune >= 100) {
      deliveriesSincePrune = 0;
      for (const r of db.prepare('SELECT id FROM alert_channels').all() as { id: string }[]) pruneDeliveries(r.id);
    }
    return id;
  }

  function recsFor(inc: Incident): Recommendation[] {
    try {
      return opts.incidents.recommendations(inc.id) ?? [];
    } catch {
      return [];
    }
  }

  /** Per-channel token buckets (`maxPerMinute`, burst of the same size); one entry per channel, so bounded. */
  const buckets = new Map<string, { tokens: number; at: number }>();
  function takeToken(channelId: string, t: number): boolean {
    const rate = cfg().maxPerMinute;
    const b = buckets.get(channelId) ?? { tokens: rate, at: t };
    b.tokens = Math.min(rate, b.tokens + ((t - b.at) / 60_000) * rate);
    b.at = t;
    buckets.set(channelId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  function raise(change: IncidentChange): Alert | undefined {
    if (change.type !== 'opened' && change.type !== 'escalated' && change.type !== 'reopened') return undefined;
    const inc = change.incident;
    const t = now();
    const mutes = mutesFor(inc, t);
    const incidentMuted = inc.state === 'muted' && (inc.mutedUntil ?? 0) > t;
    const muted = incidentMuted || mutes.global !== undefined;
    const kind: AlertKind = change.type;
    const row = {
      id: randomUUID(), incident_id: inc.id, generation: inc.generation, severity: LEVEL_RANK[inc.severity], kind,
      previous_severity: change.previousSeverity ? LEVEL_RANK[change.previousSeverity] : null, title: alertTitle(kind, inc),
      actor_kind: inc.actor.kind, actor: inc.actor.value, scenario: inc.scenario, events: inc.events, blocked: inc.blocked,
      created_at: t, muted: muted ? 1 : 0, muted_by: mutes.global?.id ?? (incidentMuted ? 'incident' : null),
    };
    // Dedup: one alert per (incident, generation, severity); a duplicate insert is ignored.
    if (insAlert.run(row).changes === 0) return undefined;
    const alert = alertView({ ...row, state: 'new', acknowledged_by: null, acknowledged_at: null });
    if (++alertsSincePrune >= 100) {
      alertsSincePrune = 0;
      db.prepare('DELETE FROM alerts WHERE id NOT IN (SELECT id FROM alerts ORDER BY created_at DESC LIMIT ?)').run(cfg().maxAlerts);
    }
    if (muted) {
      logger?.info({ alertId: alert.id, incidentId: inc.id, mutedBy: alert.mutedBy }, 'alerts: alert muted');
      return alert;
    }
    publish({ type: 'alert', alert });
    const channels = db.prepare('SELECT * FROM alert_channels WHERE enabled = 1').all() as ChannelRow[];
    let recs: Recommendation[] | undefined;
    for (const ch of channels) {
      if (LEVEL_RANK[inc.severity] < ch.min_severity) continue;
      const m = mutes.perChannel.get(ch.id);
      if (m) {
        createDelivery(ch, alert.id, undefined, 'suppressed', `muted by rule ${m.id}`);
        continue;
      }
      if (!takeToken(ch.id, t)) {
        createDelivery(ch, alert.id, undefined, 'suppressed', `rate limited (${cfg().maxPerMinute}/min per channel)`);
        continue;
      }
      recs ??= recsFor(inc);
      const id = createDelivery(ch, alert.id, payloadFor(ch, alert, inc, recs), 'pending');
      if (queue.length >= MAX_QUEUED) {
        updDelivery.run({ id, status: 'failed', attempts: 0, response_status: null, latency_ms: null, error: 'delivery queue full', updated_at: now(), next_attempt_at: null });
        continue;
      }
      enqueue(id);
    }
    return alert;
  }

  const unsubscribe = opts.incidents.subscribe((change) => {
    try {
      service.handleChange(change);
    } catch (err) {
      logger?.error({ err, incidentId: change.incident.id }, 'alerts: raising an alert failed');
    }
  });

  // Resume deliveries interrupted by a restart.
  for (const r of db.prepare(`SELECT id, next_attempt_at FROM alert_deliveries WHERE status IN ('pending', 'retrying')`).all() as { id: string; next_attempt_at: number | null }[]) {
    const wait = Math.max(0, (r.next_attempt_at ?? 0) - now());
    if (wait === 0) enqueue(r.id);
    else {
      const timer = setTimeout(() => {
        timers.delete(r.id);
        enqueue(r.id);
      }, wait);
      timers.set(r.id, timer);
    }
  }

  function validateChannel(type: ChannelType, config: ChannelConfig, secret: ChannelSecret): void {
    if (type === 'webhook') {
      if (!secret.url) throw new AlertInputError(400, 'BWK_VALIDATION', 'webhook channels need webhook.url');
      checkUrl(secret.url);
    } else {
      if (!config.smtp || !config.from || !config.to || config.to.length === 0) {
        throw new AlertInputError(400, 'BWK_VALIDATION', 'email channels need email.to, email.from and email.smtp');
      }
    }
  }

  const service: AlertService = {
    listChannels() {
      return (db.prepare('SELECT * FROM alert_channels ORDER BY created_at, id').all() as ChannelRow[]).map(view);
    },
    getChannel(id) {
      const r = selChannel.get(id) as ChannelRow | undefined;
      return r ? view(r) : undefined;
    },
    createChannel(input, by) {
      const id = randomUUID();
      const t = now();
      let config: ChannelConfig;
      let secret: ChannelSecret;
      if (input.type === 'webhook') {
        if (!input.webhook || input.email) throw new AlertInputError(400, 'BWK_VALIDATION', 'webhook channels take a "webhook" object only');
        config = { format: input.webhook.format ?? 'json' };
        // No key given: generate one (receivers that verify signatures must then be given a key via PATCH).
        secret = { url: input.webhook.url, signingKey: input.webhook.signingKey ?? randomBytes(32).toString('base64url') };
      } else {
        if (!input.email || input.webhook) throw new AlertInputError(400, 'BWK_VALIDATION', 'email channels take an "email" object only');
        const s = input.email.smtp;
        const secure = s.secure ?? s.port === 465;
        // with credentials and no implicit TLS, STARTTLS is required unless turned off explicitly: otherwise a
        // server without it (or a man in the middle stripping it) receives the password in clear
        config = { to: input.email.to, from: input.email.from, smtp: { host: s.host, port: s.port, secure, requireTLS: s.requireTLS ?? (s.user !== undefined && !secure) } };
        secret = {};
        if (s.user !== undefined) secret.user = s.user;
        if (s.password !== undefined) secret.password = s.password;
      }
      validateChannel(input.type, config, secret);
      insChannel.run({
        id, name: input.name, type: input.type, enabled: input.enabled === false ? 0 : 1,
        min_severity: LEVEL_RANK[input.minSeverity ?? 'MEDIUM'], config: JSON.stringify(config),
        secret: secrets.encrypt(JSON.stringify(secret), aad(id)), masked: JSON.stringify(maskedOf(input.type, config, secret)),
        created_at: t, updated_at: t, created_by: by,
      });
      return service.getChannel(id)!;
    },
    updateChannel(id, patch, _by) {
      const r = selChannel.get(id) as ChannelRow | undefined;
      if (!r) return undefined;
      const type = r.type as ChannelType;
      if ((type === 'webhook' && patch.email) || (type === 'email' && patch.webhook)) {
        throw new AlertInputError(400, 'BWK_VALIDATION', `a ${type} channel cannot take ${type === 'webhook' ? 'email' : 'webhook'} settings`);
      }
      const config = JSON.parse(r.config) as ChannelConfig;
      const secret = secretOf(r);
      if (patch.webhook) {
        if (patch.webhook.url !== undefined) secret.url = patch.webhook.url;
        if (patch.webhook.signingKey !== undefined) secret.signingKey = patch.webhook.signingKey;
        if (patch.webhook.format !== undefined) config.format = patch.webhook.format;
      }
      if (patch.email) {
        if (patch.email.to !== undefined) config.to = patch.email.to;
        if (patch.email.from !== undefined) config.from = patch.email.from;
        const s = patch.email.smtp;
        if (s) {
          const cur = config.smtp!;
          config.smtp = { ...cur, ...(s.host !== undefined ? { host: s.host } : {}), ...(s.port !== undefined ? { port: s.port } : {}),
            ...(s.secure !== undefined ? { secure: s.secure } : {}), ...(s.requireTLS !== undefined ? { requireTLS: s.requireTLS } : {}) };
          if (s.user !== undefined) secret.user = s.user;
          if (s.password !== undefined) secret.password = s.password;
        }
      }
      validateChannel(type, config, secret);
      updChannel.run({
        id, name: patch.name ?? r.name, enabled: patch.enabled === undefined ? r.enabled : patch.enabled ? 1 : 0,
        min_severity: patch.minSeverity ? LEVEL_RANK[patch.minSeverity] : r.min_severity, config: JSON.stringify(config),
        secret: secrets.encrypt(JSON.stringify(secret), aad(id)), masked: JSON.stringify(maskedOf(type, config, secret)), updated_at: now(),
      });
      return service.getChannel(id);
    },
    deleteChannel(id) {
      const del = db.transaction(() => {
        const n = db.prepare('DELETE FROM alert_channels WHERE id = ?').run(id).changes;
        db.prepare('DELETE FROM alert_deliveries WHERE channel_id = ?').run(id);
        db.prepare('DELETE FROM alert_mute_rules WHERE channel_id = ?').run(id);
        return n > 0;
      });
      const ok = del();
      buckets.delete(id);
      for (const [k, timer] of timers) {
        if (!selDelivery.get(k)) {
          clearTimeout(timer);
          timers.delete(k);
        }
      }
      checkIdle();
      return ok;
    },
    async testChannel(id) {
      const r = selChannel.get(id) as ChannelRow | undefined;
      if (!r) return undefined;
      const t = now();
      const inc: Incident = {
        id: '00000000-0000-4000-8000-000000000000', actor: { kind: 'ip', value: '192.0.2.1' }, scenario: 'test', severity: 'LOW',
        state: 'open', firstSeen: t, lastSeen: t, events: 1, blocked: 0, sampleEventIds: [],
        stats: { ips: { '192.0.2.1': 1 }, routes: {}, rules: {}, actions: { log: 1 }, monitored: 0, overflow: 0 },
        generation: 0, createdAt: t, updatedAt: t,
      };
      const alert: Alert = {
        id: 'test', incidentId: inc.id, kind: 'test', severity: 'LOW', generation: 0, title: alertTitle('test', inc), actor: inc.actor,
        scenario: inc.scenario, events: 1, blocked: 0, createdAt: t, state: 'new', muted: false,
      };
      const did = createDelivery(r, 'test', payloadFor(r, alert, inc, []), 'pending');
      running++;
      try {
        await attempt(did, 1);
      } finally {
        running--;
        checkIdle();
      }
      return deliveryView(selDelivery.get(did) as DeliveryRow);
    },
    listDeliveries(channelId, q = {}) {
      const where = ['channel_id = ?'];
      const args: (string | number)[] = [channelId];
      if (q.status) {
        where.push('status = ?');
        args.push(q.status);
      }
      if (q.cursor) {
        const [c, cid] = unb64c(q.cursor);
        where.push('(created_at < ? OR (created_at = ? AND id < ?))');
        args.push(c, c, cid);
      }
      const limit = Math.min(1000, Math.max(1, q.limit ?? 100));
      const rows = db.prepare(`SELECT * FROM alert_deliveries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, limit + 1) as DeliveryRow[];
      const items = rows.slice(0, limit).map(deliveryView);
      const last = items[items.length - 1];
      return rows.length > limit && last ? { items, nextCursor: b64c(last.createdAt, last.id) } : { items };
    },
    listAlerts(f = {}) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (f.state) { where.push('state = ?'); args.push(f.state); }
      if (f.severity) { where.push('severity >= ?'); args.push(LEVEL_RANK[f.severity]); }
      if (f.incidentId) { where.push('incident_id = ?'); args.push(f.incidentId); }
      if (f.from !== undefined) { where.push('created_at >= ?'); args.push(f.from); }
      if (f.to !== undefined) { where.push('created_at <= ?'); args.push(f.to); }
      if (f.cursor) {
        const [c, cid] = unb64c(f.cursor);
        where.push('(created_at < ? OR (created_at = ? AND id < ?))');
        args.push(c, c, cid);
      }
      const limit = Math.min(1000, Math.max(1, f.limit ?? 100));
      const rows = db.prepare(`SELECT * FROM alerts ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, limit + 1) as AlertRow[];
      const items = rows.slice(0, limit).map(alertView);
      const last = items[items.length - 1];
      return rows.length > limit && last ? { items, nextCursor: b64c(last.createdAt, last.id) } : { items };
    },
    getAlert(id) {
      const r = db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as AlertRow | undefined;
      return r ? alertView(r) : undefined;
    },
    acknowledgeAlert(id, by) {
      const n = db.prepare(`UPDATE alerts SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ? WHERE id = ?`).run(by, now(), id).changes;
      if (n === 0) return undefined;
      const a = service.getAlert(id)!;
      publish({ type: 'alert.acknowledged', alert: a });
      return a;
    },
    listMuteRules() {
      const t = now();
      return (db.prepare('SELECT * FROM alert_mute_rules ORDER BY created_at DESC, id').all() as MuteRow[]).map((r) => muteView(r, t));
    },
    getMuteRule(id) {
      const r = db.prepare('SELECT * FROM alert_mute_rules WHERE id = ?').get(id) as MuteRow | undefined;
      return r ? muteView(r, now()) : undefined;
    },
    createMuteRule(input, by) {
      if (input.channelId === undefined && input.actor === undefined && input.category === undefined && input.ruleId === undefined) {
        throw new AlertInputError(400, 'BWK_VALIDATION', 'a mute rule needs at least one of channelId, actor, category, ruleId');
      }
      if (input.channelId !== undefined && !selChannel.get(input.channelId)) throw new AlertInputError(404, 'BWK_NOT_FOUND', 'unknown channel');
      const t = now();
      if (input.until !== undefined && input.until <= t) throw new AlertInputError(400, 'BWK_VALIDATION', 'until must be in the future');
      const id = randomUUID();
      db.prepare(`INSERT INTO alert_mute_rules (id, channel_id, actor, category, rule_id, until, reason, created_by, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(id, input.channelId ?? null, input.actor ?? null, input.category ?? null,
        input.ruleId ?? null, input.until ?? null, input.reason ?? null, by, t);
      return service.getMuteRule(id)!;
    },
    deleteMuteRule(id) {
      return db.prepare('DELETE FROM alert_mute_rules WHERE id = ?').run(id).changes > 0;
    },
    handleChange(change) {
      if (closed) return undefined;
      return raise(change);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      unsubscribe();
      // Pending retries stay 'retrying' in the store and resume on the next start.
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      queue.length = 0;
      // Let in-flight attempts finish (each is bounded by the per-attempt timeout).
      while (running > 0) await new Promise((r) => setTimeout(r, 10));
      listeners.clear();
      checkIdle();
    },
  };
  return service;
}
