import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Policy } from '../../config/schema.ts';
import { principalOf, type ControlPlaneContext } from '../context.ts';
import { documentToYaml, etagOf, mergePatch, yamlToDocument } from '../policy.ts';
import { maskApiKey } from '../audit.ts';
import { ApiError, errors } from '../problem.ts';
import { appliedResponse, versionsResponse } from '../schemas.ts';

const MAX_YAML = 1024 * 1024;
const comment = z.string().max(512).optional();
const doc = z.record(z.string().max(128), z.unknown());

/** Deepest nesting accepted in a policy document (the policy schema itself is < 10 levels deep). */
const MAX_DEPTH = 64;

/**
 * Rejects documents nested deeper than {@link MAX_DEPTH} before any recursive processing (merge patch,
 * YAML serialisation): iterative, so a 1 MiB `{"a":{"a":…}}` body costs one linear pass, not a stack overflow.
 * @throws {ApiError} 400 `BWK_VALIDATION`.
 */
export function assertDepth(v: unknown, max = MAX_DEPTH): void {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) throw errors.validation(`document nested deeper than ${max} levels`);
    for (const y of Array.isArray(x) ? x : Object.values(x as Record<string, unknown>)) stack.push([y, d + 1]);
  }
}

/** API keys of a policy document's allow/deny lists (strings of at least 4 characters). */
function apiKeysOf(doc: unknown): string[] {
  const out: string[] = [];
  const lists = (doc as { lists?: Record<string, { apiKeys?: unknown } | undefined> } | undefined)?.lists;
  for (const l of [lists?.allow, lists?.deny]) {
    if (Array.isArray(l?.apiKeys)) for (const k of l.apiKeys) if (typeof k === 'string' && k.length >= 4) out.push(k);
  }
  return out;
}

/**
 * Viewers do not see API keys (allow/deny lists hold client credentials): every occurrence in a text is
 * replaced by its masked form (first 4 chars + `…` + SHA-256 prefix), longest keys first. A key is also
 * found as YAML writes it when it holds characters YAML escapes (`"…\"…"` double-quoted, `'…''…'` single-quoted).
 */
function maskKeys(text: string, keys: readonly string[]): string {
  let out = text;
  for (const k of [...new Set(keys)].sort((a, b) => b.length - a.length)) {
    const masked = maskApiKey(k);
    for (const form of new Set([k, JSON.stringify(k).slice(1, -1), k.replaceAll("'", "''")])) out = out.split(form).join(masked);
  }
  return out;
}

/** {@link maskKeys} applied to every string in a JSON-like value (objects are masked field by field, not as JSON text). */
function maskDeep<T>(v: T, keys: readonly string[]): T {
  if (typeof v === 'string') return maskKeys(v, keys) as T;
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, keys)) as T;
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = maskDeep(x, keys);
    return out as T;
  }
  return v;
}

function ifMatchOf(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h.join(',') : h;
}

/** Milliseconds → a duration string the policy schema reads back as the same value (`90000ms`). */
function durationText(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : `${ms}ms`;
}

/**
 * The `rateLimits` list as a document fragment: used when a change must touch rate-limit rules that are
 * still the built-in defaults (absent from the document). Durations are written with units so the schema
 * does not read milliseconds as seconds.
 */
function rateLimitsDocument(p: Policy): Record<string, unknown>[] {
  return p.rateLimits.map((r) => {
    const o: Record<string, unknown> = { id: r.id, match: r.match, key: r.key, limit: r.limit, window: durationText(r.window), algorithm: r.algorithm, action: r.action, banAfter: r.banAfter, monitor: r.monitor };
    if (r.burst !== undefined) o.burst = r.burst;
    if (r.banDuration !== undefined) o.banDuration = durationText(r.banDuration);
    return o;
  });
}

/**
 * Behavioural rule-id families (`behavior.<family>.…`, see src/behavior/detectors/*) → their detector's key in
 * the `behavior` policy section. Behavioural detectors have one `monitor` switch each (not per rule).
 */
const BEHAVIOR_FAMILIES: Readonly<Record<string, string>> = {
  bots: 'bots', bruteforce: 'bruteForce', fingerprint: 'fingerprint', honeypot: 'honeypot', scanner: 'scanner',
  stuffing: 'credentialStuffing', enum: 'enumeration', flow: 'flows',
};

/** Sections exposed as detector settings (`PATCH /detectors/:name` merge-patches them). */
const DETECTOR_SECTIONS = ['detection', 'behavior'] as const;

/**
 * Policy read/validate/replace/patch with optimistic concurrency, versions, rollback, detector settings
 * and per-rule monitor/enforce (docs/api.md "Policy and versions").
 */
export async function policyRoutes(f: FastifyInstance, ctx: ControlPlaneContext): Promise<void> {
  const r = f.withTypeProvider<ZodTypeProvider>();
  const svc = ctx.policy;

  const view = async () => {
    const v = await svc.current();
    return { etag: v.etag, body: { version: v.version, yaml: v.yaml, document: v.document, policy: v.policy } };
  };

  r.get('/policy', { config: { role: 'viewer' }, schema: { tags: ['policy'], summary: 'The policy in force (YAML, document as written, and with defaults); API keys masked for viewers' } }, async (request, reply) => {
    const v = await view();
    reply.header('etag', v.etag);
    if (principalOf(request).role !== 'viewer') return v.body;
    const keys = [...apiKeysOf(v.body.document), ...apiKeysOf(v.body.policy)];
    return maskDeep(v.body, keys);
  });

  const input = z.strictObject({ yaml: z.string().max(MAX_YAML).optional(), document: doc.optional(), comment });
  r.post('/policy/validate', { config: { role: 'viewer' }, schema: { tags: ['policy'], summary: 'Validate a policy without applying it', body: input } }, async (request) => {
    const b = request.body;
    if ((b.yaml === undefined) === (b.document === undefined)) throw errors.validation('give exactly one of yaml or document');
    assertDepth(b.document);
    const res = svc.validate(b);
    return res.valid ? { valid: true, policy: res.policy } : res;
  });

  const applied = async (req: FastifyRequest, reply: FastifyReply, v: { version: number; before: number }, action: string, extra?: Record<string, unknown>) => {
    const ver = (await svc.version(v.version))!;
    ctx.audit(req, { action, resource: 'policy', resourceId: String(v.version), before: { version: v.before }, after: { version: v.version, linesAdded: ver.linesAdded, linesRemoved: ver.linesRemoved, comment: ver.comment, ...extra } });
    reply.header('etag', etagOf(v.version));
    return { version: v.version, etag: etagOf(v.version), linesAdded: ver.linesAdded, linesRemoved: ver.linesRemoved };
  };

  r.put('/policy', { config: { role: 'admin' }, schema: { tags: ['policy'], summary: 'Replace the policy (If-Match required)', body: input, response: { 200: appliedResponse } } }, async (request, reply) => {
    const b = request.body;
    if ((b.yaml === undefined) === (b.document === undefined)) throw errors.validation('give exactly one of yaml or document');
    assertDepth(b.document);
    const p = principalOf(request);
    let yaml = b.yaml;
    if (yaml === undefined) yaml = documentToYaml(b.document!);
    const v = await svc.apply(yaml, p.name, { comment: b.comment, ifMatch: ifMatchOf(request.headers['if-match']) });
    return applied(request, reply, v, 'policy.replace');
  });

  r.patch('/policy', {
    config: { role: 'admin' },
    schema: { tags: ['policy'], summary: 'JSON merge patch (RFC 7396) of the policy document (If-Match required)', body: doc, response: { 200: appliedResponse } },
  }, async (request, reply) => {
    const ifMatch = ifMatchOf(request.headers['if-match']);
    if (ifMatch === undefined) throw new ApiError(428, 'BWK_PRECONDITION_REQUIRED', 'If-Match header required');
    assertDepth(request.body);
    const v = await svc.update(principalOf(request).name, (d) => mergePatch(d, request.body) as Record<string, unknown>, { ifMatch, comment: 'merge patch' });
    return applied(request, reply, v, 'policy.patch', { patch: request.body });
  });

  r.get('/policy/versions', {
    config: { role: 'viewer' },
    schema: { tags: ['policy'], summary: 'Policy versions, newest first', querystring: z.strictObject({ cursor: z.coerce.number().int().positive().optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }), response: { 200: versionsResponse } },
  }, async (request) => {
    const rows = await svc.versions(request.query.cursor, request.query.limit + 1);
    const more = rows.length > request.query.limit;
    const page = rows.slice(0, request.query.limit);
    return {
      items: page.map((v) => ({ version: v.version, author: v.author, createdAt: v.createdAt, comment: v.comment, linesAdded: v.linesAdded, linesRemoved: v.linesRemoved })),
      ...(more ? { nextCursor: String(page[page.length - 1]!.version) } : {}),
    };
  });

  const verParam = z.strictObject({ version: z.coerce.number().int().positive() });
  r.get('/policy/versions/:version', { config: { role: 'viewer' }, schema: { tags: ['policy'], summary: 'One version with its YAML and diff', params: verParam } }, async (request) => {
    const v = await svc.version(request.params.version);
    if (!v) throw errors.notFound('policy version');
    if (principalOf(request).role !== 'viewer') return v;
    const prev = await svc.version(v.version - 1);
    const keys = [...apiKeysOf(yamlToDocument(v.yaml)), ...(prev ? apiKeysOf(yamlToDocument(prev.yaml)) : []), ...apiKeysOf(ctx.app.policy())];
    return { ...v, yaml: maskKeys(v.yaml, keys), diff: maskKeys(v.diff, keys), comment: v.comment === undefined ? undefined : maskKeys(v.comment, keys) };
  });

  r.post('/policy/versions/:version/rollback', {
    config: { role: 'admin' },
    schema: { tags: ['policy'], summary: 'Roll back: a new version with the YAML of an older one', params: verParam, body: z.strictObject({ comment }).optional() },
  }, async (request, reply) => {
    const target = await svc.version(request.params.version);
    if (!target) throw errors.notFound('policy version');
    const v = await svc.apply(target.yaml, principalOf(request).name, {
      comment: request.body?.comment ?? `rollback to v${target.version}`,
      ifMatch: ifMatchOf(request.headers['if-match']),
      requireMatch: false,
    });
    return applied(request, reply, v, 'policy.rollback', { rollbackTo: target.version });
  });

  // --- detector settings and rule modes (policy patches)
  r.get('/detectors', { config: { role: 'viewer' }, schema: { tags: ['detectors'], summary: 'Detector settings and rule modes' } }, async () => {
    const p = ctx.app.policy();
    const beh = p.behavior as unknown as Record<string, { enabled?: boolean; monitor?: boolean } | undefined>;
    const behaviorDetectors = Object.values(BEHAVIOR_FAMILIES).filter((k) => typeof beh[k] === 'object' && beh[k] !== null);
    const items = [
      ...DETECTOR_SECTIONS.map((name) => ({ name, enabled: (p[name] as { enabled?: boolean }).enabled !== false, settings: p[name] })),
      { name: 'ratelimit', enabled: p.rateLimits.length > 0, settings: { rules: p.rateLimits } },
      ...behaviorDetectors.map((k) => ({ name: `behavior.${k}`, enabled: beh[k]!.enabled !== false, monitor: beh[k]!.monitor === true, settings: beh[k] })),
    ];
    const rules = [
      ...p.rateLimits.map((rl) => ({ ruleId: `ratelimit.${rl.id}`, mode: rl.monitor ? 'monitor' : 'enforce', source: 'rateLimits' })),
      ...p.detection.monitor.rules.map((id) => ({ ruleId: id, mode: 'monitor', source: 'detection.monitor.rules' })),
      ...Object.entries(BEHAVIOR_FAMILIES)
        .filter(([, k]) => beh[k]?.monitor === true)
        .map(([fam, k]) => ({ ruleId: `behavior.${fam}.*`, mode: 'monitor', source: `behavior.${k}.monitor` })),
    ];
    return { mode: p.mode, items, rules, monitorCategories: p.detection.monitor.categories, disabledRules: p.detection.disabledRules };
  });

  r.patch('/detectors/:name', {
    config: { role: 'admin' },
    schema: { tags: ['detectors'], summary: 'Merge-patch a detector section (detection, behavior)', params: z.strictObject({ name: z.enum(DETECTOR_SECTIONS) }), body: z.strictObject({ enabled: z.boolean().optional(), settings: doc.optional() }) },
  }, async (request, reply) => {
    const { name } = request.params;
    assertDepth(request.body.settings);
    const patch: Record<string, unknown> = { ...(request.body.settings ?? {}) };
    if (request.body.enabled !== undefined) patch.enabled = request.body.enabled;
    const v = await svc.update(principalOf(request).name, (d) => mergePatch(d, { [name]: patch }) as Record<string, unknown>, {
      ifMatch: ifMatchOf(request.headers['if-match']),
      comment: `detector ${name} settings`,
    });
    return applied(request, reply, v, 'detector.update', { detector: name, patch });
  });

  r.put('/rules/:ruleId/mode', {
    config: { role: 'admin' },
    schema: { tags: ['detectors'], summary: 'Switch one rule between monitor and enforce', params: z.strictObject({ ruleId: z.string().min(1).max(128) }), body: z.strictObject({ mode: z.enum(['monitor', 'enforce']) }) },
  }, async (request, reply) => {
    const { ruleId } = request.params;
    const monitor = request.body.mode === 'monitor';
    const p = ctx.app.policy();
    const rlId = ruleId.startsWith('ratelimit.') ? ruleId.slice('ratelimit.'.length) : ruleId;
    const rlIndex = p.rateLimits.findIndex((x) => x.id === rlId);
    let edit: (d: Record<string, unknown>) => Record<string, unknown>;
    const family = ruleId.startsWith('behavior.') ? ruleId.split('.')[1] ?? '' : '';
    const behKey = Object.hasOwn(BEHAVIOR_FAMILIES, family) ? BEHAVIOR_FAMILIES[family] : undefined;
    if (rlIndex !== -1) {
      edit = (d) => {
        const list = Array.isArray(d.rateLimits) ? (d.rateLimits as Record<string, unknown>[]).map((x) => ({ ...x })) : rateLimitsDocument(p);
        const i = list.findIndex((x) => x.id === rlId);
        if (i !== -1) list[i]!.monitor = monitor;
        return { ...d, rateLimits: list };
      };
    } else if (behKey !== undefined) {
      // behavioural detectors switch as a whole: `behavior.<detector>.monitor`
      edit = (d) => mergePatch(d, { behavior: { [behKey]: { monitor } } }) as Record<string, unknown>;
    } else {
      if (!/^([a-z0-9-]{1,32}\.)?[0-9]{3,9}$/.test(ruleId)) throw errors.notFound(`rule ${ruleId}`);
      edit = (d) => {
        const det = { ...((d.detection as Record<string, unknown> | undefined) ?? {}) };
        const mon = { ...((det.monitor as Record<string, unknown> | undefined) ?? {}) };
        const rules = new Set(Array.isArray(mon.rules) ? (mon.rules as string[]) : []);
        if (monitor) rules.add(ruleId);
        else rules.delete(ruleId);
        mon.rules = [...rules];
        det.monitor = mon;
        return { ...d, detection: det };
      };
    }
    const v = await svc.update(principalOf(request).name, edit, { ifMatch: ifMatchOf(request.headers['if-match']), comment: `rule ${ruleId}: ${request.body.mode}` });
    return applied(request, reply, v, 'rule.mode', { ruleId, mode: request.body.mode });
  });

  r.put('/mode', {
    config: { role: 'admin' },
    schema: { tags: ['detectors'], summary: 'Global enforce / monitor mode', body: z.strictObject({ mode: z.enum(['monitor', 'enforce']) }), response: { 200: appliedResponse } },
  }, async (request, reply) => {
    const v = await svc.update(principalOf(request).name, (d) => ({ ...d, mode: request.body.mode }), { ifMatch: ifMatchOf(request.headers['if-match']), comment: `mode: ${request.body.mode}` });
    return applied(request, reply, v, 'policy.mode', { mode: request.body.mode });
  });
}
