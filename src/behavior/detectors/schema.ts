import { z } from 'zod';
import { duration } from '../../config/duration.ts';

/**
 * Policy sub-objects of the behavioural abuse detectors (`behavior.bruteForce`, `behavior.credentialStuffing`,
 * `behavior.enumeration`, `behavior.scanner`, `behavior.honeypot`, `behavior.flows`, `behavior.fingerprint`,
 * `behavior.bots`). Spread into `behaviorSchema` by `src/behavior/schema.ts`. Durations are written as
 * `10m`, `30s`, … and parsed to milliseconds. Every detector has `enabled` and `monitor` (record "would act",
 * never enforce).
 */

const pattern = z.string().regex(/^([A-Za-z]{1,16} )?\/\S{0,512}$/, 'expected a path pattern such as "POST /api/login" or "/api/admin/**"');
const ratio = z.number().min(0).max(1);
const count = z.int().positive();
const banAction = z.enum(['log', 'throttle', 'block', 'ban']);

/**
 * Failed authentication / brute force. Defaults: more than 5 failures in 10 minutes from one client → ban
 * 30 minutes (the default; OWASP Authentication Cheat Sheet "Protect against automated attacks").
 * The per-client limit is multiplied by the number of distinct usernames that logged in successfully from that
 * client in the window, so a carrier-NAT or office IP with many real users is not banned for their typos.
 */
export const bruteForceSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    /** Login routes (`[METHOD ]/path`, `*` one segment, `**` any). */
    loginRoutes: z.array(pattern).min(1).default(['POST /login', 'POST /api/login', 'POST /**/login', 'POST /**/signin', 'POST /api/auth/token']),
    /** JSON or form fields holding the username, tried in order. */
    usernameFields: z.array(z.string().min(1).max(64)).min(1).default(['username', 'email', 'login', 'user']),
    /** Upstream statuses that mean "authentication failed". */
    failureStatuses: z.array(z.int().min(100).max(599)).default([401, 403]),
    /** Optional text in the response body that means failure (then the first `responseSampleBytes` are read). */
    failureBodyMarker: z.string().min(1).max(256).optional(),
    responseSampleBytes: z.int().min(64).max(65536).default(4096),
    /** Failures tolerated per client in `window` (ban when exceeded). */
    maxFailures: count.default(5),
    window: duration.default(600_000),
    banDuration: duration.default(1_800_000),
    /** Per target username across clients: more than `maxFailures` in `window` → throttle further attempts on it. */
    perUsername: z
      .object({
        enabled: z.boolean().default(true),
        maxFailures: count.default(10),
        window: duration.default(600_000),
        /** Retry-After given to throttled attempts, ms. */
        throttleFor: duration.default(300_000),
      })
      .prefault({}),
  })
  .prefault({});

/**
 * Credential stuffing (OWASP Credential Stuffing Prevention Cheat Sheet; OWASP OAT-008). Keyed by distinct
 * usernames and failure ratios, never by raw attempt counts per IP, so a shared IP of real users (mostly
 * successful logins) does not qualify.
 */
export const credentialStuffingSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    /** One client trying many distinct usernames (with mostly failures). */
    perClient: z
      .object({ distinctUsernames: count.default(8), minFailureRatio: ratio.default(0.6), window: duration.default(600_000), banDuration: duration.default(3_600_000) })
      .prefault({}),
    /** One username failing from many distinct clients → throttle that username for clients that never logged in as it. */
    perUsername: z.object({ distinctClients: count.default(5), window: duration.default(600_000), throttleFor: duration.default(300_000) }).prefault({}),
    /** Many clients sharing one fingerprint, failing logins at a high ratio → ban the client that tipped it and throttle that fingerprint's login attempts for `banDuration`. */
    perFingerprint: z
      .object({
        minClients: count.default(8),
        minFailures: count.default(15),
        minFailureRatio: ratio.default(0.8),
        window: duration.default(600_000),
        banDuration: duration.default(3_600_000),
      })
      .prefault({}),
    /** Global login failure ratio vs its EWMA baseline (per bucket); a spike is a risk signal and halves perClient.distinctUsernames. */
    globalRatio: z
      .object({ bucket: duration.default(60_000), spanBuckets: count.default(30), minAttempts: count.default(20), minRatio: ratio.default(0.5), factor: z.number().min(1).default(2) })
      .prefault({}),
    /** Low-and-slow: long window (6 h) with coarse buckets (1–6, packed into one number per client). */
    lowAndSlow: z
      .object({ window: duration.default(21_600_000), buckets: z.int().min(1).max(6).default(6), maxFailures: count.default(20), minFailureRatio: ratio.default(0.8), banDuration: duration.default(21_600_000) })
      .prefault({}),
  })
  .prefault({});

/** Enumeration and scraping (OWASP OAT-011 Scraping, API1:2023 BOLA probing). */
export const enumerationSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    /** Identity counters are keyed by (`user` falls back to API key, then IP). */
    by: z.enum(['user', 'api_key', 'ip']).default('user'),
    window: duration.default(300_000),
    /** Distinct resource ids per identity and templated route in the window. */
    maxDistinctIds: count.default(100),
    /** Length of a run of consecutive ids (+1 or −1 steps) that counts as a sequential walk. */
    sequentialRun: count.default(20),
    /** 404 ratio on templated routes after at least `notFoundMinRequests` requests. */
    notFoundMinRequests: count.default(20),
    notFoundRatio: ratio.default(0.5),
    /** Query parameters that page through a collection. */
    paginationParams: z.array(z.string().min(1).max(64)).default(['page', 'offset', 'cursor', 'start', 'after', 'skip']),
    /** Distinct page values per identity and route in the window. */
    maxDistinctPages: count.default(50),
    action: banAction.default('ban'),
    banDuration: duration.default(3_600_000),
  })
  .prefault({});

/** Scanners and probing (OWASP OAT-014 Vulnerability Scanning). */
export const scannerSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    window: duration.default(300_000),
    /** Distinct paths answered 404 per client in the window. */
    maxNotFoundPaths: count.default(20),
    /** Distinct known-sensitive paths probed per client in the window (one probe alone is a risk signal only). */
    maxSensitivePaths: count.default(3),
    /** Extra sensitive path patterns in addition to the built-in list. */
    sensitivePaths: z.array(pattern).default([]),
    action: banAction.default('ban'),
    banDuration: duration.default(3_600_000),
  })
  .prefault({});

/** Honeypot routes: endpoints no legitimate client calls. */
export const honeypotSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    paths: z.array(pattern).default(['/api/admin', '/api/admin/**']),
    banDuration: duration.default(3_600_000),
  })
  .prefault({});

/**
 * One business-flow rule. Ordering: `then` requires a successful (< 400) `requires` by the same identity within
 * `within` before it. Frequency: at most `max` `then` requests per `per` window and identity. Either or both.
 */
export const flowRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected an id of a-z, 0-9, ".", "_", "-" (max 64)'),
    then: pattern,
    requires: pattern.optional(),
    within: duration.default(300_000),
    max: count.optional(),
    per: duration.default(60_000),
    by: z.enum(['user', 'api_key', 'ip']).default('user'),
    action: banAction.default('block'),
    banDuration: duration.default(900_000),
    monitor: z.boolean().default(false),
  })
  .refine((r) => r.requires !== undefined || r.max !== undefined, { message: 'a flow rule needs "requires" or "max"' });

/** Business-flow rules (OWASP API6:2023 Unrestricted Access to Sensitive Business Flows). */
export const flowsSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    rules: z.array(flowRuleSchema).default([]),
  })
  .prefault({});

/** Distributed floods by fingerprint, and global / per-endpoint surges (rate vs EWMA baseline). */
export const fingerprintSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    /** Window over which a fingerprint's requests and distinct clients are counted. */
    window: duration.default(60_000),
    /** Minimum distinct clients sharing the fingerprint in the window. */
    minClients: count.default(20),
    /** Minimum requests of the fingerprint in the window. */
    minRequests: count.default(600),
    /** The window's requests must also exceed this multiple of the fingerprint's EWMA baseline (per window). */
    surgeFactor: z.number().min(1).default(4),
    spanWindows: count.default(30),
    /** No fingerprint bans during the first windows after start: every fingerprint (popular browsers too) is new then. */
    warmupWindows: z.int().min(0).default(5),
    banDuration: duration.default(900_000),
    /** Global and per-endpoint surge detection (risk signals, action log). */
    surge: z
      .object({ enabled: z.boolean().default(true), bucket: duration.default(10_000), spanBuckets: count.default(60), factor: z.number().min(1).default(5), minRequests: count.default(200), warmupBuckets: count.default(6) })
      .prefault({}),
  })
  .prefault({});

/** Bots: good crawlers and automation signatures (risk signals, not bans by themselves). */
export const botsSchema = z
  .object({
    enabled: z.boolean().default(true),
    monitor: z.boolean().default(false),
    /**
     * Let good crawlers (isbot + the crawler list) through behavioural sweeps (enumeration, scanner, fingerprint
     * floods) once `verifyCrawlers` confirmed them: a User-Agent alone exempts nothing.
     */
    allowGoodBots: z.boolean().default(true),
    /** Crawler names (case-insensitive substrings of the User-Agent) that count as good when isbot also agrees. */
    goodBots: z
      .array(z.string().min(2).max(64))
      .default(['googlebot', 'bingbot', 'duckduckbot', 'applebot', 'yandexbot', 'baiduspider', 'slurp', 'facebookexternalhit', 'linkedinbot', 'twitterbot']),
    /**
     * Verify claimed crawlers by forward-confirmed reverse DNS (Google's and Bing's documented method) before
     * trusting them; off by default because it makes DNS queries (one per crawler IP, cached, never awaited on
     * the request path).
     */
    verifyCrawlers: z.boolean().default(false),
    /** Routes only browsers use; HTTP libraries there are flagged with `browserOnlyRisk`. */
    browserOnlyRoutes: z.array(pattern).default([]),
    automationRisk: ratio.default(0.3),
    browserOnlyRisk: ratio.default(0.5),
    /** Action for automation on browser-only routes (`log` = risk only). */
    browserOnlyAction: z.enum(['log', 'throttle', 'block']).default('log'),
    /** A claimed crawler that the verification hook rejects. */
    fakeCrawlerAction: z.enum(['log', 'throttle', 'block']).default('block'),
  })
  .prefault({});

/** The abuse detectors' part of the `behavior:` section, to spread into its `z.object({...})`. */
export const abuseShape = {
  bruteForce: bruteForceSchema,
  credentialStuffing: credentialStuffingSchema,
  enumeration: enumerationSchema,
  scanner: scannerSchema,
  honeypot: honeypotSchema,
  flows: flowsSchema,
  fingerprint: fingerprintSchema,
  bots: botsSchema,
};

/** Parsed `behavior.bruteForce` (durations in ms). */
export type BruteForcePolicy = z.output<typeof bruteForceSchema>;
/** Parsed `behavior.credentialStuffing` (durations in ms). */
export type CredentialStuffingPolicy = z.output<typeof credentialStuffingSchema>;
/** Parsed `behavior.enumeration` (durations in ms). */
export type EnumerationPolicy = z.output<typeof enumerationSchema>;
/** Parsed `behavior.scanner` (durations in ms). */
export type ScannerPolicy = z.output<typeof scannerSchema>;
/** Parsed `behavior.honeypot` (durations in ms). */
export type HoneypotPolicy = z.output<typeof honeypotSchema>;
/** Parsed `behavior.flows`. */
export type FlowsPolicy = z.output<typeof flowsSchema>;
/** One parsed business-flow rule (durations in ms). */
export type FlowRule = z.output<typeof flowRuleSchema>;
/** Parsed `behavior.fingerprint` (durations in ms). */
export type FingerprintPolicy = z.output<typeof fingerprintSchema>;
/** Parsed `behavior.bots`. */
export type BotsPolicy = z.output<typeof botsSchema>;
