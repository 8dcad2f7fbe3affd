import type { Location } from '../../../core/types.ts';
import { RequestContext } from '../../../core/context.ts';
import type { InspectionScope, Part, PartRule, PayloadRule, RequestRule, TransformName } from '../../types.ts';
import { applyChain } from '../../transforms.ts';

/**
 * Test support for the detector modules (used only by `*.test.ts`): a minimal {@link InspectionScope} over a
 * hand-built part list, with the real transformation registry, so that rules are exercised exactly as the
 * engine runs them (each chain tried on its own, first non-null hit wins).
 */

/** Builds a request context for tests: method, request-target and headers (name/value pairs in wire order). */
export function testContext(method: string, target: string, headers: readonly [string, string][] = [], body?: string): RequestContext {
  const h: Record<string, string | string[]> = {};
  const raw: string[] = [];
  for (const [k, v] of headers) {
    raw.push(k, v);
    const lk = k.toLowerCase();
    const prev = h[lk];
    if (prev === undefined) h[lk] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else h[lk] = lk === 'set-cookie' ? [prev, v] : `${prev}, ${v}`;
  }
  const ctx = new RequestContext({ id: 't', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target, headers: h as never, rawHeaders: raw });
  if (body !== undefined) ctx.body = { bytes: Buffer.from(body, 'utf8'), truncated: false, declaredLength: Buffer.byteLength(body) };
  return ctx;
}

/** A scope over `parts` (and an optional context) that applies chains with the real transformation registry. */
export function testScope(parts: Part[], ctx: RequestContext = testContext('GET', '/')): InspectionScope {
  return {
    ctx,
    parts,
    transformed: (p, chain) => applyChain(p.value, chain),
    budgetLeftMs: () => 50,
  };
}

/**
 * Runs one part rule on a value at a location (kind defaults to `query`, name `q`), trying each declared
 * chain; returns the first hit or null. Returns null as well when the rule does not target that kind.
 */
export function matchPart(rule: PartRule, value: string, kind: Location['kind'] = 'query', name = 'q'): string | null {
  if (!rule.targets.includes(kind)) return null;
  const part: Part = { loc: { kind, name }, value };
  const scope = testScope([part]);
  for (const chain of rule.transforms) {
    const hit = rule.match(applyChain(value, chain as readonly TransformName[]), part, scope);
    if (hit) return typeof hit === 'string' ? hit : hit.matched;
  }
  return null;
}

/** Runs every part rule of a module at paranoia ≤ `pl` on one value; returns the ids that matched. */
export function matchAll(rules: readonly PayloadRule[], value: string, kind: Location['kind'] = 'query', pl = 1): string[] {
  const ids: string[] = [];
  for (const r of rules) {
    if (r.kind !== 'part' || r.paranoia > pl) continue;
    if (matchPart(r, value, kind) !== null) ids.push(r.id);
  }
  return ids;
}

/** Runs every request rule at paranoia ≤ `pl` on a scope; returns `id: hit` strings. */
export function checkAll(rules: readonly PayloadRule[], scope: InspectionScope, pl = 1): string[] {
  const out: string[] = [];
  for (const r of rules) {
    if (r.kind !== 'request' || r.paranoia > pl) continue;
    for (const h of (r as RequestRule).check(scope)) out.push(`${r.id}: ${h.hit}`);
  }
  return out;
}

/** Time in ms to run every rule (all paranoia levels) on `value` at each of the given kinds. */
export function timeAll(rules: readonly PayloadRule[], value: string, kinds: readonly Location['kind'][] = ['query', 'json', 'path', 'header']): number {
  const t0 = performance.now();
  for (const k of kinds) matchAll(rules, value, k, 4);
  return performance.now() - t0;
}

/** Asserts the rule metadata invariants shared by every module (ids numeric, unique, levels, tags). */
export function ruleMetaProblems(rules: readonly PayloadRule[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const r of rules) {
    if (!/^\d{6}$/.test(r.id)) problems.push(`${r.id}: id is not a 6-digit number`);
    if (seen.has(r.id)) problems.push(`${r.id}: duplicate id`);
    seen.add(r.id);
    if (![1, 2, 3, 4].includes(r.paranoia)) problems.push(`${r.id}: bad paranoia`);
    if (!r.tags.some((t) => t.startsWith('CWE-'))) problems.push(`${r.id}: no CWE tag`);
    if (r.kind === 'part' && (r.targets.length === 0 || r.transforms.length === 0)) problems.push(`${r.id}: no targets/transforms`);
  }
  return problems;
}
