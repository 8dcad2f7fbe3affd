import { z } from 'zod';
import { abuseShape } from './detectors/schema.ts';
import { modelsShape } from './models-schema.ts';

/**
 * `behavior:` section of the policy: behavioural abuse detectors, API discovery and risk (issue 4).
 * Owned by the behaviour module; extended there.
 */
export const behaviorSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Abuse detectors (brute force, stuffing, enumeration, scanner, honeypot, flows, fingerprint, bots): see src/behavior/detectors/schema.ts. */
    ...abuseShape,
    /** Models: discovery, positiveModel, geo, baselines, anomalyModel, risk: see src/behavior/models-schema.ts. */
    ...modelsShape,
  })
  .loose();

/** Parsed `behavior:` section. */
export type BehaviorPolicy = z.output<typeof behaviorSchema>;
