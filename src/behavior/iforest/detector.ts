import { boundedCopy } from '../../core/strings.ts';
import type { Detector, DetectorFactory } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { ResponseInfo, Signal } from '../../core/types.ts';
import type { Services } from '../../core/services.ts';
import type { Policy } from '../../config/schema.ts';
import { FEATURE_NAMES, FeatureTracker, clientIdentity } from '../features.ts';
import { IsolationForest, mulberry32 } from './forest.ts';
import type { AnomalyModelPolicy } from './schema.ts';

/** Requests between two re-scorings of the same client (scoring costs ~800 comparisons)… */
const RESCORE_EVERY = 5;
/** … and at least this long (ms) between them: a flooding client is re-scored once per second, not per request. */
const RESCORE_MIN_MS = 1000;

/** Status of the anomaly model, for the control plane. */
export interface AnomalyModelStatus {
  trained: boolean;
  training: boolean;
  trainedAt?: number;
  trainedOn?: number;
  reservoir: number;
  vectorsSeen: number;
  clients: number;
  features: readonly string[];
}

/**
 * The anomaly model's state: per-client feature windows, a reservoir sample of completed windows (Vitter's
 * Algorithm R, uniform over everything seen, bounded by `reservoir`), and the current forest. Training runs off
 * the hot path: it is started from the request path at most once per `retrainInterval` and builds trees in
 * `setImmediate` chunks; the new forest replaces the old one atomically when done.
 */
export class AnomalyModel {
  readonly tracker: FeatureTracker;
  private readonly reservoir: Float64Array[] = [];
  private seen = 0;
  private readonly rnd: () => number;
  forest?: IsolationForest;
  training = false;
  trainedAt = 0;
  policy: AnomalyModelPolicy;

  /** @param policy - `behavior.anomalyModel`. */
  constructor(policy: AnomalyModelPolicy) {
    this.policy = policy;
    this.rnd = mulberry32(policy.seed ^ 0x9e3779b9);
    this.tracker = new FeatureTracker(policy.window, policy.maxClients, policy.minRequests, (v) => this.addVector(v));
  }

  /** Adds a training vector (reservoir sampling). */
  addVector(v: Float64Array): void {
    this.seen++;
    if (this.reservoir.length < this.policy.reservoir) this.reservoir.push(v);
    else {
      const j = Math.floor(this.rnd() * this.seen);
      if (j < this.reservoir.length) this.reservoir[j] = v;
    }
  }

  private pending?: Promise<void>;

  /** Starts a (re)training when due; returns the promise of the training in progress, if any. */
  maybeTrain(now: number): Promise<void> | undefined {
    if (this.training) return this.pending;
    if (this.reservoir.length < this.policy.minTrainingVectors) return undefined;
    if (this.forest !== undefined && now - this.trainedAt < this.policy.retrainInterval) return undefined;
    this.training = true;
    this.trainedAt = now;
    const data = this.reservoir.slice();
    this.pending = IsolationForest.trainAsync(data, { trees: this.policy.trees, sampleSize: this.policy.sampleSize, seed: this.policy.seed + Math.floor(now / 1000) })
      .then((f) => {
        this.forest = f;
      })
      .catch(() => {
        /* keep the previous forest */
      })
      .finally(() => {
        this.training = false;
      });
    return this.pending;
  }

  /** Current status. */
  status(): AnomalyModelStatus {
    return {
      trained: this.forest !== undefined,
      training: this.training,
      trainedAt: this.forest ? this.trainedAt : undefined,
      trainedOn: this.forest?.trainedOn,
      reservoir: this.reservoir.length,
      vectorsSeen: this.seen,
      clients: this.tracker.size,
      features: FEATURE_NAMES,
    };
  }
}

const registry = new WeakMap<object, AnomalyModel>();

/** The anomaly model shared by detectors built for one services object (survives policy reloads). */
export function anomalyModelFor(owner: object, policy: AnomalyModelPolicy): AnomalyModel {
  let m = registry.get(owner);
  if (m === undefined) {
    m = new AnomalyModel(policy);
    registry.set(owner, m);
  } else m.policy = policy;
  return m;
}

/** Status of the anomaly model of a services object (for the control plane). */
export function getAnomalyModelStatus(owner: object): AnomalyModelStatus | undefined {
  return registry.get(owner)?.status();
}

/**
 * The Isolation Forest detector: tracks per-client features on every request/response and, once a forest is
 * trained, scores clients with at least `minRequests` requests in their window (every 5th request, at most once
 * per second). A score
 * ≥ `threshold` yields `behavior.anomaly.iforest` with score 0 and risk from `maxRisk / 2` (at the threshold)
 * to `maxRisk` (at s = 1): risk only, it never blocks or bans alone. The explanation lists the top three
 * features by isolation credit with their value and the training mean.
 */
export class AnomalyDetector implements Detector {
  readonly name = 'anomaly';
  readonly model: AnomalyModel;
  private policy: AnomalyModelPolicy;

  /** @param policy - `behavior.anomalyModel`; @param model - shared state. */
  constructor(policy: AnomalyModelPolicy, model: AnomalyModel) {
    this.policy = policy;
    this.model = model;
  }

  inspectRequest(ctx: RequestContext): Signal | undefined {
    const now = ctx.startedAt;
    const cl = ctx.header('content-length');
    const bytesIn = cl !== '' && cl.length < 16 ? Number(cl) || 0 : 0;
    const id = clientIdentity(ctx);
    const w = this.model.tracker.onRequest(id, ctx.route ?? boundedCopy(ctx.path, 256), bytesIn, now);
    void this.model.maybeTrain(now);
    const forest = this.model.forest;
    if (w === undefined || forest === undefined || w.n < this.policy.minRequests) return undefined;
    if (w.scoredAt === 0 || (w.n - w.scoredAt >= RESCORE_EVERY && now - w.scoredT >= RESCORE_MIN_MS)) {
      const v = this.model.tracker.vector(w, now);
      const s = forest.score(v);
      w.score = s;
      w.scoredAt = w.n;
      w.scoredT = now;
      if (s >= this.policy.threshold) {
        const { attributions } = forest.explain(v);
        w.explanation = attributions
          .slice(0, 3)
          .map((a) => `${FEATURE_NAMES[a.feature]}=${round(v[a.feature]!)} (train mean ${round(forest.featureMean[a.feature]!)}, ${Math.round(a.share * 100)}%)`)
          .join('; ');
      }
    }
    if (w.score < this.policy.threshold) return undefined;
    const t = this.policy.threshold;
    const risk = Math.min(this.policy.maxRisk, this.policy.maxRisk * (0.5 + (0.5 * (w.score - t)) / Math.max(1e-9, 1 - t)));
    return {
      ruleId: 'behavior.anomaly.iforest',
      detector: this.name,
      category: 'anomaly',
      score: 0,
      risk,
      monitor: this.policy.monitor || undefined,
      message: `client behaviour is anomalous (isolation forest score ${round(w.score)})`,
      evidence: {
        location: { kind: 'client' },
        matched: (w.explanation ?? '').slice(0, 256),
        detail: { score: round(w.score), threshold: t, windowS: this.policy.window / 1000, requests: w.n, trees: this.policy.trees, sampleSize: this.policy.sampleSize, trainedOn: forest.trainedOn, topFeatures: (w.explanation ?? '').slice(0, 256) },
      },
    };
  }

  observeResponse(ctx: RequestContext, res: ResponseInfo): undefined {
    this.model.tracker.onResponse(clientIdentity(ctx), res, ctx.verdict?.anomalyScore ?? 0);
    return undefined;
  }

  reconfigure(policy: Policy): void {
    const p = (policy.behavior as { anomalyModel?: AnomalyModelPolicy }).anomalyModel;
    if (p) {
      this.policy = p;
      this.model.policy = p;
    }
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Registry factory: the Isolation Forest detector, or undefined when disabled. */
export const anomalyDetector: DetectorFactory<Services> = (policy, services) => {
  const b = policy.behavior as { enabled: boolean; anomalyModel?: AnomalyModelPolicy };
  if (!b.enabled || !b.anomalyModel?.enabled) return undefined;
  return new AnomalyDetector(b.anomalyModel, anomalyModelFor(services, b.anomalyModel));
};
