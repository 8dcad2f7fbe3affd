import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * `behavior.positiveModel`: the positive security model (learned per-endpoint parameter profiles).
 * `mode`: `auto` learns until `learning.minSamples` requests AND `learning.period` have passed for an endpoint,
 * then enforces (flags deviations) while still learning from requests without deviations; `learning` only
 * learns (never flags); `frozen` never learns (profiles are fixed, e.g. after review/import) and flags.
 * Scores are by default below the anomaly threshold (5) even summed (`maxScore` 3): a deviation needs a second
 * signal to block (OWASP: positive models are noisy on their own).
 */
export const positiveModelSchema = z
  .object({
    enabled: z.boolean().default(true),
    mode: z.enum(['auto', 'learning', 'frozen']).default('auto'),
    learning: z
      .object({
        /** Requests an endpoint needs before its profile is enforced. */
        minSamples: z.int().positive().default(200),
        /** Time since the endpoint was first seen before its profile is enforced. */
        period: duration.default(3_600_000),
        /** Observations of one parameter before its type/length/charset profile is enforced. */
        minParamSamples: z.int().positive().default(30),
      })
      .prefault({}),
    /** Anomaly points per deviation kind. */
    scores: z
      .object({
        unknownParam: z.number().min(0).default(2),
        typeMismatch: z.number().min(0).default(2),
        charset: z.number().min(0).default(2),
        length: z.number().min(0).default(1),
      })
      .prefault({}),
    /** Cap on the summed points of one request's positive-model signals. */
    maxScore: z.number().min(0).default(3),
    /** Risk in [0, 1] per deviating request (noisy-OR inside the risk model; capped per category there). */
    risk: z.number().min(0).max(1).default(0.3),
    /** A value is out of profile when longer than `max(2 × maxLen, maxLen + lengthSlack)`. */
    lengthSlack: z.int().min(0).default(16),
    /** Profiles kept (endpoints); parameters per endpoint past `maxParams` mark the endpoint as open (no unknown-param flags). */
    maxEndpoints: z.int().positive().default(5_000),
    maxParams: z.int().positive().max(4_096).default(128),
    persistInterval: duration.default(60_000),
    monitor: z.boolean().default(false),
  })
  .prefault({});

/** Parsed `behavior.positiveModel`. */
export type PositiveModelPolicy = z.output<typeof positiveModelSchema>;
