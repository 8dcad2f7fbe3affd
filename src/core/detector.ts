import type { RequestContext } from './context.ts';
import type { DetectorResult, ResponseInfo } from './types.ts';
import type { Policy } from '../config/schema.ts';

/**
 * A detector: one concern (rate limits, SQL injection, brute force, …) behind one interface, like a
 * Fastify hook. The pipeline calls each phase method in registration order. A detector must never throw
 * on the request path: the pipeline catches and counts errors (`bulwark_detector_errors_total`) and
 * carries on, but a detector that throws loses its signal.
 *
 * Methods may return a Promise (e.g. a Redis-backed limiter); synchronous results are preferred on the hot
 * path because each awaited detector costs a microtask turn.
 */
export interface Detector {
  /** Unique name, e.g. `ratelimit`, `payload`, `bruteforce`. Used in metrics, exclusions and settings. */
  readonly name: string;
  /**
   * True when the detector needs the request body prefix in {@link Detector.inspectBody}. The data plane
   * reads the body only if at least one enabled detector needs it.
   */
  readonly needsBody?: boolean;
  /** Runs on allow-listed requests too (counting detectors such as rate limits and statistics). */
  readonly runsOnAllowListed?: boolean;
  /** Headers-phase inspection: method, target, headers, client. */
  inspectRequest?(ctx: RequestContext): DetectorResult | Promise<DetectorResult>;
  /** Body-phase inspection: `ctx.body` is set (possibly truncated). Runs only when the request has a body. */
  inspectBody?(ctx: RequestContext): DetectorResult | Promise<DetectorResult>;
  /**
   * Response phase: sees the final status and latency (and `res.bodySample` when `ctx.wantResponseBody` was
   * set). Signals returned here are recorded on the event and may create decisions (e.g. a brute-force ban
   * after a failed login), but cannot change the already-sent response.
   */
  observeResponse?(ctx: RequestContext, res: ResponseInfo): DetectorResult | Promise<DetectorResult>;
  /** Called with the new policy after a successful hot reload (atomic swap). */
  reconfigure?(policy: Policy): void;
  /** Releases timers and connections. */
  close?(): void | Promise<void>;
}

/**
 * Builds a detector from the policy and the shared services. Registered factories are listed in
 * `src/detectors/registry.ts`; a factory returns undefined when its detector is disabled by the policy.
 */
export type DetectorFactory<S = unknown> = (policy: Policy, services: S) => Detector | undefined;
