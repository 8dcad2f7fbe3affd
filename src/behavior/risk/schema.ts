import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const levelAction = z.union([
  z.enum(['allow', 'log', 'throttle', 'block', 'ban']),
  z.object({ action: z.literal('ban'), ttl: duration.optional() }),
  z.object({ action: z.enum(['allow', 'log', 'throttle', 'block']) }),
]);

/**
 * `behavior.risk`: request and client risk, threat levels and per-level actions.
 *
 * Request risk r = 1 − Π (1 − w_c · r_s) over the request's non-monitor signals (noisy-OR), where r_s is the
 * signal's `risk` (or its anomaly points mapped as `0.8 · score / anomalyThreshold`) and w_c the category
 * weight. Client risk accumulates per category (same noisy-OR, with factor `accumulation`, only for requests
 * whose risk reaches `accumulateFrom`), each category capped by `categoryCaps` (so a model that must never
 * ban alone, e.g. the Isolation Forest, cannot reach HIGH by repetition), and decays exponentially with
 * `halfLife`. The client is the API key or user when present (carrier-NAT users stay separate), else the IP.
 * Actions apply to the client's level (LOW < 0.4 ≤ MEDIUM < 0.6 ≤ HIGH < 0.8 ≤ CRITICAL).
 */
export const riskSchema = z
  .object({
    enabled: z.boolean().default(true),
    halfLife: duration.default(600_000),
    accumulation: z.number().min(0).max(1).default(0.5),
    accumulateFrom: z.number().min(0).max(1).default(0.3),
    /** Per-level actions; `ban` may carry a ttl (default: `decisions.defaultBanDuration`). */
    actions: z
      .object({
        LOW: levelAction.default('allow'),
        MEDIUM: levelAction.default('log'),
        HIGH: levelAction.default('throttle'),
        CRITICAL: levelAction.default({ action: 'ban', ttl: 900_000 }),
      })
      .prefault({}),
    /** Weight per signal category (default 1). */
    weights: z.record(z.string(), z.number().min(0).max(1)).default({}),
    /** Cap on the accumulated client risk of a category. */
    categoryCaps: z
      .record(z.string(), z.number().min(0).max(1))
      .default({ anomaly: 0.45, positive: 0.45, baseline: 0.2, geo: 0.35, discovery: 0.2 }),
    /** Risk-driven actions are only recorded as "would" (per-level monitor). */
    monitor: z.boolean().default(false),
    /** Detectors whose signals count as monitor-only (monitor mode per detector). */
    monitorDetectors: z.array(z.string()).default([]),
    /** Clients (identities or IPs) tracked (LRU). */
    maxClients: z.int().positive().default(200_000),
  })
  .prefault({});

/** Parsed `behavior.risk`. */
export type RiskPolicy = z.output<typeof riskSchema>;
/** One per-level action after parsing. */
export type LevelAction = z.output<typeof levelAction>;
