import { boundedCopy } from '../../core/strings.ts';
import type { Detector, DetectorFactory } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { ResponseInfo, Signal } from '../../core/types.ts';
import type { Services } from '../../core/services.ts';
import type { Policy } from '../../config/schema.ts';
import { LruMap } from '../../core/lru.ts';
import { Ewma, RollingHistogram, round } from './stats.ts';
import type { BaselinesPolicy } from './schema.ts';

/** Per-endpoint baseline state. */
interface EndpointBaseline {
  tickStart: number;
  /** Requests (all, including those the gateway answered) in the current interval. */
  count: number;
  /** Upstream responses and upstream errors (status ≥ 400) in the current interval. */
  upstream: number;
  errors: number;
  rate: Ewma;
  errorRatio: Ewma;
  latency: Ewma;
  hist: RollingHistogram;
  /** Alerts are active until these times (ms). */
  surgeUntil: number;
  errorUntil: number;
  latencyUntil: number;
  lastRateZ: number;
  lastErrorZ: number;
  lastLatencyZ: number;
  alerts: number;
}

/** Current statistics of one endpoint, for the control plane. */
export interface EndpointStats {
  endpoint: string;
  /** Requests per interval: EWMA mean/std, samples; z of the last closed interval. */
  rate: { mean: number; std: number; n: number; lastZ: number; perSecond: number };
  errorRatio: { mean: number; std: number; n: number; lastZ: number };
  /** Latency EWMA (ms) and rolling percentiles (ms) over `percentileWindow`. */
  latency: { mean: number; std: number; n: number; lastZ: number; p50?: number; p95?: number; p99?: number };
  alerts: { surge: boolean; errorSpike: boolean; latencySpike: boolean; total: number };
}

/** Most intervals replayed as zero-traffic samples after an idle gap (bounds work after long idleness). */
const MAX_IDLE_SAMPLES = 10;

/**
 * Per-endpoint statistical baselines (EWMA control charts). Rate and error ratio are sampled per `interval`;
 * latency per response. After `warmup` samples, a z-score above `zThreshold` raises an alert that stays active
 * for one interval: requests to the endpoint then carry a risk-only signal (`behavior.baseline.surge`,
 * `behavior.baseline.error_spike`; score 0, never blocks alone). A surge is also detected before the interval
 * closes, as soon as the running count exceeds the control limit. While an alert is active the baseline
 * adapts ten times slower, so an ongoing attack is not absorbed into "normal" within a few intervals.
 *
 * σ floors: √mean for counts (Poisson), 0.05 for error ratios, 10 % of the mean (≥ 1 ms) for latency.
 */
export class Baselines {
  private readonly endpoints: LruMap<string, EndpointBaseline>;
  policy: BaselinesPolicy;

  /** @param policy - `behavior.baselines`. */
  constructor(policy: BaselinesPolicy) {
    this.policy = policy;
    this.endpoints = new LruMap(policy.maxEndpoints);
  }

  /** Endpoints tracked. */
  get size(): number {
    return this.endpoints.size;
  }

  private get(key: string, now: number): EndpointBaseline {
    let b = this.endpoints.get(key);
    if (b === undefined) {
      b = {
        tickStart: now, count: 0, upstream: 0, errors: 0, rate: new Ewma(), errorRatio: new Ewma(), latency: new Ewma(),
        hist: new RollingHistogram(this.policy.percentileWindow, now), surgeUntil: 0, errorUntil: 0, latencyUntil: 0,
        lastRateZ: 0, lastErrorZ: 0, lastLatencyZ: 0, alerts: 0,
      };
      this.endpoints.set(key, b);
    }
    return b;
  }

  private closeTicks(b: EndpointBaseline, now: number): void {
    const iv = this.policy.interval;
    if (now - b.tickStart < iv) return;
    const p = this.policy;
    let first = true;
    let idle = 0;
    while (now - b.tickStart >= iv) {
      const count = first ? b.count : 0;
      const ratio = first && b.upstream > 0 ? b.errors / b.upstream : undefined;
      const alerting = b.surgeUntil > b.tickStart;
      const zr = b.rate.z(count, Math.max(1, Math.sqrt(Math.max(b.rate.mean, 1))));
      b.lastRateZ = zr;
      if (b.rate.n >= p.warmup && zr > p.zThreshold && count >= p.minRequests) {
        b.surgeUntil = b.tickStart + 2 * iv;
        b.alerts++;
      }
      b.rate.update(count, alerting ? p.alpha / 10 : p.alpha);
      if (ratio !== undefined) {
        const ze = b.errorRatio.z(ratio, 0.05);
        b.lastErrorZ = ze;
        if (b.errorRatio.n >= p.warmup && ze > p.zThreshold && ratio >= p.minErrorRatio) {
          b.errorUntil = b.tickStart + 2 * iv;
          b.alerts++;
        }
        b.errorRatio.update(ratio, b.errorUntil > b.tickStart ? p.alpha / 10 : p.alpha);
      }
      b.tickStart += iv;
      if (!first && ++idle >= MAX_IDLE_SAMPLES) {
        b.tickStart = now - ((now - b.tickStart) % iv);
        break;
      }
      first = false;
    }
    b.count = 0;
    b.upstream = 0;
    b.errors = 0;
  }

  /** Counts one request to `key` (`METHOD route`) at `now`; returns the endpoint state. */
  onRequest(key: string, now: number): EndpointBaseline {
    const b = this.get(key, now);
    this.closeTicks(b, now);
    b.count++;
    // early surge: the running count already exceeds the control limit of a whole interval
    const p = this.policy;
    if (b.rate.n >= p.warmup && b.count >= p.minRequests && b.surgeUntil <= now) {
      const z = b.rate.z(b.count, Math.max(1, Math.sqrt(Math.max(b.rate.mean, 1))));
      if (z > p.zThreshold) {
        b.surgeUntil = b.tickStart + 2 * p.interval;
        b.lastRateZ = z;
        b.alerts++;
      }
    }
    return b;
  }

  /** Records an upstream response (status, latency ms). */
  onResponse(key: string, status: number, latencyMs: number, now: number): void {
    const b = this.endpoints.peek(key);
    if (b === undefined) return;
    b.upstream++;
    if (status >= 400) b.errors++;
    const p = this.policy;
    const z = b.latency.z(latencyMs, Math.max(1, 0.1 * b.latency.mean));
    b.lastLatencyZ = z;
    if (b.latency.n >= p.warmup && z > p.zThreshold) b.latencyUntil = now + p.interval;
    b.latency.update(latencyMs, b.latencyUntil > now ? p.alpha / 10 : p.alpha);
    b.hist.add(latencyMs, now);
  }

  /** Active alerts of an endpoint at `now`. */
  alerts(key: string, now: number): { surge: boolean; errorSpike: boolean; b?: EndpointBaseline } {
    const b = this.endpoints.peek(key);
    if (!b) return { surge: false, errorSpike: false };
    return { surge: b.surgeUntil > now, errorSpike: b.errorUntil > now, b };
  }

  /** Current statistics of every tracked endpoint (or one), for the control plane. */
  getStats(now = Date.now(), only?: string): EndpointStats[] {
    const out: EndpointStats[] = [];
    for (const [k, b] of this.endpoints.entries()) {
      if (only !== undefined && k !== only) continue;
      out.push({
        endpoint: k,
        rate: { ...b.rate.toJSON(), lastZ: round(b.lastRateZ), perSecond: round(b.rate.mean / (this.policy.interval / 1000)) },
        errorRatio: { ...b.errorRatio.toJSON(), lastZ: round(b.lastErrorZ) },
        latency: { ...b.latency.toJSON(), lastZ: round(b.lastLatencyZ), p50: b.hist.percentile(0.5, now), p95: b.hist.percentile(0.95, now), p99: b.hist.percentile(0.99, now) },
        alerts: { surge: b.surgeUntil > now, errorSpike: b.errorUntil > now, latencySpike: b.latencyUntil > now, total: b.alerts },
      });
    }
    return out;
  }
}

const registry = new WeakMap<object, Baselines>();

/** Baselines shared by detectors built for one services object (survive policy reloads). */
export function baselinesFor(owner: object, policy: BaselinesPolicy): Baselines {
  let b = registry.get(owner);
  if (b === undefined) {
    b = new Baselines(policy);
    registry.set(owner, b);
  } else b.policy = policy;
  return b;
}

/** Current per-endpoint statistics for a services object (for the control plane); empty when not running. */
export function getBaselineStats(owner: object, now = Date.now()): EndpointStats[] {
  return registry.get(owner)?.getStats(now) ?? [];
}

function keyOf(ctx: RequestContext): string {
  return ctx.method + ' ' + (ctx.route ?? boundedCopy(ctx.path, 256));
}

/**
 * The baselines detector: counts each request (request phase, allow-listed too), emits risk-only surge /
 * error-spike signals while an alert is active, and records status and latency in the response phase.
 */
export class BaselineDetector implements Detector {
  readonly name = 'baseline';
  readonly runsOnAllowListed = true;
  readonly baselines: Baselines;
  private policy: BaselinesPolicy;

  /** @param policy - `behavior.baselines`; @param baselines - shared state. */
  constructor(policy: BaselinesPolicy, baselines: Baselines) {
    this.policy = policy;
    this.baselines = baselines;
  }

  inspectRequest(ctx: RequestContext): Signal[] | undefined {
    const key = keyOf(ctx);
    const now = ctx.startedAt;
    const b = this.baselines.onRequest(key, now);
    if (ctx.allowListed) return undefined;
    let out: Signal[] | undefined;
    const monitor = this.policy.monitor || undefined;
    const iv = this.policy.interval;
    if (b.surgeUntil > now) {
      (out ??= []).push({
        ruleId: 'behavior.baseline.surge', detector: this.name, category: 'baseline', score: 0, risk: this.policy.surgeRisk, monitor,
        message: `request surge on ${key.slice(0, 200)}`,
        evidence: { detail: { endpoint: key.slice(0, 256), intervalS: iv / 1000, current: b.count, mean: round(b.rate.mean), std: round(b.rate.std), z: round(b.lastRateZ), zThreshold: this.policy.zThreshold, alpha: this.policy.alpha } },
      });
    }
    if (b.errorUntil > now) {
      (out ??= []).push({
        ruleId: 'behavior.baseline.error_spike', detector: this.name, category: 'baseline', score: 0, risk: this.policy.errorSpikeRisk, monitor,
        message: `error-ratio spike on ${key.slice(0, 200)}`,
        evidence: { detail: { endpoint: key.slice(0, 256), intervalS: iv / 1000, meanRatio: round(b.errorRatio.mean), std: round(b.errorRatio.std), z: round(b.lastErrorZ), zThreshold: this.policy.zThreshold, minErrorRatio: this.policy.minErrorRatio } },
      });
    }
    return out;
  }

  observeResponse(ctx: RequestContext, res: ResponseInfo): undefined {
    if (res.byGateway) return undefined;
    this.baselines.onResponse(keyOf(ctx), res.status, res.latencyMs, ctx.startedAt + res.latencyMs);
    return undefined;
  }

  reconfigure(policy: Policy): void {
    const p = (policy.behavior as { baselines?: BaselinesPolicy }).baselines;
    if (p) {
      this.policy = p;
      this.baselines.policy = p;
    }
  }
}

/** Registry factory: the baselines detector, or undefined when disabled. */
export const baselineDetector: DetectorFactory<Services> = (policy, services) => {
  const b = policy.behavior as { enabled: boolean; baselines?: BaselinesPolicy };
  if (!b.enabled || !b.baselines?.enabled) return undefined;
  return new BaselineDetector(b.baselines, baselinesFor(services, b.baselines));
};
