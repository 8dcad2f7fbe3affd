import type { RequestContext } from '../core/context.ts';
import type { Decision, DecisionOrigin, DecisionScope, DecisionType } from '../core/types.ts';

/** Input for a new decision; the service fills id, times and escalation. Durations in ms. */
export interface NewDecision {
  scope: DecisionScope;
  value: string;
  type: DecisionType;
  origin: DecisionOrigin;
  source: string;
  reason: string;
  /** Base duration in ms before escalation; the policy default when omitted. */
  durationMs?: number;
  /** Apply repeat-offender escalation (default true for origin `rule`, false for `manual`). */
  escalate?: boolean;
}

/** Filter for listing decisions. */
export interface DecisionFilter {
  scope?: DecisionScope;
  value?: string;
  type?: DecisionType;
  origin?: DecisionOrigin;
  /** Include expired decisions still in the store (default false). */
  includeExpired?: boolean;
}

/**
 * Persistent decision storage: memory, SQLite (default), Redis (shared between instances), PostgreSQL.
 * The {@link DecisionService} keeps an in-memory index for hot-path lookups and uses the store for
 * persistence and (for shared stores) change notification.
 */
export interface DecisionStore {
  /** All decisions that have not expired at `now` (ms). Called on start to restore state after a restart. */
  loadActive(now: number): Promise<Decision[]>;
  put(d: Decision): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** Offence count for (scope, value, source) within the window ending now: the number of earlier decisions. */
  countOffences(scope: DecisionScope, value: string, source: string, since: number): Promise<number>;
  /** Deletes expired decisions older than `before` (ms); returns how many. */
  prune(before: number): Promise<number>;
  /** For shared stores: called when another instance adds or deletes a decision, and with resyncs. */
  onChange?(listener: (change: DecisionChange) => void): void;
  close(): Promise<void>;
}

/**
 * A change notified by a shared {@link DecisionStore}: a decision added (or re-announced) or deleted by another
 * instance, or `sync`: every decision active in the store as read at `readAt` (ms), after the subscription was
 * (re)established, when changes may have been missed. A decision created before `readAt` and absent from
 * `decisions` was deleted meanwhile.
 */
export type DecisionChange =
  | { op: 'put'; decision: Decision }
  | { op: 'delete'; id: string }
  | { op: 'sync'; decisions: Decision[]; readAt: number };

/**
 * Active decisions, checked first on every request. `match` is synchronous and O(1) for ip/api_key/user/
 * fingerprint scopes (hash lookup) and O(number of range decisions) for ranges.
 */
export interface DecisionService {
  /** The active decision (most severe, then longest) matching the request's client key, API key, user or fingerprint. */
  match(ctx: RequestContext, now?: number): Decision | undefined;
  /** Creates a decision with escalation applied and persists it (write-behind; never blocks the request). */
  add(input: NewDecision, now?: number): Decision;
  /** Removes a decision (unban); true when it existed. */
  remove(id: string): Promise<boolean>;
  list(filter?: DecisionFilter, now?: number): Decision[];
  get(id: string): Decision | undefined;
  /** Subscribe to added/removed decisions (live stream); returns an unsubscribe function. */
  subscribe(listener: (change: { op: 'put'; decision: Decision } | { op: 'delete'; id: string }) => void): () => void;
  close(): Promise<void>;
}
