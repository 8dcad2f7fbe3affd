import { z } from 'zod';

/**
 * `controlPlane:` section of the policy: management API, alerts and dashboard settings (issue 5).
 * Owned by the control plane; extended there.
 */
export const controlPlaneSchema = z
  .object({
    enabled: z.boolean().default(true),
  })
  .loose();

/** Parsed `controlPlane:` section. */
export type ControlPlanePolicy = z.output<typeof controlPlaneSchema>;
