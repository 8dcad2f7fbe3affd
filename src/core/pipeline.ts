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

type PhaseFn = (this: Detector, ctx: RequestContext, res: ResponseInfo) => DetectorResult | Promise<DetectorResult>;

/**
 * The detectors taking part in one phase, in order, with their phase method read once when the pipeline is
 * built: the request path then calls through these lists instead of looking the method up by name on every
 * detector (each detector has its own object shape, so that lookup is megamorphic).
 */
interface Stage {
  readonly detectors: readonly Detector[];
  readonly fns: readonly PhaseFn[];
  readonly runsOnAllowListed: readonly boolean[];
}

function stageOf(detectors: readonly Detector[], phase: 'inspectRequest' | 'inspectBody' | 'observeResponse'): Stage {
  const ds: Detector[] = [];
  const fns: PhaseFn[] = [];
  const allow: boolean[] = [];
  for (const d of detectors) {
    const fn = d[phase];
    if (typeof fn !== 'function') continue;
    ds.push(d);
    fns.push(fn as PhaseFn);
    allow.push(!!d.runsOnAllowListed);
  }
  return { detectors: ds, fns, runsOnAllowListed: allow };
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
  /** True when some detector has a response phase ({@link Pipeline.observeResponse} does nothing otherwise). */
  readonly observesResponse: boolean;
  private readonly decideFn: DecideFn;
  private readonly observer: PipelineObserver;
  private readonly exhaustive: boolean;
  private readonly requestStage: Stage;
  private readonly bodyStage: Stage;
  private readonly responseStage: Stage;

  constructor(opts: { policy: Policy; detectors: readonly Detector[]; decide?: DecideFn; observer?: PipelineObserver; exhaustive?: boolean }) {
    this.policy = opts.policy;
    this.detectors = opts.detectors;
    this.decideFn = opts.decide ?? defaultDecide;
    this.observer = opts.observer ?? {};
    this.exhaustive = opts.exhaustive ?? false;
    this.needsBody = opts.detectors.some((d) => d.needsBody === true && typeof d.inspectBody === 'function');
    this.requestStage = stageOf(opts.detectors, 'inspectRequest');
    this.bodyStage = stageOf(opts.detectors, 'inspectBody');
    this.responseStage = stageOf(opts.detectors, 'observeResponse');
    this.observesResponse = this.responseStage.detectors.length > 0;
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
    return this.runStage(ctx, undefined, this.requestStage, 0, true);
  }

  /** Runs the body phase (`ctx.body` must be set). Never rejects. */
  runBody(ctx: RequestContext): void | Promise<void> {
    if (this.stopEarly(ctx)) return;
    return this.runStage(ctx, undefined, this.bodyStage, 0, false);
  }

  /**
   * Calls the stage's detectors from index `from` on, appending their signals; continues asynchronously after a
   * detector that returns a promise. `checkStop`: re-check {@link Pipeline.stopEarly} before each detector.
   */
  private runStage(ctx: RequestContext, res: ResponseInfo | undefined, st: Stage, from: number, checkStop: boolean): void | Promise<void> {
    const ds = st.detectors;
    const fns = st.fns;
    for (let i = from; i < ds.length; i++) {
      if (ctx.allowListed && !st.runsOnAllowListed[i]) continue;
      if (checkStop && this.stopEarly(ctx)) return;
      const d = ds[i]!;
      let r: DetectorResult | Promise<DetectorResult>;
      try {
        r = fns[i]!.call(d, ctx, res!);
      } catch (err) {
        this.fail(d, err);
        continue;
      }
      if (isPromise(r)) {
        return r.then(
          (v) => {
            ctx.add(v);
            return this.runStage(ctx, res, st, i + 1, checkStop);
          },
          (err: unknown) => {
            this.fail(d, err);
            return this.runStage(ctx, res, st, i + 1, checkStop);
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
   * are appended to `ctx.signals` (they can create decisions but not change the sent response).
   * @returns a promise only if some detector returned one (like {@link Pipeline.runRequest}); never rejects.
   */
  observeResponse(ctx: RequestContext, res: ResponseInfo): void | Promise<void> {
    ctx.response = res;
    return this.runStage(ctx, res, this.responseStage, 0, false);
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
