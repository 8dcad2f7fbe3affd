/**
 * End to end through the real stack: `startBulwark()` with the control plane (CONTROL's plugin, real auth and
 * tokens) mounting `incidentRoutes`/`alertRoutes`. Requests blocked by the gateway (deny list) become events →
 * an incident → an alert → a signed webhook to a real local receiver; the API shows it with masked secrets, and
 * no secret appears in any response, log line or the SQLite file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane } from '../src/controlplane/testing.ts';
import { startWebhookReceiver } from '../src/controlplane/alerts/test-helpers.ts';
import { verifyWebhookSignature } from '../src/controlplane/alerts/deliver.ts';

const SIGNING_KEY = 'whsec_e2e_signing_key_5a4b3c2d';

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('gateway blocks → incident → signed webhook alert; roles through real tokens; secrets masked and never leaked', async (t) => {
  const rx = await startWebhookReceiver({ statuses: [503] });
  t.after(() => rx.close());
  const cp = await startControlPlane({
    policy: {
      lists: { deny: { ips: ['127.0.0.1'] } },
      controlPlane: { alerts: { backoffBase: '10ms', backoffMax: '50ms', timeout: '2s', allowPrivateWebhooks: true } },
    },
  });
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  const mk = async (role: string) => {
    const r = await admin.req('POST', '/api/v1/tokens', { name: `t-${role}`, role });
    assert.equal(r.status, 201, r.text);
    return cp.withToken(r.json.token);
  };
  const viewer = await mk('viewer');
  const analyst = await mk('analyst');

  // Channels are admin-only to create; the session path needs CSRF like every cookie-authenticated POST.
  const body = { name: 'e2e', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } };
  assert.equal((await analyst.req('POST', '/api/v1/channels', body)).status, 403);
  assert.equal((await admin.req('POST', '/api/v1/channels', body, { csrf: false })).status, 403);
  assert.equal((await cp.anon().req('GET', '/api/v1/incidents')).status, 401);
  const bad = await admin.req('POST', '/api/v1/channels', { ...body, unknown: true });
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type') ?? '', /problem\+json/);
  const created = await admin.req('POST', '/api/v1/channels', body);
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.webhook.url, `${new URL(rx.url).origin}/***`);

  // Live stream (SSE) filtered to incidents and alerts, opened before the attack.
  const viewerToken = viewer.token!;
  const ac = new AbortController();
  t.after(() => ac.abort());
  const sse = await fetch(`${cp.base}/api/v1/stream?types=incident,alert`, { headers: { authorization: `Bearer ${viewerToken}` }, signal: ac.signal });
  assert.equal(sse.status, 200);
  let sseText = '';
  const reading = (async () => {
    const dec = new TextDecoder();
    try {
      for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) sseText += dec.decode(chunk, { stream: true });
    } catch {
      /* aborted */
    }
  })();

  // Traffic through the gateway: the deny list blocks 127.0.0.1.
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${cp.bw.gatewayUrl}/api/items?i=${i}`);
    await r.text();
    assert.equal(r.status, 403);
  }
  await cp.bw.services.events.flush();
  await waitFor(() => rx.received.length >= 2);
  const hook = rx.received[1]!;
  assert.ok(verifyWebhookSignature(SIGNING_KEY, hook.headers['x-bulwark-signature'] as string, hook.headers['x-bulwark-timestamp'] as string, hook.body));
  const payload = JSON.parse(hook.body);
  assert.equal(payload.incident.actor.value, '127.0.0.1');
  assert.equal(payload.incident.events >= 1, true);

  await waitFor(() => /event: incident\r?\ndata: \{"type":"opened"/.test(sseText) && /event: alert\r?\ndata: \{"type":"alert"/.test(sseText));
  ac.abort();
  await reading;

  const list = await viewer.req('GET', '/api/v1/incidents');
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.items.length, 1);
  const inc = list.json.items[0];
  await waitFor(async () => (await viewer.req('GET', `/api/v1/incidents/${inc.id}`)).json.incident.events === 5);
  const detail = await viewer.req('GET', `/api/v1/incidents/${inc.id}`);
  assert.equal(detail.json.timeline.length, 5);
  assert.equal(detail.json.timeline[0].action, 'block');

  assert.equal((await viewer.req('POST', `/api/v1/incidents/${inc.id}/ack`, {})).status, 403);
  const ack = await analyst.req('POST', `/api/v1/incidents/${inc.id}/ack`, {});
  assert.equal(ack.status, 200, ack.text);
  assert.equal(ack.json.state, 'acknowledged');
  assert.equal(ack.json.acknowledgedBy, 'token:t-analyst');

  const alerts = await viewer.req('GET', '/api/v1/alerts');
  assert.equal(alerts.json.items.length, 1);
  const deliveries = await viewer.req('GET', `/api/v1/channels/${created.json.id}/deliveries`);
  assert.equal(deliveries.json.items[0].status, 'delivered');
  assert.equal(deliveries.json.items[0].attempts, 2);

  // Audited by the control plane's audit log.
  const audit = await admin.req('GET', '/api/v1/audit?resource=incident');
  assert.equal(audit.status, 200, audit.text);
  assert.ok(audit.json.items.some((e: { action: string }) => e.action === 'incident.acknowledge'));
  const auditCh = await admin.req('GET', '/api/v1/audit?resource=channel');
  assert.ok(auditCh.json.items.some((e: { action: string }) => e.action === 'channel.create'));

  // The OpenAPI document lists the incident and channel routes.
  const doc = await cp.anon().req('GET', '/api/docs/json');
  assert.equal(doc.status, 200);
  assert.ok(doc.json.paths['/api/v1/incidents'], 'incidents in OpenAPI');
  assert.ok(doc.json.paths['/api/v1/channels'], 'channels in OpenAPI');
  assert.ok(doc.json.paths['/api/v1/mute-rules'], 'mute rules in OpenAPI');

  // No secret anywhere.
  const secretPath = new URL(rx.url).pathname;
  for (const s of [SIGNING_KEY, secretPath]) {
    assert.ok(!cp.bodies.some((b) => b.includes(s)), `a response leaks ${s}`);
    assert.ok(!cp.logs.some((l) => l.includes(s)), `a log line leaks ${s}`);
  }
  const raw = readdirSync(cp.bw.dataDir).filter((f) => f.startsWith('bulwark.db')).map((f) => readFileSync(join(cp.bw.dataDir, f)).toString('latin1')).join('');
  assert.ok(!raw.includes(secretPath) && !raw.includes(SIGNING_KEY), 'secrets encrypted in the SQLite file');
});
