import { z } from 'zod';
import { cidr, slug } from '../config/primitives.ts';

/** A rule reference: the numeric id (`942100`) or the signal id (`sqli.942100`). */
const ruleRef = z.string().regex(/^([a-z0-9-]{1,32}\.)?[0-9]{3,9}$/, 'expected a rule id such as 942100 or sqli.942100');

/** Categories a policy may name (the engine's attack categories). */
export const CATEGORY_NAMES = [
  'sqli', 'xss', 'traversal', 'rfi', 'cmdi', 'ssrf', 'nosqli', 'prototype-pollution', 'ssti', 'log4shell', 'xxe',
  'scanner', 'protocol', 'ldapi', 'ssi', 'other',
] as const;

const category = z.enum(CATEGORY_NAMES);

const oneOrMany = (s: z.ZodString) => z.union([s, z.array(s).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

/**
 * One exclusion (false-positive tuning, like CRS rule exclusions / `ctl:ruleRemoveTargetById`). It applies
 * when every condition given matches: the route (`paths`, same pattern syntax as rate limits: `*` one
 * segment, `**` any number, `:name` one segment; and `methods`), the client (`clients`: IPs/CIDRs). It
 * covers the listed `rules` and/or `categories` (neither = every payload rule). With `parameters`, `headers`
 * or `cookies` it only covers matches found in those named parts (query/form/JSON/multipart names; a JSON key
 * path or bracketed name matches on its first component too); without them it covers the whole request.
 * `action: disable` drops the rule's score (the match is still recorded with this exclusion's id);
 * `monitor` records it as "would block" without enforcing.
 */
export const exclusionSchema = z
  .object({
    id: slug,
    rules: z.array(ruleRef).default([]),
    categories: z.array(category).default([]),
    paths: oneOrMany(z.string().min(1).max(512)).optional(),
    methods: z.array(z.string().regex(/^[A-Z]{1,16}$/, 'expected an upper-case HTTP method')).optional(),
    clients: z.array(cidr).optional(),
    parameters: z.array(z.string().min(1).max(256)).optional(),
    headers: z.array(z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected a lower-case header name')).optional(),
    cookies: z.array(z.string().min(1).max(256)).optional(),
    action: z.enum(['disable', 'monitor']).default('disable'),
  })
  .strict();

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
    /**
     * Inspection time budget per request (request and body phases together), ms. When spent, the remaining optional rules (all but
     * critical paranoia-1 rules) are skipped and a `payload.949990` signal (score 0) says so. Default 20 ms,
     * two orders of magnitude above the p99 target (250 µs), so it only trips on hostile or huge input.
     */
    budgetMs: z.number().positive().max(10_000).default(20),
    /** Extra request headers (lower-case) whose values are inspected besides User-Agent, Referer, X-Forwarded-Host. */
    headers: z.array(z.string().regex(/^[a-z0-9-]{1,64}$/, 'expected a lower-case header name')).default([]),
    /** Extraction bounds (see `src/engine/targets.ts`). */
    limits: z
      .object({
        maxParts: z.int().positive().max(100_000).default(1000),
        maxDepth: z.int().positive().max(1000).default(32),
        maxNameLength: z.int().positive().max(4096).default(256),
      })
      .prefault({}),
    /**
     * Protocol-anomaly limits (rules 920300–920350 in `src/engine/detectors/protocol.ts`; OWASP CRS
     * `tx.max_num_args`, `tx.arg_name_length`, `tx.arg_length`, `tx.max_file_size` analogues). 0 disables a limit.
     */
    protocol: z
      .object({
        /** Most request headers accepted (Node's own cap is 2000 by default; Apache's `LimitRequestFields` is 100). */
        maxHeaders: z.int().min(0).max(10_000).default(100),
        /** Longest header value, bytes (Apache `LimitRequestFieldSize` 8190). */
        maxHeaderValueLength: z.int().min(0).max(1_048_576).default(8190),
        /** Longest request-target, bytes (Apache `LimitRequestLine` 8190). */
        maxTargetLength: z.int().min(0).max(1_048_576).default(8190),
        /** Most query + form arguments (CRS `tx.max_num_args` example value 255). */
        maxArgs: z.int().min(0).max(100_000).default(255),
        /** Longest argument name, chars (CRS `tx.arg_name_length` example value 100; 256 leaves room for bracketed names). */
        maxArgNameLength: z.int().min(0).max(65_536).default(256),
        /** Longest query/form argument value, chars (CRS `tx.arg_length`; off by default: free text varies). */
        maxArgValueLength: z.int().min(0).max(10_485_760).default(0),
      })
      .prefault({}),
    /** Rule ids disabled everywhere. */
    disabledRules: z.array(ruleRef).default([]),
    /** Categories disabled everywhere. */
    disabledCategories: z.array(category).default([]),
    /** Rules and categories in monitor mode: their matches are recorded as "would block", never enforced. */
    monitor: z
      .object({
        rules: z.array(ruleRef).default([]),
        categories: z.array(category).default([]),
      })
      .prefault({}),
    /** Exclusions for false-positive tuning; each has a unique `id` shown in the signal's `exclusion` field. */
    exclusions: z
      .array(exclusionSchema)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((e, i) => {
          if (seen.has(e.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate exclusion id ${e.id}` });
          seen.add(e.id);
        });
      }),
  })
  .loose();

/** Parsed `detection:` section. */
export type DetectionPolicy = z.output<typeof detectionSchema>;
/** One parsed exclusion. */
export type Exclusion = z.output<typeof exclusionSchema>;
