import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getInventory } from '../../behavior/discovery/inventory.ts';
import { cidr } from '../../config/schema.ts';
import { canonicalIp, parseCidr, formatCidr } from '../../core/ip.ts';
import type { Decision } from '../../core/types.ts';
import type { EventQuery } from '../../events/types.ts';
import { maskApiKey } from '../audit.ts';
import { roleAllows } from '../auth.ts';
import { principalOf, type ControlPlaneContext } from '../context.ts';
import { DECISION_COLUMNS, EVENT_COLUMNS, EXPORT_CONTENT_TYPE, exportStream, type ExportFormat } from '../export.ts';
import { errors } from '../problem.ts';
import { renderReportHtml } from '../report.ts';
import { timelineResponse } from '../schemas.ts';

const ms = z.coerce.number().int().min(0).max(8_640_000_000_000_000);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const format = z.enum(['csv', 'ndjson', 'json']).default('json');

const eventFilters = {
  from: ms.optional(),
  to: ms.optional(),
  clientIp: z.string().max(64).optional(),
  route: z.string().max(512).optional(),
  ruleId: z.string().max(128).optional(),
  category: z.string().max(64).optional(),
  action: z.enum(['allow', 'log', 'throttle', 'block', 'ban']).optional(),
  level: z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']).optional(),
  monitor: bool.optional(),
  q: z.string().max(256).optional(),
};

function eventQuery(q: { from?: number; to?: number; clientIp?: string; route?: string; ruleId?: string; category?: string; action?: EventQuery['action']; level?: EventQuery['level']; monitor?: boolean; q?: string }): EventQuery {
  const out: EventQuery = {};
  if (q.from !== undefined) out.from = q.from;
  if (q.to !== undefined) out.to = q.to;
  if (q.clientIp) out.clientIp = q.clientIp;
  if (q.route) out.route = q.route;
  if (q.ruleId) out.ruleId = q.ruleId;
  if (q.category) out.category = q.category;
  if (q.action) out.action = q.action;
  if (q.level) out.level = q.level;
  if (q.monitor !== undefined) out.monitor = q.monitor;
  if (q.q) out.text = q.q;
  return out;
}

/**
 * A decision as a principal may see it: viewers get `api_key` values masked (they are client credentials);
 * analysts and admins, who manage decisions, see them in full.
 */
export function decisionFor(role: string, d: Decision): Decision {
  return role === 'viewer' && d.scope === 'api_key' ? { ...d, value: maskApiKey(d.value) } : d;
}

/** Sends a streamed export as an attachment. */
export function sendExport(reply: FastifyReply, name: string, fmt: ExportFormat, body: NodeJS.ReadableStream): FastifyReply {
  const ext = fmt === 'ndjson' ? 'ndjson' : fmt;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  reply.header('content-type', EXPORT_CONTENT_TYPE[fmt]);
  reply.header('content-disposition', `attachment; filename="bulwark-${name}-${stamp}.${ext}"`);
  return reply.send(body);
}

/** Window of a stats/report query: defaults to the last hour. */
function window(q: { from?: number; to?: number }, defMs = 3_600_000): { from: number; to: number } {
  const to = q.to ?? Date.now() + 60_000;
  const from = q.from ?? to - defMs - 60_000;
  if (from >= to) throw errors.validation('from must be before to', [{ path: 'from', message: 'must be before to' }]);
  return { from, to };
}

/**
 * Events, decisions, allow/deny lists, inventory, statistics, reports and the audit log
 * (docs/api.md). Lists are stored in the policy (`lists.allow` / `lists.deny`) so they version with it.
 */
export async function dataRoutes(f: FastifyInstance, ctx: ControlPlaneContext): Promise<void> {
  const r = f.withTypeProvider<ZodTypeProvider>();
  const svc = ctx.app.services;

  // --- events
  r.get('/events', {
    config: { role: 'viewer' },
    schema: { tags: ['events'], summary: 'Security events, newest first, cursor-paginated', querystring: z.strictObject({ ...eventFilters, cursor: z.string().max(512).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  }, async (request) => {
    const q = request.query;
    const page = await svc.eventStore.query({ ...eventQuery(q), cursor: q.cursor, limit: q.limit });
    return { items: page.events, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  });

  r.get('/events/export', {
    config: { role: 'viewer' },
    schema: { tags: ['events'], summary: 'Export events (streamed, oldest first)', querystring: z.strictObject({ ...eventFilters, format }) },
  }, async (request, reply) => {
    const q = request.query;
    return sendExport(reply, 'events', q.format, exportStream(svc.eventStore.stream(eventQuery(q)), q.format, EVENT_COLUMNS));
  });

  // --- decisions
  const decisionFilter = z.strictObject({
    scope: z.enum(['ip', 'range', 'api_key', 'user', 'fingerprint']).optional(),
    value: z.string().max(512).optional(),
    type: z.enum(['ban', 'throttle', 'captcha']).optional(),
    origin: z.enum(['rule', 'manual']).optional(),
    includeExpired: bool.optional(),
  });
  r.get('/decisions', {
    config: { role: 'viewer' },
    schema: { tags: ['decisions'], summary: 'Active decisions (bans, throttles), newest first; `total` counts all matches', querystring: decisionFilter.extend({ limit: z.coerce.number().int().min(1).max(10_000).default(1000) }) },
  }, async (request) => {
    const { limit, ...filter } = request.query;
    const all = svc.decisions.list(filter);
    all.sort((a, b) => b.createdAt - a.createdAt);
    const role = principalOf(request).role;
    return { items: all.slice(0, limit).map((d) => decisionFor(role, d)), total: all.length };
  });

  r.get('/decisions/export', {
    config: { role: 'viewer' },
    schema: { tags: ['decisions'], summary: 'Export decisions', querystring: decisionFilter.extend({ format }) },
  }, async (request, reply) => {
    const { format: fmt, ...filter } = request.query;
    const role = principalOf(request).role;
    return sendExport(reply, 'decisions', fmt, exportStream(svc.decisions.list(filter).map((d) => decisionFor(role, d)), fmt, DECISION_COLUMNS));
  });

  r.get('/decisions/:id', { config: { role: 'viewer' }, schema: { tags: ['decisions'], params: z.strictObject({ id: z.string().min(1).max(64) }) } }, async (request) => {
    const d = svc.decisions.get(request.params.id);
    if (!d) throw errors.notFound('decision');
    return decisionFor(principalOf(request).role, d);
  });

  r.post('/decisions', {
    config: { role: 'analyst' },
    schema: {
      tags: ['decisions'],
      summary: 'Create a manual ban or throttle with a TTL',
      body: z.strictObject({
        scope: z.enum(['ip', 'range', 'api_key', 'user', 'fingerprint']),
        value: z.string().min(1).max(512),
        type: z.enum(['ban', 'throttle']),
        ttlS: z.int().min(1).max(31_536_000),
        reason: z.string().min(1).max(512),
      }),
    },
  }, async (request, reply) => {
    const b = request.body;
    let value = b.value;
    if (b.scope === 'ip') {
      const c = canonicalIp(value);
      if (!c) throw errors.validation('value is not an IP address', [{ path: 'value', message: 'expected an IP address' }]);
      value = c;
    } else if (b.scope === 'range') {
      const c = parseCidr(value);
      if (!c) throw errors.validation('value is not a CIDR', [{ path: 'value', message: 'expected a CIDR such as 10.0.0.0/8' }]);
      value = formatCidr(c);
    }
    const p = principalOf(request);
    const d = svc.decisions.add({ scope: b.scope, value, type: b.type, origin: 'manual', source: p.name, reason: b.reason, durationMs: b.ttlS * 1000, escalate: false });
    ctx.audit(request, { action: 'decision.create', resource: 'decision', resourceId: d.id, after: d });
    return reply.code(201).send(d);
  });

  r.delete('/decisions/:id', { config: { role: 'analyst' }, schema: { tags: ['decisions'], summary: 'Remove a decision (unban)', params: z.strictObject({ id: z.string().min(1).max(64) }) } }, async (request, reply) => {
    const before = svc.decisions.get(request.params.id);
    if (!(await svc.decisions.remove(request.params.id))) throw errors.notFound('decision');
    ctx.audit(request, { action: 'decision.delete', resource: 'decision', resourceId: request.params.id, before });
    return reply.code(204).send();
  });

  // --- allow / deny lists (in the policy)
  const listParam = z.strictObject({ list: z.enum(['allow', 'deny']) });
  r.get('/lists', { config: { role: 'viewer' }, schema: { tags: ['lists'], summary: 'Allow and deny list entries with who/why' } }, async (request) => {
    const pol = ctx.app.policy();
    const meta = new Map((await ctx.store.listMeta()).map((m) => [`${m.list}|${m.kind}|${m.value}`, m]));
    const canSeeKeys = roleAllows(principalOf(request).role, 'analyst');
    const items: unknown[] = [];
    for (const list of ['allow', 'deny'] as const) {
      for (const v of pol.lists[list].ips) items.push(entry(list, 'ip', v, v));
      for (const v of pol.lists[list].apiKeys) items.push(entry(list, 'api_key', v, canSeeKeys ? v : maskApiKey(v)));
    }
    function entry(list: 'allow' | 'deny', kind: 'ip' | 'api_key', value: string, shown: string) {
      const m = meta.get(`${list}|${kind}|${value}`);
      return { list, kind, value: shown, ...(m ? { addedBy: m.addedBy, reason: m.reason, addedAt: m.addedAt } : {}) };
    }
    return { items, policyVersion: (await ctx.store.latestPolicyVersion())?.version ?? 0 };
  });

  r.post('/lists/:list/entries', {
    config: { role: 'analyst' },
    schema: { tags: ['lists'], summary: 'Add an IP/CIDR or API key to a list (creates a policy version)', params: listParam, body: z.strictObject({ kind: z.enum(['ip', 'api_key']), value: z.string().min(1).max(512), reason: z.string().max(512).optional() }) },
  }, async (request, reply) => {
    const { list } = request.params;
    const { kind, reason } = request.body;
    let value = request.body.value;
    if (kind === 'ip') {
      if (!cidr.safeParse(value).success) throw errors.validation('value is not an IP or CIDR', [{ path: 'value', message: 'expected an IP address or CIDR such as 10.0.0.0/8' }]);
      value = value.includes('/') ? formatCidr(parseCidr(value)!) : (canonicalIp(value) ?? value);
    }
    const field = kind === 'ip' ? 'ips' : 'apiKeys';
    if ((ctx.app.policy().lists[list][field] as string[]).includes(value)) throw errors.conflict('entry already in the list');
    const p = principalOf(request);
    const v = await ctx.policy.update(p.name, (doc) => editList(doc, list, field, (xs) => [...xs, value]), { comment: `${list} list: add ${kind} ${kind === 'api_key' ? maskApiKey(value) : value}` });
    const addedAt = Date.now();
    await ctx.store.putListMeta({ list, kind, value, addedBy: p.name, reason, addedAt });
    const shown = kind === 'api_key' ? maskApiKey(value) : value;
    ctx.audit(request, { action: 'list.add', resource: 'list', resourceId: `${list}:${kind}:${shown}`, after: { list, kind, value: shown, reason, policyVersion: v.version } });
    return reply.code(201).send({ list, kind, value, addedBy: p.name, reason, addedAt, policyVersion: v.version });
  });

  r.delete('/lists/:list/entries', {
    config: { role: 'analyst' },
    schema: { tags: ['lists'], summary: 'Remove a list entry (creates a policy version)', params: listParam, querystring: z.strictObject({ kind: z.enum(['ip', 'api_key']), value: z.string().min(1).max(512) }) },
  }, async (request, reply) => {
    const { list } = request.params;
    const { kind, value } = request.query;
    const field = kind === 'ip' ? 'ips' : 'apiKeys';
    if (!(ctx.app.policy().lists[list][field] as string[]).includes(value)) throw errors.notFound('list entry');
    const shown = kind === 'api_key' ? maskApiKey(value) : value;
    const v = await ctx.policy.update(principalOf(request).name, (doc) => editList(doc, list, field, (xs) => xs.filter((x) => x !== value)), { comment: `${list} list: remove ${kind} ${shown}` });
    await ctx.store.deleteListMeta(list, kind, value);
    ctx.audit(request, { action: 'list.remove', resource: 'list', resourceId: `${list}:${kind}:${shown}`, before: { list, kind, value: shown }, after: { policyVersion: v.version } });
    return reply.code(204).send();
  });

  // --- API inventory (behaviour module)
  r.get('/inventory', { config: { role: 'viewer' }, schema: { tags: ['inventory'], summary: 'Discovered API endpoints with traffic, error and threat figures' } }, async () => {
    const inv = getInventory(svc);
    if (!inv) return { items: [], learningUntil: null };
    const now = Date.now();
    const threats = new Map(ctx.stats.topN('endpoint', now - 86_400_000, now + 60_000, 2000, true).map((t) => [t.key, t.blocked]));
    return {
      learningUntil: inv.learningUntil,
      items: inv.endpoints.map((e) => ({
        method: e.method,
        route: e.route,
        source: e.source,
        requests: e.count,
        errors: (e.status['5xx'] ?? 0) + (e.status['4xx'] ?? 0),
        status: e.status,
        threats: threats.get(`${e.method} ${e.route}`) ?? 0,
        shadow: e.source === 'learned' && inv.seeded,
        firstSeen: e.firstSeen,
        lastSeen: e.lastSeen,
      })),
    };
  });

  // --- statistics
  const range = z.strictObject({ from: ms.optional(), to: ms.optional() });
  r.get('/stats/timeline', {
    config: { role: 'viewer' },
    schema: { tags: ['stats'], summary: 'Traffic timeline (allowed/throttled/blocked) per minute or hour', querystring: range.extend({ bucket: z.enum(['minute', 'hour']).default('minute') }), response: { 200: timelineResponse } },
  }, async (request) => {
    const w = window(request.query, request.query.bucket === 'hour' ? 86_400_000 : 3_600_000);
    const b = request.query.bucket === 'hour' ? 3_600_000 : 60_000;
    return { bucket: request.query.bucket, from: w.from, to: w.to, items: ctx.stats.timeline(w.from, w.to, b) };
  });

  r.get('/stats/summary', { config: { role: 'viewer' }, schema: { tags: ['stats'], summary: 'Totals, top endpoints/clients/countries, threat levels, cost saved', querystring: range } }, async (request) => {
    return summary(ctx, window(request.query));
  });

  // --- reports
  r.get('/reports/summary', {
    config: { role: 'viewer' },
    schema: { tags: ['reports'], summary: 'Compliance/summary report for a period (JSON or printable HTML)', querystring: range.extend({ format: z.enum(['json', 'html']).default('json') }) },
  }, async (request, reply) => {
    const w = window(request.query, 86_400_000);
    const s = summary(ctx, w);
    const decisions = svc.decisions.list({ includeExpired: true }).filter((d: Decision) => d.createdAt >= w.from && d.createdAt < w.to);
    const audit = await ctx.store.queryAudit({ from: w.from, to: w.to, limit: 10_000 });
    const versions = await ctx.store.listPolicyVersions(undefined, 1000, w);
    const report = {
      generatedAt: Date.now(),
      period: { from: w.from, to: w.to },
      summary: s,
      topRules: ctx.stats.topN('rule', w.from, w.to, 20).map((t) => ({ ruleId: t.key, count: t.requests })),
      decisions: { created: decisions.length, manual: decisions.filter((d) => d.origin === 'manual').length, byType: countBy(decisions.map((d) => d.type)) },
      policyVersions: versions.map((v) => ({ version: v.version, author: v.author, createdAt: v.createdAt, comment: v.comment })),
      auditActions: countBy(audit.map((a) => a.action)),
    };
    if (request.query.format === 'html') {
      reply.header('content-type', 'text/html; charset=utf-8');
      reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      return reply.send(renderReportHtml(report));
    }
    return report;
  });

  // --- audit log (admin)
  const auditFilter = {
    from: ms.optional(),
    to: ms.optional(),
    actor: z.string().max(128).optional(),
    action: z.string().max(128).optional(),
    resource: z.string().max(64).optional(),
    resourceId: z.string().max(256).optional(),
  };
  r.get('/audit', {
    config: { role: 'admin' },
    schema: { tags: ['audit'], summary: 'Audit log, newest first', querystring: z.strictObject({ ...auditFilter, cursor: z.string().regex(/^\d{1,15}$/).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
  }, async (request) => {
    const { cursor, limit, ...filter } = request.query;
    const items = await ctx.store.queryAudit({ ...filter, beforeSeq: cursor === undefined ? undefined : Number(cursor), limit: limit + 1 });
    const more = items.length > limit;
    const page = items.slice(0, limit);
    return { items: page, ...(more ? { nextCursor: String(page[page.length - 1]!.seq) } : {}) };
  });

  r.get('/audit/export', {
    config: { role: 'admin' },
    schema: { tags: ['audit'], summary: 'Export the audit log (streamed in pages)', querystring: z.strictObject({ ...auditFilter, format }) },
  }, async (request, reply) => {
    const { format: fmt, ...filter } = request.query;
    const store = ctx.store;
    async function* pages() {
      let before: number | undefined;
      for (;;) {
        const rows = await store.queryAudit({ ...filter, beforeSeq: before, limit: 500 });
        for (const row of rows) yield { ...row, before: row.before === undefined ? undefined : JSON.stringify(row.before), after: row.after === undefined ? undefined : JSON.stringify(row.after) };
        if (rows.length < 500) return;
        before = rows[rows.length - 1]!.seq;
      }
    }
    return sendExport(reply, 'audit', fmt, exportStream(pages(), fmt, ['id', 'time', 'actor', 'actorId', 'ip', 'action', 'resource', 'resourceId', 'before', 'after']));
  });
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

/** Edits `lists.<list>.<field>` of a policy document (creating the path as needed). */
function editList(doc: Record<string, unknown>, list: 'allow' | 'deny', field: 'ips' | 'apiKeys', fn: (xs: string[]) => string[]): Record<string, unknown> {
  const lists = { ...((doc.lists as Record<string, unknown> | undefined) ?? {}) };
  const l = { ...((lists[list] as Record<string, unknown> | undefined) ?? {}) };
  l[field] = fn(Array.isArray(l[field]) ? (l[field] as string[]) : []);
  lists[list] = l;
  return { ...doc, lists };
}

/** The statistics summary over a window (docs/api.md `GET /stats/summary`). */
export function summary(ctx: ControlPlaneContext, w: { from: number; to: number }) {
  const t = ctx.stats.totals(w.from, w.to);
  const cfg = ctx.app.policy().controlPlane;
  const requests = t.allowed + t.logged + t.throttled + t.blocked;
  return {
    from: w.from,
    to: w.to,
    requests,
    allowed: t.allowed,
    logged: t.logged,
    throttled: t.throttled,
    blocked: t.blocked,
    monitored: t.monitored,
    blockedRate: requests === 0 ? 0 : t.blocked / requests,
    costPerBlockedRequest: cfg.costPerBlockedRequest,
    costSaved: Math.round(t.blocked * cfg.costPerBlockedRequest * 100) / 100,
    currency: cfg.currency,
    topEndpoints: ctx.stats.topN('endpoint', w.from, w.to).map((x) => ({ route: x.key, requests: x.requests, blocked: x.blocked })),
    topClients: ctx.stats.topN('client', w.from, w.to, 20, true).map((x) => ({ clientIp: x.key, requests: x.requests, blocked: x.blocked })),
    countries: ctx.stats.topN('country', w.from, w.to, 250).map((x) => ({ country: x.key, requests: x.requests, blocked: x.blocked })),
    levels: t.levels,
    categories: ctx.stats.topN('category', w.from, w.to).map((x) => ({ category: x.key, count: x.requests })),
    activeDecisions: ctx.app.services.decisions.list().length,
  };
}
