import type { Action, DecisionScope, DecisionType, ThreatLevel } from '../../core/types.ts';

/** Kind of identity an incident's actor is named by (see `controlPlane.incidents.actorKeys`). */
export type ActorKind = 'ip' | 'api_key' | 'user' | 'fingerprint';

/** Who an incident is about. `value` is the client key (IPv6 aggregated), masked API key, user id or fingerprint. */
export interface Actor {
  kind: ActorKind;
  value: string;
}

/**
 * Life cycle of an incident: `open` (new or recurring), `acknowledged` (an analyst is on it; still correlates and
 * still alerts on escalation), `resolved` (closed; a recurrence within the window re-opens it), `muted` (no
 * alerts until `mutedUntil`, then back to `open`).
 */
export type IncidentState = 'open' | 'acknowledged' | 'resolved' | 'muted';

/** Threat levels ordered from lowest to highest (same scale as {@link ThreatLevel}). */
export const LEVELS: readonly ThreatLevel[] = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
/** Rank of each threat level (LOW 0 … CRITICAL 3). */
export const LEVEL_RANK: Readonly<Record<ThreatLevel, number>> = { LOW: 0, MEDIUM: 1, HIGH: 2, CRITICAL: 3 };

/** Per-rule tally inside an incident. `wouldBlock` counts monitor-mode events whose would-be action was block/ban. */
export interface RuleTally {
  count: number;
  category: string;
  monitor: number;
  wouldBlock: number;
}

/** Per-route tally inside an incident (route template, or raw path when no template is known). */
export interface RouteTally {
  count: number;
  method: string;
  /** Events with a rate-limit signal or a throttle action on this route. */
  throttled: number;
}

/**
 * Aggregates kept per incident for explanations and recommendations. Every map is bounded
 * (256 IPs, 64 routes, 64 rules); past the bound new keys are counted in `overflow` only.
 */
export interface IncidentStats {
  /** Client IP → events. */
  ips: Record<string, number>;
  routes: Record<string, RouteTally>;
  rules: Record<string, RuleTally>;
  /** Events per enforced action. */
  actions: Partial<Record<Action, number>>;
  /** Events recorded in monitor mode. */
  monitored: number;
  /** Keys not recorded because a map was full. */
  overflow: number;
}

/** One correlated incident as stored and returned by the API. Times in ms since epoch. */
export interface Incident {
  id: string;
  actor: Actor;
  /** Scenario: the events' category (rule category or detector), e.g. `sqli`, `bruteforce`, `ratelimit`. */
  scenario: string;
  /** Highest threat level seen (after the per-action floors). */
  severity: ThreatLevel;
  state: IncidentState;
  /** While `state` is `muted`: alerts are suppressed until this time. */
  mutedUntil?: number;
  firstSeen: number;
  lastSeen: number;
  /** Events correlated. */
  events: number;
  /** Events whose enforced action was block or ban (403). */
  blocked: number;
  /** Bounded sample of event ids: the first ones and the latest ones. */
  sampleEventIds: string[];
  stats: IncidentStats;
  /** Times the incident was re-opened after being resolved (0 for a fresh one). */
  generation: number;
  createdAt: number;
  updatedAt: number;
  acknowledgedBy?: string;
  acknowledgedAt?: number;
  resolvedBy?: string;
  resolvedAt?: number;
}

/**
 * What changed on an incident, published to subscribers (alerts, live stream). `opened`, `escalated` and
 * `reopened` are the changes that alert; `updated` is a duplicate (same severity) and does not.
 */
export type IncidentChangeType = 'opened' | 'escalated' | 'reopened' | 'updated' | 'acknowledged' | 'resolved' | 'muted' | 'unmuted';

/** A change notification. `previousSeverity` is set for `escalated`. */
export interface IncidentChange {
  type: IncidentChangeType;
  incident: Incident;
  previousSeverity?: ThreatLevel;
}

/**
 * A machine-readable action a recommendation proposes:
 * - `decision`: create this decision (body of `POST /api/v1/decisions`, `ttlS` in seconds);
 * - `policy_patch`: apply these JSON Patch operations (RFC 6902) to the policy document, or, for simple
 *   object changes, the equivalent JSON merge patch (RFC 7396) in `mergePatch` for `PATCH /api/v1/policy`;
 * - `rule_mode`: set a rule's mode (`PUT /api/v1/rules/:ruleId/mode`).
 */
export type RecommendationAction =
  | { kind: 'decision'; decision: { scope: DecisionScope; value: string; type: DecisionType; ttlS: number; reason: string } }
  | { kind: 'policy_patch'; jsonPatch: { op: 'add' | 'replace'; path: string; value: unknown }[]; mergePatch?: Record<string, unknown> }
  | { kind: 'rule_mode'; ruleId: string; mode: 'enforce' | 'monitor' };

/** A recommendation on an incident, computed from its aggregates. `id` is stable for the same incident and content. */
export interface Recommendation {
  id: string;
  type: 'ban_range' | 'ban_actor' | 'rate_limit_route' | 'enforce_rule' | 'enforce_mode' | 'business_flow';
  title: string;
  /** Why: the figures that triggered it. */
  rationale: string;
  action: RecommendationAction;
  /** True when the action is a draft that an operator must review (e.g. a guessed business-flow rule). */
  review?: boolean;
}

/** Filter for listing incidents; all optional, AND-combined. Times in ms (on `lastSeen`). */
export interface IncidentFilter {
  state?: IncidentState;
  /** Minimum severity. */
  severity?: ThreatLevel;
  /** Actor value (exact), optionally `kind:value`. */
  actor?: string;
  scenario?: string;
  from?: number;
  to?: number;
  cursor?: string;
  /** 1–1000, default 100. */
  limit?: number;
}

/** A page of incidents, most recently active first. */
export interface IncidentPage {
  items: Incident[];
  nextCursor?: string;
}
