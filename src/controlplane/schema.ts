import { z } from 'zod';
import { duration } from '../config/duration.ts';
import { incidentsSchema } from './incidents/schema.ts';
import { alertsSchema } from './alerts/schema.ts';

/**
 * `controlPlane:` section of the policy: management API, alerts and dashboard settings (issue 5).
 * Owned by the control plane; extended there.
 */
export const controlPlaneSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Estimated cost of serving one abusive request (currency units); cost saved = blocked requests × this. */
    costPerBlockedRequest: z.number().min(0).max(1_000_000).default(0.01),
    /** ISO 4217 currency code shown next to the cost saved. */
    currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as USD').default('USD'),
    /** Force the `Secure` flag on the session cookie (always set when the admin listener runs on TLS). */
    secureCookies: z.boolean().default(false),
    /** Session lifetime (OWASP Session Management Cheat Sheet: idle 15–30 min, absolute 4–8 h for sensitive apps). */
    session: z
      .object({
        idleTimeout: duration.default(30 * 60_000),
        absoluteTimeout: duration.default(12 * 3_600_000),
      })
      .prefault({}),
    /** Login protection: GCRA per client IP and per username; repeated failures ban the IP through the DecisionService. */
    login: z
      .object({
        ratePerMinute: z.int().positive().max(10_000).default(5),
        burst: z.int().positive().max(10_000).default(5),
        banAfterFailures: z.int().positive().max(10_000).default(10),
        failureWindow: duration.default(10 * 60_000),
        banDuration: duration.default(15 * 60_000),
      })
      .prefault({}),
    /** Incident correlation (owned by src/controlplane/incidents). */
    incidents: incidentsSchema.prefault({}),
    /** Alert delivery defaults (owned by src/controlplane/alerts). */
    alerts: alertsSchema.prefault({}),
  })
  .loose();

/** Parsed `controlPlane:` section. */
export type ControlPlanePolicy = z.output<typeof controlPlaneSchema>;
