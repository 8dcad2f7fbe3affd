import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * `behavior.baselines`: per-endpoint statistical baselines (EWMA control charts).
 * Request rate and error ratio are sampled once per `interval`; each sample updates an EWMA mean and EWMA
 * variance with weight `alpha` (λ). A sample whose z-score against the baseline exceeds `zThreshold` raises
 * an alert, after `warmup` samples. Defaults λ = 0.1 and L = 3 follow the NIST/SEMATECH e-Handbook of
 * Statistical Methods §6.3.2.4 (EWMA control charts: λ between 0.05 and 0.25, L = 3 limits).
 */
export const baselinesSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Sampling interval of rate and error ratio. */
    interval: duration.default(10_000),
    /** EWMA weight λ of a new sample (0 < λ ≤ 1). */
    alpha: z.number().gt(0).lte(1).default(0.1),
    /** z-score that raises an alert (control limit L in standard deviations). */
    zThreshold: z.number().positive().default(3),
    /** Samples before alerts are raised (baseline warm-up). */
    warmup: z.int().min(1).default(30),
    /** A surge also needs at least this many requests in the interval (ignore tiny absolute changes). */
    minRequests: z.int().min(1).default(20),
    /** Error spikes also need an error ratio of at least this. */
    minErrorRatio: z.number().min(0).max(1).default(0.2),
    /** Rolling percentile window: two half-windows rotate (p50/p95/p99 cover the last 1–2 half-windows). */
    percentileWindow: duration.default(300_000),
    /** Endpoints tracked (LRU). */
    maxEndpoints: z.int().positive().default(2_000),
    /** Risk in [0, 1] of requests to an endpoint in surge / error spike (risk only: never blocks alone). */
    surgeRisk: z.number().min(0).max(1).default(0.15),
    errorSpikeRisk: z.number().min(0).max(1).default(0.15),
    monitor: z.boolean().default(false),
  })
  .prefault({});

/** Parsed `behavior.baselines`. */
export type BaselinesPolicy = z.output<typeof baselinesSchema>;
