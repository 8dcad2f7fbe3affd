import type { Action, Signal, ThreatLevel } from '../core/types.ts';

/**
 * A security event: one request that was not plainly allowed (or a sampled allowed one), as recorded in the
 * event store and shown by the control plane. Strings that came from the request are truncated (target to
 * 2,048 chars, User-Agent to 512) and must be rendered as text, never as HTML.
 */
export interface SecurityEvent {
  /** Event id (UUID v7-like: time-ordered). */
  id: string;
  /** Request time, ms since epoch. */
  time: number;
  requestId: string;
  clientIp: string;
  /** Aggregated client key (IPv6 prefix) used for limits and bans. */
  clientKey: string;
  country?: string;
  asn?: number;
  method: string;
  /** Raw request-target, truncated. */
  target: string;
  /** Templated route when API discovery knows it. */
  route?: string;
  host?: string;
  userAgent?: string;
  /** API key in masked form (first 4 characters + `…` + 8 hex of its SHA-256): never the key itself. */
  apiKey?: string;
  user?: string;
  fingerprint?: string;
  /** HTTP status returned to the client (0 if the client went away first). */
  status: number;
  action: Action;
  wouldBe: Action;
  monitor: boolean;
  anomalyScore: number;
  risk: number;
  level: ThreatLevel;
  /** Matched rules with evidence. */
  signals: Signal[];
  /** Rule ids that decided the action. */
  reasons: string[];
  /** Decision created or matched by this request. */
  decisionId?: string;
  /** Upstream latency, ms (gateway answers: time to decide). */
  latencyMs: number;
  /** Primary category (category of the first deciding signal), for filtering. */
  category?: string;
}

/** Filter for event queries; all fields optional and combined with AND. Times in ms since epoch. */
export interface EventQuery {
  from?: number;
  to?: number;
  clientIp?: string;
  route?: string;
  ruleId?: string;
  category?: string;
  action?: Action;
  level?: ThreatLevel;
  monitor?: boolean;
  /** Full-text search over target, user agent and evidence. */
  text?: string;
  /** Opaque cursor from a previous page (events are returned newest first). */
  cursor?: string;
  /** Page size, 1–1000 (default 100). */
  limit?: number;
}

/** A page of events, newest first; `nextCursor` is absent on the last page. */
export interface EventPage {
  events: SecurityEvent[];
  nextCursor?: string;
}

/**
 * Persistent event storage (SQLite by default, PostgreSQL for scale-out). Writes come in batches from the
 * {@link EventSink}; they must be atomic per batch.
 */
export interface EventStore {
  /** Writes a batch atomically. Rejects on storage failure (the sink retries and counts). */
  insertBatch(events: readonly SecurityEvent[]): Promise<void>;
  query(q: EventQuery): Promise<EventPage>;
  /** Streams every event matching `q` (no paging limit), oldest first, in constant memory. */
  stream(q: Omit<EventQuery, 'cursor' | 'limit'>): AsyncIterable<SecurityEvent>;
  /** Deletes events older than `before` (ms since epoch); returns how many. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Where the data plane hands events: never blocks and never throws. A bounded in-memory queue flushed in
 * batches off the hot path; when full, events are dropped and counted (`bulwark_events_dropped_total`).
 */
export interface EventSink {
  push(event: SecurityEvent): void;
  /** Number of events waiting to be written. */
  readonly depth: number;
  /** Writes everything queued (used on shutdown and by tests). */
  flush(): Promise<void>;
  /** Subscribe to events as they are pushed (live stream for the control plane); returns an unsubscribe function. */
  subscribe(listener: (e: SecurityEvent) => void): () => void;
  close(): Promise<void>;
}
