import { scratchKey, type RequestContext } from '../../core/context.ts';
import { decide as defaultDecide, levelOf, statusOf, type DecideFn } from '../../core/decide.ts';
import { ACTION_RANK, type Action, type DecisionScope, type Signal, type ThreatLevel, type Verdict } from '../../core/types.ts';
import { LruMap } from '../../core/lru.ts';
import type { Policy } from '../../config/schema.ts';
import type { LevelAction, RiskPolicy } from './schema.ts';
import { clientIdentity } from '../features.ts';

/** Accumulated risk of one client (identity or IP): per-category risk at time `t`. */
export interface ClientRisk {
  /** Category → accumulated risk in [0, 1] at `t` (before decay). */
  cats: Map<string, number>;
  /** Last update, ms since epoch. */
  t: number;
}

/** Snapshot of one client's risk, for the control plane and explanations. */
export interface ClientRiskView {
  client: string;
  risk: number;
  level: ThreatLevel;
  categories: Record<string, number>;
}

/** Result of the risk step for one request (kept in `ctx.scratch` so a second decide call does not re-accumulate). */
interface RiskResult {
  requestRisk: number;
  clientRisk: number;
  client: string;
  top: string;
}

const SCRATCH = scratchKey<RiskResult>('risk');
const RISK_RULE = 'behavior.risk.';

/** Anomaly points → risk relative to the blocking threshold (threshold ↦ 0.8), as the default decide step does. */
function signalRisk(s: Signal, threshold: number): number {
  if (s.risk !== undefined) return s.risk;
  if (s.score > 0) return Math.min(1, (0.8 * s.score) / threshold);
  return 0;
}

function actionOf(a: LevelAction): { action: Action; ttl?: number } {
  return typeof a === 'string' ? { action: a } : { action: a.action, ttl: (a as { ttl?: number }).ttl };
}

function decayed(cr: ClientRisk, now: number, halfLife: number): void {
  const dt = now - cr.t;
  if (dt <= 0) return;
  const f = Math.pow(2, -dt / halfLife);
  for (const [k, v] of cr.cats) {
    const nv = v * f;
    if (nv < 0.001) cr.cats.delete(k);
    else cr.cats.set(k, nv);
  }
  cr.t = now;
}

function combined(cats: Map<string, number>): number {
  let p = 1;
  for (const v of cats.values()) p *= 1 - v;
  return 1 - p;
}

/**
 * Scope of the risk client: the API key once the upstream accepted it (`ctx.identityAccepted`), else a verified user (`ctx.userVerified`: a forged JWT `sub` must not
 * get another user banned), else the client IP key (so carrier-NAT users stay apart).
 * Its map key is {@link clientIdentity} (`k:…`, `u:…`, `ip:…`, the anomaly model's client key, computed once per request).
 */
function riskScope(ctx: RequestContext): DecisionScope {
  if (ctx.apiKey !== undefined && ctx.apiKey !== '' && ctx.identityAccepted) return 'api_key';
  if (ctx.user !== undefined && ctx.user !== '' && ctx.userVerified) return 'user';
  return 'ip';
}

/** The decision value of a risk client of scope `scope`. */
function riskValue(ctx: RequestContext, scope: DecisionScope): string {
  return scope === 'api_key' ? ctx.apiKey! : scope === 'user' ? ctx.user! : ctx.clientKey;
}

/**
 * Per-client risk state (bounded LRU), shared by the decide functions made for one services object so that a
 * policy reload keeps it.
 */
export class RiskState {
  readonly clients: LruMap<string, ClientRisk>;

  /** @param maxClients - LRU bound (about 200 bytes per client with one or two categories). */
  constructor(maxClients: number) {
    this.clients = new LruMap(maxClients);
  }

  /** Current risk of a client key (`k:…`, `u:…`, `ip:…`) after decay, or undefined when unknown. */
  view(client: string, halfLife: number, now = Date.now()): ClientRiskView | undefined {
    const cr = this.clients.peek(client);
    if (!cr) return undefined;
    const copy: ClientRisk = { cats: new Map(cr.cats), t: cr.t };
    decayed(copy, now, halfLife);
    const risk = combined(copy.cats);
    return { client, risk, level: levelOf(risk), categories: Object.fromEntries(copy.cats) };
  }
}

const registry = new WeakMap<object, RiskState>();

/** The risk state for a services object (created on first use). */
export function riskStateFor(owner: object, maxClients = 200_000): RiskState {
  let s = registry.get(owner);
  if (s === undefined) {
    s = new RiskState(maxClients);
    registry.set(owner, s);
  }
  return s;
}

/**
 * Creates the risk decide step: wraps the default {@link defaultDecide} (explicit actions, anomaly threshold,
 * monitor mode) with request and client risk, threat levels and per-level actions (`behavior.risk`).
 *
 * 1. Signals of detectors listed in `risk.monitorDetectors` are marked monitor (monitor mode per detector).
 * 2. The default decide step runs.
 * 3. Request risk: noisy-OR within and across categories of the non-monitor signals' risks (a signal's `risk`,
 *    else `0.8 · score / anomalyThreshold`), each multiplied by the category weight.
 * 4. Client risk (API key, else user, else IP): each category's accumulated risk decays with `halfLife`; when
 *    the request risk reaches `accumulateFrom`, every category of the request adds `accumulation · r_c`
 *    (noisy-OR), capped by `categoryCaps` (the anomaly model, positive model, baselines, geo and discovery
 *    cannot escalate a client on their own). Requests of clients under an active decision do not accumulate.
 * 5. The action of the client's level (`risk.actions`) escalates the verdict (never relaxes it); a `ban`
 *    adds a `behavior.risk.critical` signal with a ban on the client's scope (api_key, user or ip) and the
 *    level's ttl, which the gateway turns into a decision (escalated by the DecisionService for repeat
 *    offenders). `risk.monitor` or global monitor mode records the action as `wouldBe` only.
 * 6. Explanation: a `behavior.risk.<level>` signal (score 0) lists request and client risk, the top categories,
 *    the half-life and the level thresholds; its rule id leads the verdict's reasons when risk decided.
 *
 * Verdict `risk` is max(request risk, client risk, default risk); `level` = {@link levelOf}(risk).
 * @param owner - the services object (state survives policy reloads); any object in tests.
 */
export function createRiskDecide(owner: object = {}): DecideFn {
  return (ctx: RequestContext, policy: Policy): Verdict => {
    const b = policy.behavior as { enabled: boolean; risk?: RiskPolicy };
    const rp = b.risk;
    if (!b.enabled || !rp?.enabled) return defaultDecide(ctx, policy);
    if (rp.monitorDetectors.length > 0) {
      for (const s of ctx.signals) if (!s.monitor && rp.monitorDetectors.includes(s.detector)) s.monitor = true;
    }
    const base = defaultDecide(ctx, policy);
    if (ctx.allowListed) return base;
    const state = riskStateFor(owner, rp.maxClients);
    const now = ctx.startedAt;
    const threshold = policy.detection.anomalyThreshold;

    let result = ctx.scratch.get(SCRATCH);
    const scope = riskScope(ctx);
    if (result === undefined) {
      const perCat = new Map<string, number>();
      for (const s of ctx.signals) {
        if (s.monitor || s.ruleId.startsWith(RISK_RULE)) continue;
        const r = Math.min(1, signalRisk(s, threshold) * (rp.weights[s.category] ?? 1));
        if (r <= 0) continue;
        perCat.set(s.category, 1 - (1 - (perCat.get(s.category) ?? 0)) * (1 - r));
      }
      const requestRisk = combined(perCat);
      const key = clientIdentity(ctx);
      // most traffic carries no risk: skip the lookup while no client has any
      let cr = state.clients.size === 0 ? undefined : state.clients.get(key);
      if (cr === undefined && requestRisk >= rp.accumulateFrom && !ctx.matchedDecision) {
        cr = { cats: new Map(), t: now };
        state.clients.add(key, cr);
      }
      let clientRisk = 0;
      if (cr !== undefined) {
        decayed(cr, now, rp.halfLife);
        if (requestRisk >= rp.accumulateFrom && !ctx.matchedDecision) {
          for (const [cat, r] of perCat) {
            const cap = rp.categoryCaps[cat] ?? 1;
            const cur = cr.cats.get(cat) ?? 0;
            const next = Math.min(Math.max(cap, cur), 1 - (1 - cur) * (1 - rp.accumulation * r));
            cr.cats.set(cat, Math.max(cur, next));
          }
        }
        clientRisk = combined(cr.cats);
      }
      const top = cr
        ? [...cr.cats.entries()].sort((x, y) => y[1] - x[1]).slice(0, 4).map(([c, v]) => `${c}=${Math.round(v * 100) / 100}`).join(',')
        : '';
      result = { requestRisk, clientRisk, client: scope, top };
      ctx.scratch.set(SCRATCH, result);
    }

    const risk = Math.max(base.risk, result.requestRisk, result.clientRisk);
    const level = levelOf(risk);
    const clientLevel = levelOf(result.clientRisk);
    const { action: levelAction, ttl } = actionOf(rp.actions[clientLevel]);
    const v: Verdict = { ...base, risk, level, reasons: base.reasons.slice() };
    if (levelAction === 'allow' || ctx.matchedDecision) return v;

    const ruleId = RISK_RULE + clientLevel.toLowerCase();
    const monitor = rp.monitor || policy.mode === 'monitor';
    const halfLifeS = rp.halfLife / 1000;
    const explain: Signal = {
      ruleId,
      detector: 'risk',
      category: 'risk',
      score: 0,
      risk: result.clientRisk,
      monitor: monitor || undefined,
      message: `client risk ${result.clientRisk.toFixed(2)} is ${clientLevel}: ${levelAction}`,
      evidence: {
        location: { kind: 'client' },
        detail: {
          level: clientLevel,
          action: levelAction,
          clientRisk: Math.round(result.clientRisk * 1000) / 1000,
          requestRisk: Math.round(result.requestRisk * 1000) / 1000,
          client: result.client,
          categories: result.top,
          halfLifeS,
          accumulation: rp.accumulation,
          thresholds: 'LOW<0.4<=MEDIUM<0.6<=HIGH<0.8<=CRITICAL',
        },
      },
    };
    if (levelAction === 'ban') {
      explain.action = 'ban';
      // non-enumerable: the gateway reads it to create the decision, but event serialisation (spread/JSON)
      // skips it, so an API key used as the ban value never reaches the event store in clear
      Object.defineProperty(explain, 'ban', { value: { scope, value: riskValue(ctx, scope), durationMs: ttl ?? policy.decisions.defaultBanDuration }, enumerable: false, writable: true, configurable: true });
      if (explain.evidence?.detail) explain.evidence.detail.banS = Math.round((ttl ?? policy.decisions.defaultBanDuration) / 1000);
    } else if (levelAction !== 'log') explain.action = levelAction;
    // idempotent when decide runs twice for one request
    if (!ctx.signals.some((s) => s.ruleId === ruleId)) ctx.signals.push(explain);

    if (ACTION_RANK[levelAction] > ACTION_RANK[v.wouldBe]) v.wouldBe = levelAction;
    if (levelAction === 'log') {
      if (v.action === 'allow') {
        v.action = 'log';
        v.reasons.push(ruleId);
      }
    } else if (!monitor && ACTION_RANK[levelAction] > ACTION_RANK[v.action]) {
      v.action = levelAction;
      v.status = statusOf(levelAction);
      v.reasons.unshift(ruleId);
      if (levelAction === 'throttle') {
        // until the client risk decays below HIGH (0.6): halfLife · log2(risk / 0.6)
        v.retryAfterS = Math.max(1, Math.ceil(halfLifeS * Math.log2(Math.max(1, result.clientRisk / 0.6))));
      }
    } else if (monitor && ACTION_RANK[levelAction] > ACTION_RANK[v.action]) {
      v.monitor = true;
      v.reasons.push(ruleId);
    }
    return v;
  };
}
