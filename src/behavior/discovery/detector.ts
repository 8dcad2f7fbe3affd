import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Detector, DetectorFactory } from '../../core/detector.ts';
import { scratchKey, type RequestContext } from '../../core/context.ts';
import type { ResponseInfo, Signal } from '../../core/types.ts';
import type { Services } from '../../core/services.ts';
import type { Policy } from '../../config/schema.ts';
import { ConfigError } from '../../config/errors.ts';
import { Inventory, inventoryFor, queryParamNames } from './inventory.ts';
import type { Resolution } from './inventory.ts';
import type { DiscoveryPolicy } from './schema.ts';

const seededFrom = new WeakMap<Inventory, string>();
/** `ctx.scratch` key of the request phase's {@link Resolution}, reused by the response phase. */
const SCRATCH_RES = scratchKey<Resolution>('discovery.resolution');
const NO_PARAMS: readonly string[] = [];
const loaded = new WeakSet<Inventory>();

/**
 * Reads and parses an OpenAPI document (YAML or JSON).
 * @throws {ConfigError} `BWK_CONFIG_READ` when unreadable, `BWK_CONFIG_PARSE` when not YAML/JSON or without `paths`.
 */
export function loadOpenApi(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('BWK_CONFIG_READ', [{ path: 'behavior.discovery.openapi', message: `cannot read ${file}: ${(err as Error).message}` }]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('BWK_CONFIG_PARSE', [{ path: 'behavior.discovery.openapi', message: `${file} is not YAML/JSON: ${(err as Error).message}` }]);
  }
  if (typeof doc !== 'object' || doc === null || typeof (doc as { paths?: unknown }).paths !== 'object') {
    throw new ConfigError('BWK_CONFIG_PARSE', [{ path: 'behavior.discovery.openapi', message: `${file} has no "paths" object (expected OpenAPI 3 or Swagger 2)` }]);
  }
  return doc;
}

/**
 * The API discovery detector. Runs first among the behaviour detectors:
 * - request phase: templates the path (`/api/users/123` → `/api/users/{id}`) and sets `ctx.route`, which
 *   the data plane and later detectors use as the per-endpoint key; flags shadow endpoints (not in the
 *   OpenAPI seed) and, after the learning period, unknown endpoints, with a low-score signal
 *   (`behavior.discovery.shadow` / `behavior.discovery.unknown`, default 1 point, risk 0.1);
 * - response phase: learns the endpoint (only when the status shows it exists) and its statistics, reusing
 *   the request phase's resolution (`ctx.scratch`) while the inventory's trie has not changed in between.
 * Runs on allow-listed requests too (inventory counts all traffic; signals are ignored for them).
 */
export class DiscoveryDetector implements Detector {
  readonly name = 'discovery';
  readonly runsOnAllowListed = true;
  readonly inventory: Inventory;
  private policy: DiscoveryPolicy;
  private readonly services?: Services;
  private timer?: NodeJS.Timeout;

  /**
   * @param policy - `behavior.discovery`; @param services - for SQLite persistence (optional in tests).
   * @param inventory - the shared inventory (see {@link inventoryFor}).
   */
  constructor(policy: DiscoveryPolicy, inventory: Inventory, services?: Services) {
    this.policy = policy;
    this.inventory = inventory;
    this.services = services;
    if (services?.db && !loaded.has(inventory)) {
      loaded.add(inventory);
      try {
        Inventory.migrate(services.db);
        inventory.load(services.db);
      } catch (err) {
        services.logger?.warn({ err }, 'discovery: cannot load the persisted inventory; starting empty');
      }
    }
    if (policy.openapi && seededFrom.get(inventory) !== policy.openapi) {
      inventory.seedOpenApi(loadOpenApi(policy.openapi));
      seededFrom.set(inventory, policy.openapi);
    }
    if (services?.db) {
      this.timer = setInterval(() => this.persist(), policy.persistInterval);
      this.timer.unref();
    }
  }

  /** Writes changed endpoints to SQLite; never throws (logs). */
  persist(): void {
    if (!this.services?.db) return;
    try {
      this.inventory.persist(this.services.db);
    } catch (err) {
      this.services.logger?.warn({ err }, 'discovery: persisting the inventory failed');
    }
  }

  inspectRequest(ctx: RequestContext): Signal | undefined {
    const r = this.inventory.resolve(ctx.method, ctx.path);
    ctx.route = r.route;
    ctx.scratch.set(SCRATCH_RES, r);
    if (ctx.allowListed || r.endpoint !== undefined) return undefined;
    const now = ctx.startedAt;
    let ruleId: string;
    let message: string;
    if (this.inventory.seeded) {
      ruleId = 'behavior.discovery.shadow';
      message = 'endpoint not in the OpenAPI document (shadow endpoint)';
    } else if (now >= this.inventory.learningUntil) {
      ruleId = 'behavior.discovery.unknown';
      message = 'endpoint first seen after the learning period';
    } else return undefined;
    return {
      ruleId,
      detector: this.name,
      category: 'discovery',
      score: this.policy.unknownScore,
      risk: this.policy.unknownRisk,
      severity: 'notice',
      monitor: this.policy.monitor || undefined,
      tags: ['OWASP_API9:2023'],
      message,
      evidence: {
        location: { kind: 'path' },
        value: ctx.method + ' ' + r.route.slice(0, 240),
        detail: { route: r.route.slice(0, 256), learningUntil: this.inventory.learningUntil, seeded: this.inventory.seeded, endpoints: this.inventory.size },
      },
    };
  }

  observeResponse(ctx: RequestContext, res: ResponseInfo): undefined {
    // requests the gateway answered itself never reached the API: they say nothing about its endpoints
    if (res.byGateway) return undefined;
    const params = ctx.rawQuery === '' ? NO_PARAMS : queryParamNames(ctx.rawQuery);
    const route = this.inventory.observe(ctx.method, ctx.path, res.status, params, ctx.startedAt, ctx.scratch.get(SCRATCH_RES));
    ctx.route ??= route;
    return undefined;
  }

  reconfigure(policy: Policy): void {
    const p = (policy.behavior as { discovery?: DiscoveryPolicy }).discovery;
    if (p) {
      this.policy = p;
      this.inventory.policy = p;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.persist();
  }
}

/** Registry factory: the discovery detector, or undefined when `behavior.enabled` or `behavior.discovery.enabled` is false. */
export const discoveryDetector: DetectorFactory<Services> = (policy, services) => {
  const b = policy.behavior as { enabled: boolean; discovery?: DiscoveryPolicy };
  if (!b.enabled || !b.discovery?.enabled) return undefined;
  return new DiscoveryDetector(b.discovery, inventoryFor(services, b.discovery), services);
};
