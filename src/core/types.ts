/**
 * Core contracts of the decision pipeline. Every detector, store and plane builds on these shapes.
 *
 * Flow (modelled on CrowdSec: acquisition → parsing → scenarios → decisions → remediation):
 *   data plane builds a {@link RequestContext} → detectors emit {@link Signal}s in request order →
 *   the decide step turns signals into a {@link Verdict} → remediation (429/403/ban) → response phase
 *   lets detectors observe the upstream status and latency.
 */

/**
 * What the gateway does with a request, ordered from least to most severe. `ban` blocks this request
 * (403) and also creates a {@link Decision} of type `ban` for its client.
 */
export type Action = 'allow' | 'log' | 'throttle' | 'block' | 'ban';

/** Severity rank of each {@link Action}; a higher rank wins when signals disagree. */
export const ACTION_RANK: Readonly<Record<Action, number>> = { allow: 0, log: 1, throttle: 2, block: 3, ban: 4 };

/** Threat level of a request or client, from its risk score in [0, 1] (LOW < 0.4 ≤ MEDIUM < 0.6 ≤ HIGH < 0.8 ≤ CRITICAL). */
export type ThreatLevel = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/**
 * Rule severity, as in the OWASP Core Rule Set; each adds its anomaly points to the request's anomaly
 * score (CRS defaults: critical 5, error 4, warning 3, notice 2).
 */
export type Severity = 'critical' | 'error' | 'warning' | 'notice';

/** Anomaly points per {@link Severity} (OWASP CRS `tx.critical_anomaly_score` etc.). */
export const SEVERITY_SCORE: Readonly<Record<Severity, number>> = { critical: 5, error: 4, warning: 3, notice: 2 };

/** Scope a decision or rate-limit key applies to (CrowdSec's decision scope). */
export type DecisionScope = 'ip' | 'range' | 'api_key' | 'user' | 'fingerprint';

/** Decision type (CrowdSec's decision type). `captcha` is reserved: it is stored but enforced as `throttle`. */
export type DecisionType = 'ban' | 'throttle' | 'captcha';

/** Where a decision came from: a rule/detector of this gateway, or an operator (API, CLI, dashboard). */
export type DecisionOrigin = 'rule' | 'manual';

/**
 * A remediation that outlives one request, checked before any detector runs (CrowdSec's decision).
 * Times are milliseconds since the Unix epoch.
 */
export interface Decision {
  /** Stable id (UUID). */
  id: string;
  scope: DecisionScope;
  /** The scoped value: an IP (IPv6 aggregated to its prefix, e.g. `2001:db8::/64`), a CIDR for `range`, an API key, a user id or a fingerprint hash. */
  value: string;
  type: DecisionType;
  origin: DecisionOrigin;
  /** Rule id (origin `rule`) or operator name (origin `manual`) that created it. */
  source: string;
  /** Human-readable reason, e.g. `rate limit login-ip exceeded 5 times`. */
  reason: string;
  createdAt: number;
  /** Expiry in ms since epoch; the decision is ignored from then on. */
  expiresAt: number;
  /** How many decisions this value has had from the same source (1 = first offence); drives escalation. */
  offence: number;
}

/** Where in the request a value was found, e.g. `{ kind: 'query', name: 'q' }` or `{ kind: 'json', name: 'user.name' }`. */
export interface Location {
  kind:
    | 'path' | 'path_segment' | 'query_name' | 'query' | 'cookie_name' | 'cookie' | 'header_name' | 'header'
    | 'form_name' | 'form' | 'json_key' | 'json' | 'multipart_name' | 'multipart' | 'filename' | 'xml' | 'body'
    | 'method' | 'request_line' | 'client' | 'response';
  /** Parameter, header or key-path name; absent for whole-request locations. */
  name?: string;
}

/** What a rule matched: the location, the raw value and the transformed value it matched on (both truncated to 256 chars). */
export interface Evidence {
  location?: Location;
  value?: string;
  transformed?: string;
  /** The matched fragment or a short explanation (e.g. `token sequence s&1c`). */
  matched?: string;
  /** Free-form detail for behavioural detectors: windows, counts and thresholds that explain the signal. */
  detail?: Record<string, string | number | boolean>;
}

/**
 * One observation from a detector. Signals are the only output of detectors; the decide step turns
 * them into a {@link Verdict}.
 */
export interface Signal {
  /** Stable rule id, e.g. `ratelimit.default`, `sqli.942100`, `behavior.bruteforce.ip`. Unique across the registry. */
  ruleId: string;
  /** Detector name that emitted it, e.g. `ratelimit`, `sqli`, `bruteforce`. */
  detector: string;
  /** Category for reports and exclusions, e.g. `ratelimit`, `sqli`, `xss`, `bruteforce`, `protocol`. */
  category: string;
  /** Anomaly points this signal adds to the request's anomaly score (0 for signals that only request an action). */
  score: number;
  severity?: Severity;
  /** OWASP / CWE / MITRE tags, e.g. `OWASP_CRS/ATTACK-SQLI`, `CWE-89`. */
  tags?: readonly string[];
  /** Explicit action this signal asks for regardless of the anomaly score (rate limits, honeypots, deny lists). */
  action?: Action;
  /** For `action: 'ban'`: the decision to create (scope defaults to `ip`, duration to the policy's default). */
  ban?: { scope?: DecisionScope; value?: string; durationMs?: number };
  /** True when the rule is in monitor mode: recorded as "would act", never enforced. */
  monitor?: boolean;
  /** Risk contribution in [0, 1] for the client risk model (issue 4); optional. */
  risk?: number;
  message?: string;
  evidence?: Evidence;
  /** Id of the policy exclusion that disabled or downgraded this signal, when one applied. */
  exclusion?: string;
}

/**
 * Outcome of the decide step. `action` is what was enforced; `wouldBe` what enforcement mode would have done
 * (differs only in monitor mode).
 */
export interface Verdict {
  action: Action;
  wouldBe: Action;
  /** True when the enforced action was relaxed because of monitor mode (global or per rule). */
  monitor: boolean;
  /** Sum of `score` over non-monitor signals. */
  anomalyScore: number;
  /** Risk in [0, 1] and its level. */
  risk: number;
  level: ThreatLevel;
  /** HTTP status sent to the client: 429 for throttle, 403 for block/ban, 0 when forwarded. */
  status: number;
  /** Rule ids that decided the action (empty for allow). */
  reasons: string[];
  /** Seconds the client should wait (Retry-After) when throttled. */
  retryAfterS?: number;
  /** Decision created by this request (ban) or matched before detection. */
  decision?: Decision;
}

/** Response facts given to detectors in the response phase. */
export interface ResponseInfo {
  /** Upstream status (or the gateway's own status when it answered, e.g. 429, 502). */
  status: number;
  /** Time from request start to response headers, ms. */
  latencyMs: number;
  /** Response bytes sent to the client (may be approximate for streams). */
  bytes: number;
  /** True when the gateway answered itself (blocked/throttled/upstream error), false when the upstream did. */
  byGateway: boolean;
  /** Up to `responseSampleBytes` of the response body, only when a detector asked for it via `ctx.wantResponseBody`. */
  bodySample?: Buffer;
}

/** A detector's output for one phase: nothing, one signal, or several. */
export type DetectorResult = void | undefined | Signal | readonly Signal[];
