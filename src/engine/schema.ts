import { z } from 'zod';

/**
 * `detection:` section of the policy: the attack payload engine (issue 3).
 * Owned by the engine; extended there. Defaults follow the OWASP Core Rule Set: paranoia level 1 and an
 * inbound anomaly score threshold of 5 (one critical rule blocks).
 */
export const detectionSchema = z
  .object({
    /** Master switch for payload inspection. */
    enabled: z.boolean().default(true),
    /** Paranoia level 1–4 (OWASP CRS): higher levels enable stricter rules with more false positives. */
    paranoiaLevel: z.int().min(1).max(4).default(1),
    /** Anomaly score at which a request is blocked (403); OWASP CRS default inbound threshold is 5. */
    anomalyThreshold: z.number().positive().default(5),
  })
  .loose();

/** Parsed `detection:` section. */
export type DetectionPolicy = z.output<typeof detectionSchema>;
