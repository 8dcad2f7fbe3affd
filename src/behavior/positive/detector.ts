import { boundedCopy } from '../../core/strings.ts';
import type { Detector, DetectorFactory } from '../../core/detector.ts';
import { scratchKey, type RequestContext } from '../../core/context.ts';
import type { Location, ResponseInfo, Signal } from '../../core/types.ts';
import type { Services } from '../../core/services.ts';
import type { Policy } from '../../config/schema.ts';
import { PositiveModel, positiveModelFor, type Deviation } from './model.ts';
import { bodyParts, queryParts, type ModelPart } from './parts.ts';
import type { PositiveModelPolicy } from './schema.ts';

const SCRATCH = scratchKey<Scratch>('positive');

interface Scratch {
  key: string;
  parts: ModelPart[];
  deviated: boolean;
  scoreUsed: number;
  counted: boolean;
}

const loaded = new WeakSet<PositiveModel>();

/** Endpoint key of a request for the positive model: `METHOD route` (route from discovery, else the raw path). */
export function endpointKey(ctx: RequestContext): string {
  return ctx.method + ' ' + (ctx.route ?? boundedCopy(ctx.path, 256));
}

/**
 * The positive security model detector. Request phase checks query parameters, body phase form/JSON/multipart
 * parameters against the endpoint's learned profile; response phase learns from requests that were allowed,
 * answered below 400 and did not deviate (so attacks blocked or flagged do not poison the profile).
 * Signals (`behavior.positive.unknown_param|type|charset|length`, category `positive`) carry anomaly points
 * capped per request by `maxScore` (default 3, below the default threshold 5) and a risk.
 */
export class PositiveDetector implements Detector {
  readonly name = 'positive';
  readonly needsBody = true;
  readonly model: PositiveModel;
  /** Counters since creation: requests whose endpoint profile was enforced, requests flagged, deviations by kind. */
  readonly stats = { enforced: 0, flagged: 0, kinds: {} as Record<string, number> };
  private policy: PositiveModelPolicy;
  private readonly services?: Services;
  private timer?: NodeJS.Timeout;

  /** @param policy - `behavior.positiveModel`; @param model - shared model; @param services - for persistence. */
  constructor(policy: PositiveModelPolicy, model: PositiveModel, services?: Services) {
    this.policy = policy;
    this.model = model;
    this.services = services;
    if (services?.db) {
      if (!loaded.has(model)) {
        loaded.add(model);
        try {
          PositiveModel.migrate(services.db);
          model.load(services.db);
        } catch (err) {
          services.logger?.warn({ err }, 'positive model: cannot load persisted profiles; starting empty');
        }
      }
      this.timer = setInterval(() => this.persist(), policy.persistInterval);
      this.timer.unref();
    }
  }

  /** Writes changed profiles; never throws. */
  persist(): void {
    if (!this.services?.db) return;
    try {
      this.model.persist(this.services.db);
    } catch (err) {
      this.services.logger?.warn({ err }, 'positive model: persisting failed');
    }
  }

  private scratch(ctx: RequestContext): Scratch {
    let s = ctx.scratch.get(SCRATCH);
    if (s === undefined) {
      s = { key: endpointKey(ctx), parts: [], deviated: false, scoreUsed: 0, counted: false };
      ctx.scratch.set(SCRATCH, s);
      if (this.model.state(s.key, ctx.startedAt) !== 'learning') this.stats.enforced++;
    }
    return s;
  }

  private signals(ctx: RequestContext, s: Scratch, devs: Deviation[]): Signal[] | undefined {
    if (devs.length === 0) return undefined;
    s.deviated = true;
    if (!s.counted) {
      s.counted = true;
      this.stats.flagged++;
    }
    for (const d of devs) this.stats.kinds[d.kind] = (this.stats.kinds[d.kind] ?? 0) + 1;
    const out: Signal[] = [];
    const byKind = new Map<Deviation['kind'], Deviation[]>();
    for (const d of devs) {
      const l = byKind.get(d.kind);
      if (l) l.push(d);
      else byKind.set(d.kind, [d]);
    }
    const prof = this.model.profile(s.key);
    for (const [kind, list] of byKind) {
      const want = kind === 'unknown_param' ? this.policy.scores.unknownParam : kind === 'type' ? this.policy.scores.typeMismatch : kind === 'charset' ? this.policy.scores.charset : this.policy.scores.length;
      const score = Math.max(0, Math.min(want, this.policy.maxScore - s.scoreUsed));
      s.scoreUsed += score;
      const first = list[0]!;
      const colon = first.param.indexOf(':');
      out.push({
        ruleId: `behavior.positive.${kind}`,
        detector: this.name,
        category: 'positive',
        score,
        risk: this.policy.risk,
        severity: 'notice',
        monitor: this.policy.monitor || undefined,
        tags: ['OWASP_API8:2023', 'positive-security-model'],
        message: `request deviates from the learned profile of ${s.key.slice(0, 200)}: ${kind.replace('_', ' ')}`,
        evidence: {
          location: { kind: first.param.slice(0, colon) as Location['kind'], name: first.param.slice(colon + 1, colon + 129) },
          matched: `${first.param.slice(0, 100)}: expected ${first.expected.slice(0, 60)}, saw ${first.seen.slice(0, 60)}`,
          detail: {
            endpoint: s.key.slice(0, 256),
            deviations: list.length,
            params: list.slice(0, 5).map((d) => d.param.slice(0, 60)).join(','),
            expected: first.expected.slice(0, 128),
            seen: first.seen.slice(0, 128),
            learnedFrom: prof?.n ?? 0,
            state: this.model.state(s.key, ctx.startedAt),
            maxScore: this.policy.maxScore,
          },
        },
      });
    }
    return out;
  }

  inspectRequest(ctx: RequestContext): Signal[] | undefined {
    const s = this.scratch(ctx);
    const parts = queryParts(ctx);
    for (const p of parts) s.parts.push(p);
    return this.signals(ctx, s, this.model.check(s.key, parts, ctx.startedAt));
  }

  inspectBody(ctx: RequestContext): Signal[] | undefined {
    const s = this.scratch(ctx);
    const parts = bodyParts(ctx);
    for (const p of parts) s.parts.push(p);
    return this.signals(ctx, s, this.model.check(s.key, parts, ctx.startedAt));
  }

  observeResponse(ctx: RequestContext, res: ResponseInfo): undefined {
    const s = ctx.scratch.get(SCRATCH);
    if (!s || s.deviated || res.byGateway || res.status >= 400) return undefined;
    const a = ctx.verdict?.action;
    if (a !== undefined && a !== 'allow' && a !== 'log') return undefined;
    // the route may have been learned by discovery only now: key by the final route
    const key = endpointKey(ctx);
    this.model.learn(key, s.parts, ctx.startedAt);
    return undefined;
  }

  reconfigure(policy: Policy): void {
    const p = (policy.behavior as { positiveModel?: PositiveModelPolicy }).positiveModel;
    if (p) {
      this.policy = p;
      this.model.policy = p;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.persist();
  }
}

/** Registry factory: the positive-model detector, or undefined when disabled. */
export const positiveDetector: DetectorFactory<Services> = (policy, services) => {
  const b = policy.behavior as { enabled: boolean; positiveModel?: PositiveModelPolicy };
  if (!b.enabled || !b.positiveModel?.enabled) return undefined;
  return new PositiveDetector(b.positiveModel, positiveModelFor(services, b.positiveModel), services);
};
