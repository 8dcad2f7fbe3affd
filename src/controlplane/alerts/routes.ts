import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../problem.ts';
import { actorName, type IncidentRoutesOptions } from '../incidents/routes.ts';
import { LEVELS } from '../incidents/types.ts';
import { AlertInputError, type AlertService } from './service.ts';
import { alertingFor } from './wiring.ts';
import type { ChannelPatch, NewChannel } from './types.ts';

/**
 * Options of `alertRoutes`: as `incidentRoutes`, plus an optional `alerts` service (otherwise the one shared per
 * app by `alertingFor`). Alert messages go to the live stream as `alert` (data = `AlertStreamMessage`).
 */
export interface AlertRoutesOptions extends Omit<IncidentRoutesOptions, 'incidents'> {
  alerts?: AlertService;
}

const id = z.string().min(1).max(64);
const idParams = z.strictObject({ id });
const level = z.enum(LEVELS as ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const time = z.coerce.number().int().min(0).max(8.64e15);
const cursor = z.string().min(1).max(512);
const limit = z.coerce.number().int().min(1).max(1000);
const name = z.string().min(1).max(64);
const emptyBody = z.strictObject({ comment: z.string().max(512).optional() }).optional();

/** Webhook settings; `url` and `signingKey` are secrets (encrypted at rest, masked in responses). */
const webhookIn = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  signingKey: z.string().min(16).max(256).optional().describe('HMAC-SHA256 key; generated when omitted'),
  format: z.enum(['json', 'slack']).optional(),
});
const smtpIn = z.strictObject({
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'expected a host name or IP'),
  port: z.int().min(1).max(65_535),
  secure: z.boolean().optional().describe('implicit TLS (default: port 465)'),
  requireTLS: z.boolean().optional().describe('require STARTTLS'),
  user: z.string().min(1).max(256).optional(),
  password: z.string().min(1).max(1024).optional(),
});
const email = z.email().max(254);
const emailIn = z.strictObject({ to: z.array(email).min(1).max(20), from: email, smtp: smtpIn });

/** Body of `POST /channels`. */
export const newChannelBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), name, enabled: z.boolean().optional(), minSeverity: level.optional(), webhook: webhookIn }),
  z.strictObject({ type: z.literal('email'), name, enabled: z.boolean().optional(), minSeverity: level.optional(), email: emailIn }),
]);

/** Body of `PATCH /channels/:id` (secrets replaced only when given; the type cannot change). */
export const channelPatchBody = z.strictObject({
  name: name.optional(),
  enabled: z.boolean().optional(),
  minSeverity: level.optional(),
  webhook: webhookIn.partial().optional(),
  email: z.strictObject({ to: z.array(email).min(1).max(20).optional(), from: email.optional(), smtp: smtpIn.partial().optional() }).optional(),
});

const alertListQuery = z.strictObject({
  state: z.enum(['new', 'acknowledged']).optional(),
  severity: level.optional(),
  incidentId: id.optional(),
  from: time.optional(),
  to: time.optional(),
  cursor: cursor.optional(),
  limit: limit.optional(),
});

const deliveryQuery = z.strictObject({
  status: z.enum(['pending', 'retrying', 'delivered', 'failed', 'suppressed']).optional(),
  cursor: cursor.optional(),
  limit: limit.optional(),
});

/** Body of `POST /mute-rules`. */
export const muteRuleBody = z.strictObject({
  channelId: id.optional(),
  actor: z.string().min(1).max(600).optional(),
  category: z.string().min(1).max(256).optional(),
  ruleId: z.string().min(1).max(256).optional(),
  until: z.int().min(0).max(8.64e15).optional(),
  durationS: z.int().min(1).max(31_536_000).optional(),
  reason: z.string().max(512).optional(),
}).refine((b) => !(b.until !== undefined && b.durationS !== undefined), { message: 'give at most one of until, durationS' });

function mapInputError<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof AlertInputError) {
      throw new ApiError(err.statusCode, err.statusCode === 404 ? 'BWK_NOT_FOUND' : 'BWK_VALIDATION', err.message);
    }
    if (err instanceof RangeError) throw new ApiError(400, 'BWK_VALIDATION', err.message);
    throw err;
  }
}

/**
 * Alert routes (relative to `/api/v1`): alerts (list, get, acknowledge), channels (CRUD, test-send, delivery log)
 * and mute rules (CRUD). Viewers read (channel secrets are always masked); analysts acknowledge alerts and manage
 * mute rules; admins manage channels. Every change is audited (secrets never in the audit entry: masked views).
 */
export async function alertRoutes(fastify: FastifyInstance, opts: AlertRoutesOptions): Promise<void> {
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  const shared = opts.alerts === undefined ? alertingFor(opts.app, opts.db) : undefined;
  const service = opts.alerts ?? shared!.alerts;
  const unsubscribe = opts.stream ? service.subscribe((m) => opts.stream!.publish('alert', m)) : undefined;
  fastify.addHook('onClose', async () => {
    unsubscribe?.();
    await shared?.close();
  });
  const tags = { alerts: ['alerts'], channels: ['alert channels'], mutes: ['alert mute rules'] };

  // ---- alerts ----
  fastify.get('/alerts', { config: { role: 'viewer' }, schema: { tags: tags.alerts, summary: 'List alerts (newest first)', querystring: alertListQuery } },
    async (request) => mapInputError(() => service.listAlerts(request.query as z.output<typeof alertListQuery>)));

  fastify.get('/alerts/:id', { config: { role: 'viewer' }, schema: { tags: tags.alerts, summary: 'An alert', params: idParams } }, async (request) => {
    const a = service.getAlert((request.params as z.output<typeof idParams>).id);
    if (!a) throw new ApiError(404, 'BWK_NOT_FOUND', 'alert not found');
    return a;
  });

  fastify.post('/alerts/:id/ack', { config: { role: 'analyst' }, schema: { tags: tags.alerts, summary: 'Acknowledge an alert', params: idParams, body: emptyBody } }, async (request) => {
    const alertId = (request.params as z.output<typeof idParams>).id;
    const before = service.getAlert(alertId);
    const a = service.acknowledgeAlert(alertId, actorName(request));
    if (!a || !before) throw new ApiError(404, 'BWK_NOT_FOUND', 'alert not found');
    opts.audit(request, { action: 'alert.acknowledge', resource: 'alert', resourceId: a.id, before: { state: before.state }, after: { state: a.state } });
    return a;
  });

  // ---- channels ----
  fastify.get('/channels', { config: { role: 'viewer' }, schema: { tags: tags.channels, summary: 'List alert channels (secrets masked)' } },
    async () => ({ items: service.listChannels() }));

  fastify.get('/channels/:id', { config: { role: 'viewer' }, schema: { tags: tags.channels, summary: 'An alert channel (secrets masked)', params: idParams } }, async (request) => {
    const c = service.getChannel((request.params as z.output<typeof idParams>).id);
    if (!c) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    return c;
  });

  fastify.post('/channels', { config: { role: 'admin' }, schema: { tags: tags.channels, summary: 'Create an alert channel', body: newChannelBody } }, async (request, reply) => {
    const c = mapInputError(() => service.createChannel(request.body as NewChannel, actorName(request)));
    opts.audit(request, { action: 'channel.create', resource: 'channel', resourceId: c.id, after: c });
    reply.code(201);
    return c;
  });

  fastify.patch('/channels/:id', { config: { role: 'admin' }, schema: { tags: tags.channels, summary: 'Update an alert channel', params: idParams, body: channelPatchBody } }, async (request) => {
    const channelId = (request.params as z.output<typeof idParams>).id;
    const before = service.getChannel(channelId);
    if (!before) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    const c = mapInputError(() => service.updateChannel(channelId, request.body as ChannelPatch, actorName(request)));
    if (!c) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    opts.audit(request, { action: 'channel.update', resource: 'channel', resourceId: c.id, before, after: c });
    return c;
  });

  fastify.delete('/channels/:id', { config: { role: 'admin' }, schema: { tags: tags.channels, summary: 'Delete an alert channel, its delivery log and its mute rules', params: idParams } }, async (request, reply) => {
    const channelId = (request.params as z.output<typeof idParams>).id;
    const before = service.getChannel(channelId);
    if (!before || !service.deleteChannel(channelId)) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    opts.audit(request, { action: 'channel.delete', resource: 'channel', resourceId: channelId, before });
    reply.code(204);
    return reply.send();
  });

  fastify.post('/channels/:id/test', { config: { role: 'admin' }, schema: { tags: tags.channels, summary: 'Send a test alert now (one attempt); returns the delivery record', params: idParams, body: emptyBody } }, async (request) => {
    const channelId = (request.params as z.output<typeof idParams>).id;
    const d = await service.testChannel(channelId);
    if (!d) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    opts.audit(request, { action: 'channel.test', resource: 'channel', resourceId: channelId, after: { status: d.status, attempts: d.attempts, responseStatus: d.responseStatus } });
    return d;
  });

  fastify.get('/channels/:id/deliveries', { config: { role: 'viewer' }, schema: { tags: tags.channels, summary: 'Delivery log of a channel (newest first)', params: idParams, querystring: deliveryQuery } }, async (request) => {
    const channelId = (request.params as z.output<typeof idParams>).id;
    if (!service.getChannel(channelId)) throw new ApiError(404, 'BWK_NOT_FOUND', 'channel not found');
    return mapInputError(() => service.listDeliveries(channelId, request.query as z.output<typeof deliveryQuery>));
  });

  // ---- mute rules ----
  fastify.get('/mute-rules', { config: { role: 'viewer' }, schema: { tags: tags.mutes, summary: 'List mute rules' } }, async () => ({ items: service.listMuteRules() }));

  fastify.get('/mute-rules/:id', { config: { role: 'viewer' }, schema: { tags: tags.mutes, summary: 'A mute rule', params: idParams } }, async (request) => {
    const m = service.getMuteRule((request.params as z.output<typeof idParams>).id);
    if (!m) throw new ApiError(404, 'BWK_NOT_FOUND', 'mute rule not found');
    return m;
  });

  fastify.post('/mute-rules', { config: { role: 'analyst' }, schema: { tags: tags.mutes, summary: 'Create a mute rule', body: muteRuleBody } }, async (request, reply) => {
    const b = request.body as z.output<typeof muteRuleBody>;
    const { durationS, ...rest } = b;
    const input = durationS !== undefined ? { ...rest, until: Date.now() + durationS * 1000 } : rest;
    const m = mapInputError(() => service.createMuteRule(input, actorName(request)));
    opts.audit(request, { action: 'mute_rule.create', resource: 'alert', resourceId: m.id, after: m });
    reply.code(201);
    return m;
  });

  fastify.delete('/mute-rules/:id', { config: { role: 'analyst' }, schema: { tags: tags.mutes, summary: 'Delete a mute rule', params: idParams } }, async (request, reply) => {
    const muteId = (request.params as z.output<typeof idParams>).id;
    const before = service.getMuteRule(muteId);
    if (!before || !service.deleteMuteRule(muteId)) throw new ApiError(404, 'BWK_NOT_FOUND', 'mute rule not found');
    opts.audit(request, { action: 'mute_rule.delete', resource: 'alert', resourceId: muteId, before });
    reply.code(204);
    return reply.send();
  });
}
