import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * `behavior.anomalyModel`: Isolation Forest over per-client feature vectors (Liu, Ting & Zhou, ICDM 2008).
 * Defaults are the paper's: t = 100 trees, subsample ψ = 256 (height limit ⌈log2 ψ⌉ = 8). A client whose
 * score s = 2^(−E(h)/c(ψ)) reaches `threshold` gets a risk signal; the paper reads s close to 1 as anomaly
 * and s ≤ 0.5 as normal. It never blocks alone (score 0, risk capped by `maxRisk`).
 */
export const anomalyModelSchema = z
  .object({
    enabled: z.boolean().default(true),
    trees: z.int().min(1).max(1_000).default(100),
    sampleSize: z.int().min(16).max(4_096).default(256),
    /** Feature window per client (tumbling). */
    window: duration.default(60_000),
    /** Requests in a window before the client is scored. */
    minRequests: z.int().min(1).default(10),
    /** Training reservoir (feature vectors of completed windows). */
    reservoir: z.int().min(64).max(100_000).default(4_096),
    /** Vectors needed before the first training. */
    minTrainingVectors: z.int().min(16).default(256),
    /** Retrain period (off the hot path, in setImmediate chunks). */
    retrainInterval: duration.default(600_000),
    threshold: z.number().min(0.5).max(1).default(0.65),
    /** Risk at score 1 (linear from `threshold`); the risk model caps the `anomaly` category at this too. */
    maxRisk: z.number().min(0).max(1).default(0.45),
    /** Clients tracked (LRU, ~400 bytes each: 50,000 → ~20 MB). */
    maxClients: z.int().positive().default(50_000),
    /** Seed of the pseudo-random generator (reproducible forests). */
    seed: z.int().default(42),
    monitor: z.boolean().default(false),
  })
  .prefault({});

/** Parsed `behavior.anomalyModel`. */
export type AnomalyModelPolicy = z.output<typeof anomalyModelSchema>;
