import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const level = z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

/**
 * `controlPlane.incidents:` correlation settings (owned by the incidents module).
 *
 * - `window` (ms, default 30 min): an event joins the open incident of its actor and scenario when it arrives
 *   within this time of the incident's last event; later events open a new incident. 30 min follows the common
 *   SIEM "session" grouping and CrowdSec's default leaky-bucket scenario scale (minutes, not days).
 * - `actorKeys`: which identity names the actor of an event, first present wins. Default `user`, `api_key`,
 *   `ip` (client key: IPv6 aggregated). `fingerprint` groups a distributed bot by its client fingerprint, at
 *   the cost of merging unrelated clients that share a tool; opt in by listing it before `ip`.
 * - `severityByAction`: floor of the incident severity per enforced (or, in monitor mode, would-be) action; the
 *   severity is the highest of the events' threat levels and these floors.
 * - `maxOpen`: bound on the in-memory index of open incidents (LRU; evicted ones are found again in SQLite). Read
 *   when the service starts (a reload does not resize the index).
 * - `sampleEvents`: event ids kept per incident (the first and the latest ones).
 * - `queueLimit`: events waiting for correlation; past it events are dropped and counted (never blocks the sink).
 * - `recommend`: thresholds of the recommendations (distinct IPs in one /24 or IPv6 /48 before "ban this
 *   range"; events on one route without any rate-limit signal before "add a rate limit").
 */
export const incidentsSchema = z
  .object({
    window: duration.default(30 * 60_000),
    actorKeys: z.array(z.enum(['user', 'api_key', 'fingerprint', 'ip'])).min(1).max(4).default(['user', 'api_key', 'ip']),
    severityByAction: z
      .object({
        log: level.default('LOW'),
        throttle: level.default('LOW'),
        block: level.default('MEDIUM'),
        ban: level.default('HIGH'),
      })
      .strict()
      .prefault({}),
    maxOpen: z.int().positive().max(1_000_000).default(10_000),
    sampleEvents: z.int().min(1).max(200).default(20),
    queueLimit: z.int().positive().max(1_000_000).default(10_000),
    recommend: z
      .object({
        rangeMinIps: z.int().min(2).max(256).default(5),
        floodMinEvents: z.int().min(2).default(50),
        banMinBlocked: z.int().min(1).default(10),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** Parsed `controlPlane.incidents:` (durations in ms). */
export type IncidentsPolicy = z.output<typeof incidentsSchema>;
