import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, ResponseInfo, Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { KeyedState, SlidingCounter } from '../window.ts';
import type { FlowRule } from './schema.ts';
import { compilePattern, fmtMs, identityOf, matchSegments, segmentsOf, signal, type PathPattern, reloadable, behaviorKeys } from './common.ts';

interface CompiledRule {
  rule: FlowRule;
  then: PathPattern;
  requires?: PathPattern;
  /** identity key → time (ms) of the last successful `requires` request. */
  last: KeyedState<{ t: number }>;
  /** identity key → `then` requests in the `per` window. */
  freq?: KeyedState<SlidingCounter>;
}

function matches(p: PathPattern, ctx: RequestContext): boolean {
  return (p.method === undefined || p.method === ctx.method) && matchSegments(p.segments, segmentsOf(ctx));
}

/**
 * Business-flow rules declared in the policy (`behavior.flows.rules`; OWASP API6:2023 "Unrestricted Access to
 * Sensitive Business Flows"). Two kinds, combinable in one rule:
 *
 * - ordering: `{ then: 'POST /api/transaction', requires: 'GET /api/balance', within: 5m }` — the `then` request
 *   needs a successful (status < 400, answered by the upstream) `requires` request by the same identity within
 *   `within` before it;
 * - frequency: `{ then: 'POST /api/transaction', max: 3, per: 1m }` — at most `max` `then` requests per `per`
 *   (two-window sliding counter) and identity.
 *
 * Identity (`by`): `user` (`ctx.user`, falling back to the API key, then the client IP), `api_key`, or `ip`.
 * A violation emits `behavior.flow.<id>` with the rule's action (default block; `ban` bans the identity's scope).
 * State: two LRU maps per rule bounded by {@link behaviorKeys}.
 *
 * @returns undefined when disabled or when no rule is declared.
 */
function buildFlowsDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.flows;
  if (!policy.behavior.enabled || !cfg.enabled || cfg.rules.length === 0) return undefined;
  const maxKeys = behaviorKeys(policy);
  const rules: CompiledRule[] = cfg.rules.map((rule) => ({
    rule,
    then: compilePattern(rule.then),
    requires: rule.requires !== undefined ? compilePattern(rule.requires) : undefined,
    last: new KeyedState(maxKeys, () => ({ t: -Infinity })),
    freq: rule.max !== undefined ? new KeyedState(maxKeys, () => new SlidingCounter(rule.per)) : undefined,
  }));

  return {
    name: 'flows',
    inspectRequest(ctx: RequestContext): DetectorResult {
      let out: Signal[] | undefined;
      const now = ctx.startedAt;
      for (const r of rules) {
        if (!matches(r.then, ctx)) continue;
        const id = identityOf(ctx, r.rule.by, false);
        const monitor = cfg.monitor || r.rule.monitor;
        const emit = (why: string, detail: Record<string, string | number | boolean>): void => {
          (out ??= []).push(
            signal({
              ruleId: `behavior.flow.${r.rule.id}`,
              detector: 'flows',
              category: 'business-flow',
              action: r.rule.action,
              risk: r.rule.action === 'log' ? 0.4 : 0.7,
              monitor,
              message: why,
              detail: { identity: id.scope, ...detail },
              ban: { scope: id.scope, value: id.value, durationMs: r.rule.banDuration },
              tags: ['OWASP_API/API6:2023'],
            }),
          );
        };
        if (r.requires) {
          const last = r.last.peek(id.key);
          if (last === undefined || now - last.t > r.rule.within) {
            emit(`${r.rule.then} without ${r.rule.requires} by the same ${id.scope} within ${fmtMs(r.rule.within)}`, {
              requires: r.rule.requires!,
              withinMs: r.rule.within,
              sinceLastMs: last === undefined ? -1 : now - last.t,
            });
          }
        }
        if (r.freq && r.rule.max !== undefined) {
          const c = r.freq.get(id.key);
          c.add(now);
          const n = c.total(now);
          if (n > r.rule.max) emit(`${r.rule.then} ${n} times in ${fmtMs(r.rule.per)} (max ${r.rule.max}) by one ${id.scope}`, { count: n, max: r.rule.max, windowMs: r.rule.per });
        }
      }
      return out;
    },
    observeResponse(ctx: RequestContext, res: ResponseInfo): DetectorResult {
      if (res.byGateway || res.status >= 400) return undefined;
      for (const r of rules) {
        if (r.requires && matches(r.requires, ctx)) r.last.get(identityOf(ctx, r.rule.by, false).key).t = ctx.startedAt + res.latencyMs;
      }
      return undefined;
    },
  };
}

/** Registry factory of {@link buildFlowsDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const flowsDetector = reloadable(buildFlowsDetector, (p) => [p.behavior.enabled, p.behavior.flows, p.state.maxKeys]);
