import { z } from 'zod';
import { incidentsSchema } from './incidents/schema.ts';
import { alertsSchema } from './alerts/schema.ts';

/**
 * `controlPlane:` section of the policy: management API, alerts and dashboard settings (issue 5).
 * Owned by the control plane; extended there.
 */
export const controlPlaneSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Incident correlation (owned by src/controlplane/incidents). */
    incidents: incidentsSchema.prefault({}),
    /** Alert delivery defaults (owned by src/controlplane/alerts). */
    alerts: alertsSchema.prefault({}),
  })
  .loose();

/** Parsed `controlPlane:` section. */
export type ControlPlanePolicy = z.output<typeof controlPlaneSchema>;
