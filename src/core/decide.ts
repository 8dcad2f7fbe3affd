import type { RequestContext } from './context.ts';
import { ACTION_RANK, type Action, type Signal, type ThreatLevel, type Verdict } from './types.ts';
import type { Policy } from '../config/schema.ts';

/**
 * Threat level from a risk score in [0, 1]: LOW < 0.4 ≤ MEDIUM < 0.6 ≤ HIGH < 0.8 ≤ CRITICAL.
 */
export function levelOf(risk: number): ThreatLevel {
  if (risk < 0.4) return 'LOW';
  if (risk < 0.6) return 'MEDIUM';
  if (risk < 0.8) return 'HIGH';
  return 'CRITICAL';
}

/**
 * Maps an anomaly score to a risk in [0, 1] relative to the blocking threshold: the threshold itself is
 * risk 0.8 (HIGH/CRITICAL boundary), half of it 0.4, so "would block" always reads as at least CRITICAL.
 */
export function riskFromScore(score: number, threshold: number): number {
  if (score <= 0) return 0;
  return Math.min(1, (0.8 * score) / threshold);
}

/** Status code sent for an enforced action (0 = forward upstream). */
export function statusOf(action: Action): number {
  switch (action) {
    case 'throttle':
      return 429;
    case 'block':
    case 'ban':
      return 403;
    default:
      return 0;
  }
}

/**
 * A decide step: turns a request's signals into a verdict. The default is {@link decide}; the risk model
 * (issue 4) may wrap it to add per-client risk and per-level actions.
 */
export type DecideFn = (ctx: RequestContext, policy: Policy) => Verdict;

/**
 * Default decide step.
 *
 * 1. Allow-listed clients: allow (signals still recorded).
 * 2. A matching active decision: ban → block (403), throttle/captcha → throttle (429).
 * 3. Explicit actions requested by signals (rate limit, deny list, honeypot): the most severe wins.
 * 4. Anomaly scoring (OWASP CRS model): the sum of signal scores ≥ `detection.anomalyThreshold` → block.
 * 5. Monitor mode (global `mode: monitor` or the deciding rules' own `monitor`) relaxes the enforced action
 *    to `allow` and records `wouldBe`.
 */
export function decide(ctx: RequestContext, policy: Policy): Verdict {
  const threshold = policy.detection.anomalyThreshold;
  let enforced: Action = 'allow';
  let wouldBe: Action = 'allow';
  let score = 0;
  let monitorScore = 0;
  let maxRisk = 0;
  // allocated on the first reason: most requests have none
  let reasons: string[] | undefined;
  let monitorReasons: string[] | undefined;
  let retryAfterS: number | undefined;

  if (ctx.matchedDecision && !ctx.allowListed) {
    const d = ctx.matchedDecision;
    enforced = d.type === 'ban' ? 'block' : 'throttle';
    wouldBe = enforced;
    reasons = [`decision:${d.source}`];
    if (d.type !== 'ban') retryAfterS = Math.max(1, Math.ceil((d.expiresAt - Date.now()) / 1000));
    maxRisk = d.type === 'ban' ? 0.8 : 0.6;
  }

  const signals: readonly Signal[] = ctx.signals;
  for (let i = 0; i < signals.length; i++) {
    const s = signals[i]!;
    if (s.monitor) monitorScore += s.score;
    else score += s.score;
    if (s.risk !== undefined && s.risk > maxRisk) maxRisk = s.risk;
    if (s.action !== undefined && s.action !== 'allow') {
      if (s.monitor) {
        if (ACTION_RANK[s.action] > ACTION_RANK[wouldBe]) wouldBe = s.action;
        (monitorReasons ??= []).push(s.ruleId);
      } else {
        if (ACTION_RANK[s.action] > ACTION_RANK[enforced]) enforced = s.action;
        if (ACTION_RANK[s.action] > ACTION_RANK[wouldBe]) wouldBe = s.action;
        (reasons ??= []).push(s.ruleId);
      }
    }
  }
  if (score >= threshold && ACTION_RANK[enforced] < ACTION_RANK.block) {
    enforced = 'block';
    for (const s of signals) if (!s.monitor && s.score > 0 && s.action === undefined) (reasons ??= []).push(s.ruleId);
  }
  if (score + monitorScore >= threshold && ACTION_RANK[wouldBe] < ACTION_RANK.block) {
    wouldBe = 'block';
    for (const s of signals) if (s.monitor && s.score > 0 && s.action === undefined) (monitorReasons ??= []).push(s.ruleId);
  }
  if (ACTION_RANK[enforced] > ACTION_RANK[wouldBe]) wouldBe = enforced;

  const risk = Math.max(maxRisk, riskFromScore(score + monitorScore, threshold));
  let monitor = enforced !== wouldBe;
  if (ctx.allowListed) {
    enforced = 'allow';
    monitor = false;
    wouldBe = 'allow';
  } else if (policy.mode === 'monitor' && enforced !== 'allow' && enforced !== 'log') {
    monitor = true;
    enforced = 'allow';
  }
  if (enforced === 'throttle' && retryAfterS === undefined) {
    for (const s of signals) {
      const ra = s.evidence?.detail?.retryAfterS;
      if (!s.monitor && s.action === 'throttle' && typeof ra === 'number') retryAfterS = Math.max(retryAfterS ?? 0, ra);
    }
  }
  return {
    action: enforced,
    wouldBe,
    monitor,
    anomalyScore: score,
    risk,
    level: levelOf(risk),
    status: statusOf(enforced),
    reasons: enforced === 'allow' && monitor ? (monitorReasons ?? []).concat(reasons ?? []) : reasons?.length ? reasons : (monitorReasons ?? []),
    retryAfterS,
  };
}
