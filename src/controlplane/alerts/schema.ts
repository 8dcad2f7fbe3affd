import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * `controlPlane.alerts:` delivery defaults (owned by the alerts module).
 *
 * Webhook retries use capped exponential backoff with jitter ("equal jitter", AWS Architecture Blog,
 * *Exponential Backoff and Jitter*, 2015): the wait before attempt n+1 is `d/2 + random(0, d/2)` with
 * `d = min(backoffMax, backoffBase × 2^(n-1))`. Retried: network errors, timeouts, 408, 429 and 5xx.
 * - `maxAttempts` (default 5): attempts per delivery, first one included.
 * - `backoffBase` (default 1 s), `backoffMax` (default 60 s).
 * - `timeout` (default 10 s): per attempt, headers and body.
 * - `deliveriesPerChannel` (default 1,000): delivery log rows kept per channel (oldest pruned).
 * - `maxAlerts` (default 50,000): alert rows kept (oldest acknowledged/old ones pruned).
 * - `maxPerMinute` (default 30): deliveries per channel per minute (token bucket, burst of the same size); past it
 *   deliveries are recorded as `suppressed` so an attack with many rotating actors cannot become an alert storm
 *   (or a flood towards the receiver).
 * - `dashboardUrl`: base URL of the dashboard, for links in messages (optional).
 * - `allowPrivateWebhooks` (default false): let webhooks reach loopback, private, link-local, CGNAT, ULA and
 *   other non-public addresses. Off, a webhook whose host is or resolves to one fails (checked at connect time,
 *   so DNS rebinding does not get around it): an admin-set URL must not turn alert delivery and the channel
 *   test into a probe of the internal network (SSRF; OWASP SSRF Prevention Cheat Sheet).
 */
export const alertsSchema = z
  .object({
    maxAttempts: z.int().min(1).max(20).default(5),
    backoffBase: duration.default(1000),
    backoffMax: duration.default(60_000),
    timeout: duration.default(10_000),
    deliveriesPerChannel: z.int().min(10).max(1_000_000).default(1000),
    maxAlerts: z.int().min(100).max(10_000_000).default(50_000),
    maxPerMinute: z.int().min(1).max(100_000).default(30),
    dashboardUrl: z.url().max(2048).optional(),
    allowPrivateWebhooks: z.boolean().default(false),
  })
  .strict();

/** Parsed `controlPlane.alerts:` (durations in ms). */
export type AlertsPolicy = z.output<typeof alertsSchema>;
