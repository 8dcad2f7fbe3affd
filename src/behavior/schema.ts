import { z } from 'zod';

/**
 * `behavior:` section of the policy: behavioural abuse detectors, API discovery and risk (issue 4).
 * Owned by the behaviour module; extended there.
 */
export const behaviorSchema = z
  .object({
    enabled: z.boolean().default(true),
  })
  .loose();

/** Parsed `behavior:` section. */
export type BehaviorPolicy = z.output<typeof behaviorSchema>;
