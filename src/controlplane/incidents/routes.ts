import type { FastifyInstance, FastifyRequest } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SecurityEvent } from '../../events/types.ts';
import type { SqliteDb } from '../../store/sqlite.ts';
import { ApiError } from '../problem.ts';
import { alertingFor, type AlertingHost } from '../alerts/wiring.ts';
import type { IncidentService } from './service.ts';
import { LEVELS, type Incident } from './types.ts';

/** Fields a route records in the audit log (actor, actor id and IP come from the request). */
export interface AuditEntryInput {
  action: string;
  resource: string;
  resourceId?: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Options of `incidentRoutes` / `alertRoutes` (docs/api.md, "Plugin options for ALERTS"). `incidents` / `alerts`
 * may be given by the caller; otherwise the plugins share the services of `app` (see `alertingFor`).
 */
export interface IncidentRoutesOptions {
  app: AlertingHost;
  db: SqliteDb;
  audit: (request: FastifyRequest, entry: AuditEntryInput) => void;
  /** Live stream: incident changes are published as `incident` messages (data = `IncidentChange`). */
  stream?: { publish(name: string, data: unknown): void };
  incidents?: IncidentService;
}

/** Name of the principal set by the control plane's authentication hook. */
export function actorName(request: FastifyRequest): string {
  const p = (request as FastifyRequest & { principal?: { name?: string } }).principal;
  return p?.name ?? 'unknown';
}

const id = z.string().min(1).max(64);
const level = z.enum(LEVELS as ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const time = z.coerce.number().int().min(0).max(8.64e15);

/** Query of `GET /incidents`. */
export const incidentListQuery = z.strictObject({
  state: z.enum(['open', 'acknowledged', 'resolved', 'muted']).optional(),
  severity: level.optional().describe('minimum severity'),
  actor: z.string().min(1).max(600).optional().describe('actor value, or kind:value (ip, api_key, user, fingerprint)'),
  scenario: z.string().min(1).max(256).optional(),
  from: time.optional(),
  to: time.optional(),
  cursor: z.string().min(1).max(512).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

const idParams = z.strictObject({ id });
const emptyBody = z.strictObject({ comment: z.string().max(512).optional() }).optional();
/** Body of `POST /incidents/:id/mute`: exactly one of `until` (ms since epoch) and `durationS` (seconds, ≤ 1 year). */
export const muteBody = z
  .strictObject({
    until: z.int().min(0).max(8.64e15).optional(),
    durationS: z.int().min(1).max(31_536_000).optional(),
    comment: z.string().max(512).optional(),
  })
  .refine((b) => (b.until === undefined) !== (b.durationS === undefined), { message: 'give exactly one of until, durationS' });

/** Events shown in an incident's timeline (newest first in the store; returned oldest first). */
const TIMELINE_LIMIT = 200;

function matchesActor(e: SecurityEvent, inc: Incident): boolean {
  const v = inc.actor.value;
  switch (inc.actor.kind) {
    case 'user': return e.user?.slice(0, 256) === v;
    case 'api_key': return e.apiKey?.slice(0, 256) === v;
    case 'fingerprint': return e.fingerprint?.slice(0, 256) === v;
    default: return e.clientKey === v || e.clientIp === v;
  }
}

/** Human-readable explanation of an incident from its aggregates (strings are data: render as text). */
export function explain(inc: Incident): string[] {
  const out: string[] = [];
  const span = Math.max(0, inc.lastSeen - inc.firstSeen);
  out.push(`${inc.events} ${inc.scenario} events from ${inc.actor.kind} ${inc.actor.value} over ${Math.round(span / 1000)} s; ${inc.blocked} blocked.`);
  const actions = Object.entries(inc.stats.actions).map(([a, n]) => `${a} ${n}`).join(', ');
  if (actions) out.push(`Actions: ${actions}.`);
  const rules = Object.entries(inc.stats.rules).sort((a, b) => b[1].count - a[1].count).slice(0, 5);
  if (rules.length) out.push(`Top rules: ${rules.map(([r, t]) => `${r} (${t.category}) ×${t.count}`).join(', ')}.`);
  const routes = Object.entries(inc.stats.routes).sort((a, b) => b[1].count - a[1].count).slice(0, 3);
  if (routes.length) out.push(`Top routes: ${routes.map(([r, t]) => `${r} ×${t.count}`).join(', ')}.`);
  const ips = Object.keys(inc.stats.ips).length;
  if (ips > 1) out.push(`${ips}${inc.stats.overflow ? '+' : ''} distinct client IPs.`);
  if (inc.stats.monitored > 0) out.push(`${inc.stats.monitored} events were recorded in monitor mode (not enforced).`);
  return out;
}

/**
 * Incident routes (relative to `/api/v1`): list with filters and cursor pagination, detail with timeline,
 * signals, explanation and recommendations, acknowledge / resolve / mute / reopen (analyst, audited), and
 * applying a decision recommendation (analyst).
 */
export async function incidentRoutes(fastify: FastifyInstance, opts: IncidentRoutesOptions): Promise<void> {
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  const shared = opts.incidents === undefined ? alertingFor(opts.app, opts.db) : undefined;
  const service = opts.incidents ?? shared!.incidents;
  const unsubscribe = opts.stream ? service.subscribe((c) => opts.stream!.publish('incident', c)) : undefined;
  fastify.addHook('onClose', async () => {
    unsubscribe?.();
    await shared?.close();
  });

  const must = (inc: Incident | undefined): Incident => {
    if (!inc) throw new ApiError(404, 'BWK_NOT_FOUND', 'incident not found');
    return inc;
  };

  fastify.get('/incidents', {
    config: { role: 'viewer' },
    schema: { tags: ['incidents'], summary: 'List incidents (most recently active first)', querystring: incidentListQuery },
  }, async (request) => {
    const q = request.query as z.output<typeof incidentListQuery>;
    try {
      return service.list(q);
    } catch (err) {
      if (err instanceof RangeError) throw new ApiError(400, 'BWK_VALIDATION', 'invalid cursor');
      throw err;
    }
  });

  fastify.get('/incidents/:id', {
    config: { role: 'viewer' },
    schema: { tags: ['incidents'], summary: 'An incident with its events timeline, signals, explanation and recommendations', params: idParams },
  }, async (request) => {
    const { id: incidentId } = request.params as z.output<typeof idParams>;
    const inc = must(service.get(incidentId));
    let timeline: SecurityEvent[] = [];
    let timelineError: string | undefined;
    try {
      const a = inc.actor;
      const page = await opts.app.services.eventStore.query({
        from: inc.firstSeen,
        to: inc.lastSeen + 1, // the SQLite store's `to` is exclusive
        ...(inc.scenario !== 'unknown' ? { category: inc.scenario } : {}),
        ...(a.kind === 'ip' && !a.value.includes('/') ? { clientIp: a.value } : {}),
        limit: 1000,
      });
      timeline = page.events.filter((e) => matchesActor(e, inc)).slice(0, TIMELINE_LIMIT).reverse();
    } catch (err) {
      timelineError = 'event store unavailable';
      request.log.warn({ err }, 'incidents: timeline query failed');
    }
    const signals = Object.entries(inc.stats.rules)
      .map(([ruleId, t]) => ({ ruleId, category: t.category, count: t.count, monitor: t.monitor, wouldBlock: t.wouldBlock }))
      .sort((x, y) => y.count - x.count);
    return {
      incident: inc,
      timeline,
      ...(timelineError ? { timelineError } : {}),
      signals,
      explanation: explain(inc),
      recommendations: service.recommendations(inc.id) ?? [],
    };
  });

  fastify.get('/incidents/:id/recommendations', {
    config: { role: 'viewer' },
    schema: { tags: ['incidents'], summary: 'Recommendations for an incident', params: idParams },
  }, async (request) => {
    const { id: incidentId } = request.params as z.output<typeof idParams>;
    const recs = service.recommendations(incidentId);
    if (!recs) throw new ApiError(404, 'BWK_NOT_FOUND', 'incident not found');
    return { items: recs };
  });

  const transition = (path: string, action: string, summary: string, run: (incidentId: string, by: string, body: unknown) => Incident | undefined, body: z.ZodType = emptyBody) => {
    fastify.post(path, {
      config: { role: 'analyst' },
      schema: { tags: ['incidents'], summary, params: idParams, body },
    }, async (request) => {
      const { id: incidentId } = request.params as z.output<typeof idParams>;
      const before = must(service.get(incidentId));
      const by = actorName(request);
      const after = must(run(incidentId, by, request.body));
      opts.audit(request, {
        action, resource: 'incident', resourceId: incidentId,
        before: { state: before.state, mutedUntil: before.mutedUntil },
        after: { state: after.state, mutedUntil: after.mutedUntil, comment: (request.body as { comment?: string } | undefined)?.comment },
      });
      return after;
    });
  };
  transition('/incidents/:id/ack', 'incident.acknowledge', 'Acknowledge an incident', (i, by) => service.acknowledge(i, by));
  transition('/incidents/:id/resolve', 'incident.resolve', 'Resolve an incident', (i, by) => service.resolve(i, by));
  transition('/incidents/:id/reopen', 'incident.reopen', 'Re-open an incident', (i, by) => service.reopen(i, by));
  transition('/incidents/:id/mute', 'incident.mute', 'Mute an incident (no alerts) until a time', (i, by, b) => {
    const body = b as z.output<typeof muteBody>;
    const until = body.until ?? Date.now() + body.durationS! * 1000;
    try {
      return service.mute(i, until, by);
    } catch (err) {
      if (err instanceof RangeError) throw new ApiError(400, 'BWK_VALIDATION', 'until must be in the future');
      throw err;
    }
  }, muteBody);

  const applyParams = z.strictObject({ id, recId: z.string().min(1).max(64) });
  fastify.post('/incidents/:id/recommendations/:recId/apply', {
    config: { role: 'analyst' },
    schema: { tags: ['incidents'], summary: 'Apply a decision recommendation (policy changes go through PATCH /policy)', params: applyParams, body: emptyBody },
  }, async (request, reply) => {
    const { id: incidentId, recId } = request.params as z.output<typeof applyParams>;
    const recs = service.recommendations(incidentId);
    if (!recs) throw new ApiError(404, 'BWK_NOT_FOUND', 'incident not found');
    const rec = recs.find((r) => r.id === recId);
    if (!rec) throw new ApiError(404, 'BWK_NOT_FOUND', 'recommendation not found (it may no longer apply)');
    if (rec.action.kind !== 'decision') {
      throw new ApiError(409, 'BWK_CONFLICT', rec.action.kind === 'rule_mode'
        ? `apply with PUT /api/v1/rules/${rec.action.ruleId}/mode (admin)`
        : 'apply the JSON patch to the policy document with PUT or PATCH /api/v1/policy (admin)');
    }
    const d = rec.action.decision;
    const decision = opts.app.services.decisions.add({
      scope: d.scope, value: d.value, type: d.type, origin: 'manual', source: actorName(request), reason: d.reason,
      durationMs: d.ttlS * 1000, escalate: false,
    });
    opts.audit(request, { action: 'decision.create', resource: 'decision', resourceId: decision.id, after: { ...decision, fromIncident: incidentId, recommendation: rec.type } });
    reply.code(201);
    return { decision, recommendation: rec };
  });
}
