import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * `behavior.discovery`: API discovery (learned endpoint inventory, templated routes, shadow endpoints).
 * Defaults: learn for 1 hour after first start before flagging new endpoints; collapse a path position to a
 * variable `{var}` segment once 50 distinct literal values were seen under the same prefix (a resource
 * collection keyed by names rather than numeric ids). Bounds keep a hostile client from growing the inventory.
 */
export const discoverySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** OpenAPI 3 / Swagger 2 document (YAML or JSON) whose `paths` seed the inventory. Requests outside it are shadow endpoints. */
    openapi: z.string().min(1).optional(),
    /** After this time since the inventory was first created, newly seen endpoints are flagged as unknown. */
    learningPeriod: duration.default(3_600_000),
    /** Distinct literal values at one path position (same prefix) before it becomes a `{var}` segment. */
    variableThreshold: z.int().min(2).max(10_000).default(50),
    /** Minimum path depth (0 = first segment) at which positions may collapse to `{var}`. */
    minVariableDepth: z.int().min(0).max(16).default(1),
    /** Inventory bound: endpoints (method + templated route) kept. */
    maxEndpoints: z.int().positive().max(1_000_000).default(5_000),
    /** Typical-parameter names kept per endpoint. */
    maxParamsPerEndpoint: z.int().positive().max(1_024).default(64),
    /** Path segments considered (deeper segments are folded into `{rest}`). */
    maxDepth: z.int().positive().max(64).default(16),
    /** Anomaly points of an unknown/shadow-endpoint signal (low: informative, joins the anomaly score). */
    unknownScore: z.number().min(0).max(100).default(1),
    /** Risk in [0, 1] of an unknown/shadow-endpoint signal. */
    unknownRisk: z.number().min(0).max(1).default(0.1),
    /** How often learned endpoints are written to SQLite. */
    persistInterval: duration.default(60_000),
    /** Record unknown-endpoint signals as monitor-only. */
    monitor: z.boolean().default(false),
  })
  .prefault({});

/** Parsed `behavior.discovery`. */
export type DiscoveryPolicy = z.output<typeof discoverySchema>;
