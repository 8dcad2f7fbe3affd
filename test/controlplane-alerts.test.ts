/**
 * Incidents and alerts API over real HTTP: a plain Fastify instance on 127.0.0.1 registers `incidentRoutes` and
 * `alertRoutes` under /api/v1 behind a stub principal hook (role from a test header, enforcing `config.role` the
 * way the control plane does), over real services: SQLite file, BatchingEventSink + SqliteEventStore, decision
 * service, a real webhook receiver. Checks roles, strict validation, problem details, masking, no secrets in
 * responses/logs/the database file, correlation from the sink, timeline, recommendations and their application.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import pino from 'pino';
import { policySchema, type Policy } from '../src/config/schema.ts';
import { createDecisionService } from '../src/decisions/service.ts';
import { SqliteDecisionStore } from '../src/decisions/sqlite-store.ts';
import { BatchingEventSink } from '../src/events/sink.ts';
import { SqliteEventStore } from '../src/events/sqlite-store.ts';
import { openDatabase } from '../src/store/sqlite.ts';
import { alertRoutes } from '../src/controlplane/alerts/routes.ts';
import { incidentRoutes } from '../src/controlplane/incidents/routes.ts';
import { parseMime, startSmtpReceiver, startWebhookReceiver } from '../src/controlplane/alerts/test-helpers.ts';
import { makeEvent } from '../src/controlplane/incidents/testing.ts';
import { verifyWebhookSignature } from '../src/controlplane/alerts/deliver.ts';
import type { AlertingHost } from '../src/controlplane/alerts/wiring.ts';

const RANK = { viewer: 0, analyst: 1, admin: 2 } as const;
type Role = keyof typeof RANK;
const SIGNING_KEY = 'whsec_http_test_key_9f8e7d6c';

async function harness() {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-cp-alerts-'));
  const db = openDatabase(join(dir, 'bulwark.db'));
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
  const policy: Policy = policySchema.parse({
    controlPlane: { alerts: { backoffBase: '10ms', backoffMax: '50ms', timeout: '2s', allowPrivateWebhooks: true }, incidents: { recommend: { rangeMinIps: 3, floodMinEvents: 20, banMinBlocked: 5 } } },
  });
  const eventStore = new SqliteEventStore(db);
  const events = new BatchingEventSink(eventStore, { queueLimit: 10_000, batchSize: 500, flushIntervalMs: 50, logger });
  const decisions = await createDecisionService({ store: new SqliteDecisionStore(db), policy: () => policy, logger });
  const host: AlertingHost = { services: { db, events, eventStore, decisions, logger, dataDir: dir }, policy: () => policy };
  const audits: { action: string; resource: string; resourceId?: string; actor: string; before?: unknown; after?: unknown }[] = [];
  const published: { name: string; data: unknown }[] = [];

  const app = Fastify({ loggerInstance: logger });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    const validation = hasZodFastifySchemaValidationErrors(err) || err.validation !== undefined;
    const status = validation ? 400 : err.statusCode ?? 500;
    reply.code(status).type('application/problem+json').send({
      type: 'about:blank', title: status === 400 ? 'Bad Request' : 'Error', status,
      code: validation ? 'BWK_VALIDATION' : err.code ?? 'BWK_INTERNAL', detail: err.message, instance: request.url,
    });
  });
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const role = request.headers['x-test-role'] as Role | undefined;
      if (!role || !(role in RANK)) return reply.code(401).type('application/problem+json').send({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'BWK_UNAUTHENTICATED' });
      const need = (request.routeOptions.config as { role?: Role }).role ?? 'admin';
      (request as unknown as { principal: unknown }).principal = { id: `u-${role}`, name: `${role}-user`, role, kind: 'token' };
      if (RANK[role] < RANK[need]) return reply.code(403).type('application/problem+json').send({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'BWK_FORBIDDEN' });
    });
    const opts = {
      app: host, db,
      audit: (request: { principal?: { name: string } }, e: { action: string; resource: string; resourceId?: string; before?: unknown; after?: unknown }) => audits.push({ ...e, actor: request.principal?.name ?? '?' }),
      stream: { publish: (name: string, data: unknown) => published.push({ name, data }) },
    };
    await scope.register(incidentRoutes, opts);
    await scope.register(alertRoutes, opts);
  }, { prefix: '/api/v1' });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const bodies: string[] = [];

  async function call(role: Role | undefined, method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (role) headers['x-test-role'] = role;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + '/api/v1' + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, type: res.headers.get('content-type') ?? '', json: text ? JSON.parse(text) as any : undefined };
  }
  return {
    dir, db, events, eventStore, decisions, lines, audits, published, bodies, call,
    async close() {
      await app.close();
      await events.close();
      await decisions.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('incidents and alerts API over HTTP: roles, validation, webhook delivery from sink events, masking, audit', async () => {
  const rx = await startWebhookReceiver({ statuses: [500, 500] });
  const h = await harness().catch(async (err: unknown) => {
    await rx.close();
    throw err;
  });
  try {
    // Unauthenticated and role checks on channels.
    assert.equal((await h.call(undefined, 'GET', '/incidents')).status, 401);
    const hookBody = { name: 'soc', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } };
    assert.equal((await h.call('analyst', 'POST', '/channels', hookBody)).status, 403);
    assert.equal((await h.call('viewer', 'POST', '/channels', hookBody)).status, 403);

    // Strict validation: unknown field, bad URL scheme, oversize name → 400 problem+json.
    for (const bad of [{ ...hookBody, extra: 1 }, { ...hookBody, webhook: { url: 'javascript:alert(1)' } }, { ...hookBody, name: 'x'.repeat(65) }, { ...hookBody, webhook: { ...hookBody.webhook, headers: {} } }]) {
      const r = await h.call('admin', 'POST', '/channels', bad);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.match(r.type, /application\/problem\+json/);
      assert.equal(r.json.code, 'BWK_VALIDATION');
    }

    const created = await h.call('admin', 'POST', '/channels', hookBody);
    assert.equal(created.status, 201);
    const ch = created.json;
    assert.equal(ch.webhook.url, `${new URL(rx.url).origin}/***`);
    assert.equal(ch.webhook.signingKey, '****7d6c');
    assert.equal((await h.call('viewer', 'GET', '/channels')).json.items.length, 1);
    assert.equal((await h.call('viewer', 'GET', `/channels/${ch.id}`)).json.id, ch.id);
    assert.equal((await h.call('viewer', 'GET', '/channels/nope')).status, 404);

    // Events through the real sink → correlation → alert → signed webhook with retries.
    for (let i = 0; i < 25; i++) {
      h.events.push(makeEvent({ clientIp: `198.51.100.${10 + (i % 4)}`, clientKey: `198.51.100.${10 + (i % 4)}`, user: 'victim@example.test', method: 'POST', target: '/api/login', route: '/api/login', category: 'bruteforce', signals: [{ ruleId: 'behavior.bruteforce.user', detector: 'bruteforce', category: 'bruteforce', score: 0 }], reasons: ['behavior.bruteforce.user'] }));
    }
    await h.events.flush();
    await waitFor(() => rx.received.length >= 3);
    const last = rx.received[2]!;
    assert.ok(verifyWebhookSignature(SIGNING_KEY, last.headers['x-bulwark-signature'] as string, last.headers['x-bulwark-timestamp'] as string, last.body));

    const incs = await h.call('viewer', 'GET', '/incidents?state=open&severity=MEDIUM');
    assert.equal(incs.status, 200);
    assert.equal(incs.json.items.length, 1);
    const inc = incs.json.items[0];
    assert.deepEqual(inc.actor, { kind: 'user', value: 'victim@example.test' });
    assert.equal(inc.events, 25);
    assert.equal((await h.call('viewer', 'GET', '/incidents?actor=user:victim@example.test')).json.items.length, 1);
    assert.equal((await h.call('viewer', 'GET', '/incidents?actor=nobody')).json.items.length, 0);
    assert.equal((await h.call('viewer', 'GET', '/incidents?bogus=1')).status, 400);
    assert.equal((await h.call('viewer', 'GET', '/incidents?limit=0')).status, 400);
    assert.equal((await h.call('viewer', 'GET', '/incidents?cursor=zzz')).status, 400);

    // Detail: timeline from the event store, signals, explanation, recommendations.
    const detail = await h.call('viewer', 'GET', `/incidents/${inc.id}`);
    assert.equal(detail.status, 200);
    assert.equal(detail.json.timeline.length, 25);
    assert.ok(detail.json.timeline[0].time <= detail.json.timeline[24].time);
    assert.equal(detail.json.signals[0].ruleId, 'behavior.bruteforce.user');
    assert.ok(detail.json.explanation.length >= 2);
    const recs = detail.json.recommendations as { id: string; type: string; action: { kind: string; decision?: { value: string } } }[];
    const types = recs.map((r) => r.type);
    assert.ok(types.includes('ban_range'), types.join());
    assert.ok(types.includes('ban_actor'), types.join());
    assert.ok(types.includes('rate_limit_route'), types.join());
    assert.ok(types.includes('business_flow'), types.join());
    const range = recs.find((r) => r.type === 'ban_range')!;
    assert.equal(range.action.decision?.value, '198.51.100.0/24');

    // Alerts and deliveries.
    await waitFor(async () => (await h.call('viewer', 'GET', `/channels/${ch.id}/deliveries`)).json.items[0]?.status === 'delivered');
    const dl = await h.call('viewer', 'GET', `/channels/${ch.id}/deliveries?status=delivered`);
    assert.equal(dl.json.items[0].attempts, 3);
    const alerts = await h.call('viewer', 'GET', '/alerts');
    assert.equal(alerts.json.items.length, 1);
    const alertId = alerts.json.items[0].id;
    assert.equal((await h.call('viewer', 'POST', `/alerts/${alertId}/ack`, {})).status, 403);
    const acked = await h.call('analyst', 'POST', `/alerts/${alertId}/ack`, {});
    assert.equal(acked.json.state, 'acknowledged');
    assert.equal((await h.call('viewer', 'GET', `/alerts/${alertId}`)).json.acknowledgedBy, 'analyst-user');

    // Incident transitions: viewer forbidden, analyst allowed and audited.
    assert.equal((await h.call('viewer', 'POST', `/incidents/${inc.id}/ack`, {})).status, 403);
    assert.equal((await h.call('analyst', 'POST', `/incidents/${inc.id}/ack`, { comment: 'looking' })).json.state, 'acknowledged');
    assert.equal((await h.call('analyst', 'POST', `/incidents/${inc.id}/mute`, { durationS: 600, until: 1 })).status, 400);
    assert.equal((await h.call('analyst', 'POST', `/incidents/${inc.id}/mute`, { until: 1 })).status, 400);
    const muted = await h.call('analyst', 'POST', `/incidents/${inc.id}/mute`, { durationS: 600 });
    assert.equal(muted.json.state, 'muted');
    assert.equal((await h.call('analyst', 'POST', `/incidents/${inc.id}/resolve`, {})).json.state, 'resolved');
    assert.equal((await h.call('analyst', 'POST', '/incidents/nope/resolve', {})).status, 404);
    assert.deepEqual(h.audits.filter((a) => a.resource === 'incident').map((a) => a.action), ['incident.acknowledge', 'incident.mute', 'incident.resolve']);
    assert.equal(h.audits.find((a) => a.action === 'incident.mute')!.actor, 'analyst-user');
    assert.ok(h.published.some((p) => p.name === 'incident' && (p.data as { type: string }).type === 'resolved'));
    assert.ok(h.published.some((p) => p.name === 'alert' && (p.data as { type: string }).type === 'alert'));

    // Apply the range-ban recommendation → a real decision.
    assert.equal((await h.call('viewer', 'POST', `/incidents/${inc.id}/recommendations/${range.id}/apply`, {})).status, 403);
    const applied = await h.call('analyst', 'POST', `/incidents/${inc.id}/recommendations/${range.id}/apply`, {});
    assert.equal(applied.status, 201, JSON.stringify(applied.json));
    assert.equal(applied.json.decision.scope, 'range');
    assert.ok(h.decisions.get(applied.json.decision.id));
    const rl = recs.find((r) => r.type === 'rate_limit_route')!;
    assert.equal((await h.call('analyst', 'POST', `/incidents/${inc.id}/recommendations/${rl.id}/apply`, {})).status, 409);
    // Once banned, the range is no longer recommended.
    const after = await h.call('viewer', 'GET', `/incidents/${inc.id}/recommendations`);
    assert.ok(!after.json.items.some((r: { type: string }) => r.type === 'ban_range'));

    // Mute rules: analyst manages, viewer reads.
    assert.equal((await h.call('viewer', 'POST', '/mute-rules', { category: 'sqli' })).status, 403);
    assert.equal((await h.call('analyst', 'POST', '/mute-rules', {})).status, 400);
    assert.equal((await h.call('analyst', 'POST', '/mute-rules', { channelId: 'nope' })).status, 404);
    const mr = await h.call('analyst', 'POST', '/mute-rules', { category: 'sqli', durationS: 3600, reason: 'pentest' });
    assert.equal(mr.status, 201);
    assert.equal(mr.json.active, true);
    assert.equal((await h.call('viewer', 'GET', '/mute-rules')).json.items.length, 1);
    assert.equal((await h.call('viewer', 'DELETE', `/mute-rules/${mr.json.id}`)).status, 403);
    assert.equal((await h.call('analyst', 'DELETE', `/mute-rules/${mr.json.id}`)).status, 204);
    assert.equal((await h.call('analyst', 'DELETE', `/mute-rules/${mr.json.id}`)).status, 404);

    // Channel update, test-send, delete (admin only).
    assert.equal((await h.call('analyst', 'PATCH', `/channels/${ch.id}`, { name: 'x' })).status, 403);
    assert.equal((await h.call('admin', 'PATCH', `/channels/${ch.id}`, { email: { from: 'a@b.test' } })).status, 400);
    const patched = await h.call('admin', 'PATCH', `/channels/${ch.id}`, { name: 'soc-2', webhook: { format: 'slack' } });
    assert.equal(patched.json.name, 'soc-2');
    assert.equal(patched.json.webhook.format, 'slack');
    const sent = await h.call('admin', 'POST', `/channels/${ch.id}/test`, {});
    assert.equal(sent.json.status, 'delivered');
    assert.ok('blocks' in JSON.parse(rx.received.at(-1)!.body));
    assert.equal((await h.call('admin', 'DELETE', `/channels/${ch.id}`)).status, 204);
    assert.equal((await h.call('viewer', 'GET', `/channels/${ch.id}/deliveries`)).status, 404);
    assert.deepEqual(h.audits.filter((a) => a.resource === 'channel').map((a) => a.action), ['channel.create', 'channel.update', 'channel.test', 'channel.delete']);

    // No secret in any response body, any log line, any audit entry, or the SQLite file.
    const secretPath = new URL(rx.url).pathname;
    for (const s of [SIGNING_KEY, secretPath, 's3cr3t-path-token']) {
      assert.ok(!h.bodies.some((b) => b.includes(s)), `response leaks ${s}`);
      assert.ok(!h.lines.some((l) => l.includes(s)), `log leaks ${s}`);
      assert.ok(!JSON.stringify(h.audits).includes(s), `audit leaks ${s}`);
    }
    const raw = readdirSync(h.dir).filter((f) => f.startsWith('bulwark.db')).map((f) => readFileSync(join(h.dir, f)).toString('latin1')).join('');
    assert.ok(!raw.includes('s3cr3t-path-token') && !raw.includes(SIGNING_KEY));
  } finally {
    await h.close();
    await rx.close();
  }
});

test('API: the incident list pages with cursors, filters by time, and hostile 64 KiB query values are rejected quickly', async () => {
  const h = await harness();
  try {
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 12; i++) h.events.push(makeEvent({ time: t0 + i * 1000, clientIp: `192.0.2.${i + 1}`, clientKey: `192.0.2.${i + 1}` }));
    await h.events.flush();
    await waitFor(async () => (await h.call('viewer', 'GET', '/incidents?limit=1000')).json.items.length === 12);
    const seen = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await h.call('viewer', 'GET', `/incidents?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const i of r.json.items) seen.add(i.id);
      cursor = r.json.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(seen.size, 12);
    assert.equal(pages, 3);
    assert.equal((await h.call('viewer', 'GET', `/incidents?from=${t0 + 6000}`)).json.items.length, 6);
    const started = performance.now();
    const r = await h.call('viewer', 'GET', `/incidents?actor=${'a('.repeat(32 * 1024)}`);
    assert.ok([400, 414, 431].includes(r.status), String(r.status));
    assert.ok(performance.now() - started < 2000);
  } finally {
    await h.close();
  }
});

test('API: e-mail channel over a real SMTP server; credentials masked in responses and absent from logs and the database', async () => {
  const password = 'smtp-http-Pa55-word-77';
  const smtp = await startSmtpReceiver({ user: 'bulwark', password });
  const h = await harness().catch(async (err: unknown) => {
    await smtp.close();
    throw err;
  });
  try {
    const body = { name: 'mail', type: 'email', minSeverity: 'HIGH', email: { to: ['soc@example.test'], from: 'bulwark@example.test', smtp: { host: '127.0.0.1', port: smtp.port, user: 'bulwark', password, requireTLS: false } } };
    assert.equal((await h.call('admin', 'POST', '/channels', { ...body, email: { ...body.email, to: ['not-an-address'] } })).status, 400);
    assert.equal((await h.call('admin', 'POST', '/channels', { ...body, email: { ...body.email, smtp: { ...body.email.smtp, port: 70_000 } } })).status, 400);
    const created = await h.call('admin', 'POST', '/channels', body);
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.email.smtp.password, '****d-77');
    assert.equal(created.json.email.smtp.user, '****');
    const test = await h.call('admin', 'POST', `/channels/${created.json.id}/test`, {});
    assert.equal(test.json.status, 'delivered', JSON.stringify(test.json));
    assert.equal(smtp.mails.length, 1);
    // A MEDIUM incident does not reach a HIGH channel; a CRITICAL one does.
    h.events.push(makeEvent({ level: 'LOW', action: 'block', clientIp: '192.0.2.9', clientKey: '192.0.2.9' }));
    h.events.push(makeEvent({ level: 'CRITICAL', action: 'block', category: 'xss', clientIp: '192.0.2.10', clientKey: '192.0.2.10' }));
    await h.events.flush();
    await waitFor(() => smtp.mails.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(smtp.mails.length, 2);
    assert.match(parseMime(smtp.mails[1]!.raw).headers['subject'] ?? '', /CRITICAL/);
    assert.ok(!h.bodies.some((b) => b.includes(password)));
    assert.ok(!h.lines.some((l) => l.includes(password)));
    const raw = readdirSync(h.dir).filter((f) => f.startsWith('bulwark.db')).map((f) => readFileSync(join(h.dir, f)).toString('latin1')).join('');
    assert.ok(!raw.includes(password));
  } finally {
    await h.close();
    await smtp.close();
  }
});
