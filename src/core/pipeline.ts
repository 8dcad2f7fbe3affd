import type { RequestContext } from './context.ts';
import type { Detector } from './detector.ts';
import { ACTION_RANK, type DetectorResult, type ResponseInfo, type Verdict } from './types.ts';
import { decide as defaultDecide, type DecideFn } from './decide.ts';
import type { Policy } from '../config/schema.ts';

/** Hooks the pipeline reports to (metrics, logs); all optional. */
export interface PipelineObserver {
  /** A detector threw or rejected; the request continued without its signal. */
  detectorError?(detector: string, err: unknown): void;
}

function isPromise(v: unknown): v is Promise<DetectorResult> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * The decision pipeline: an ordered list of detectors that a request flows through one way
 * (request phase → body phase → decide → response phase). Immutable: a policy reload builds a new pipeline
 * and swaps it atomically, so a request in flight finishes on the pipeline it started with.
 *
 * Detectors are called in order; a detector that throws is reported to the observer and skipped.
 * Request phase stops early when a detector's signals already demand a non-monitor block or ban
 * (cheap rejection of floods and banned clients) unless `exhaustive` is set (used by `bulwark eval`).
 */
export class Pipeline {
  readonly detectors: readonly Detector[];
  readonly policy: Policy;
  /** True when some detector inspects request bodies. */
  readonly needsBody: boolean;
  private readonly decideFn: DecideFn;
  private readonly observer: PipelineObserver;
  private readonly exhaustive: boolean;

  constructor(opts: { policy: Policy; detectors: readonly Detector[]; decide?: DecideFn; observer?: PipelineObserver; exhaustive?: boolean }) {
    this.policy = opts.policy;
    this.detectors = opts.detectors;
    this.decideFn = opts.decide ?? defaultDecide;
    this.observer = opts.observer ?? {};
    this.exhaustive = opts.exhaustive ?? false;
    this.needsBody = opts.detectors.some((d) => d.needsBody === true && typeof d.inspectBody === 'function');
  }

  private fail(d: Detector, err: unknown): void {
    try {
      this.observer.detectorError?.(d.name, err);
    } catch {
      /* observers must not break the request path */
    }
  }

  private stopEarly(ctx: RequestContext): boolean {
    if (this.exhaustive) return false;
    if (ctx.matchedDecision && !ctx.allowListed) return true;
    const s = ctx.signals;
    for (let i = 0; i < s.length; i++) {
      const a = s[i]!.action;
      if (a !== undefined && !s[i]!.monitor && ACTION_RANK[a] >= ACTION_RANK.block && this.policy.mode === 'enforce') return true;
    }
    return false;
  }

  /**
   * Runs the request (headers) phase.
   * @returns a promise only if some detector returned one; never rejects.
   */
  runRequest(ctx: RequestContext): void | Promise<void> {
    return this.runPhase(ctx, 0, 'inspectRequest');
  }

  /** Runs the body phase (`ctx.body` must be set). Never rejects. */
  runBody(ctx: RequestContext): void | Promise<void> {
    if (this.stopEarly(ctx)) return;
    return this.runPhase(ctx, 0, 'inspectBody');
  }

  private runPhase(ctx: RequestContext, from: number, phase: 'inspectRequest' | 'inspectBody'): void | Promise<void> {
    const ds = this.detectors;
    for (let i = from; i < ds.length; i++) {
      const d = ds[i]!;
      const fn = d[phase];
      if (fn === undefined) continue;
      if (ctx.allowListed && !d.runsOnAllowListed) continue;
      if (phase === 'inspectRequest' && this.stopEarly(ctx)) return;
      let r: DetectorResult | Promise<DetectorResult>;
      try {
        r = fn.call(d, ctx);
      } catch (err) {
        this.fail(d, err);
        continue;
      }
      if (isPromise(r)) {
        return r.then(
          (v) => {
            ctx.add(v);
            return this.runPhase(ctx, i + 1, phase);
          },
          (err: unknown) => {
            this.fail(d, err);
            return this.runPhase(ctx, i + 1, phase);
          },
        );
      }
      ctx.add(r);
    }
  }

  /** Turns the signals gathered so far into a verdict and stores it on `ctx.verdict`. */
  decide(ctx: RequestContext): Verdict {
    let v: Verdict;
    try {
      v = this.decideFn(ctx, this.policy);
    } catch (err) {
      this.observer.detectorError?.('decide', err);
      v = defaultDecide(ctx, this.policy);
    }
    ctx.verdict = v;
    return v;
  }

  /**
   * Response phase: every detector's `observeResponse` sees the final status and latency. Signals it returns
   * are appended to `ctx.signals` (they can create decisions but not change the sent response). Never rejects.
   */
  async observeResponse(ctx: RequestContext, res: ResponseInfo): Promise<void> {
    ctx.response = res;
    for (const d of this.detectors) {
      if (d.observeResponse === undefined) continue;
      if (ctx.allowListed && !d.runsOnAllowListed) continue;
      try {
        const r = d.observeResponse(ctx, res);
        ctx.add(isPromise(r) ? await r : r);
      } catch (err) {
        this.fail(d, err);
      }
    }
  }

  /** Closes every detector (timers, connections). */
  async close(): Promise<void> {
    for (const d of this.detectors) {
      try {
        await d.close?.();
      } catch (err) {
        this.fail(d, err);
      }
    }
  }
}
