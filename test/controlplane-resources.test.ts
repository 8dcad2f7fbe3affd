import { maskApiKey } from '../src/events/record.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { uuidv7 } from '../src/events/record.ts';
import type { SecurityEvent } from '../src/events/types.ts';
import { startControlPlane } from '../src/controlplane/testing.ts';

function event(over: Partial<SecurityEvent>, i: number): SecurityEvent {
  const time = Date.now() - 60_000 + i * 10;
  return {
    id: uuidv7(time),
    time,
    requestId: `req-${i}`,
    clientIp: '203.0.113.9',
    clientKey: '203.0.113.9',
    method: 'GET',
    target: `/api/search?q=${i}`,
    status: 403,
    action: 'block',
    wouldBe: 'block',
    monitor: false,
    anomalyScore: 5,
    risk: 0.5,
    level: 'MEDIUM',
    signals: [{ ruleId: 'sqli.942100', detector: 'payload', category: 'sqli', score: 5, evidence: { matched: 'union select' } }],
    reasons: ['sqli.942100'],
    latencyMs: 1,
    category: 'sqli',
    ...over,
  };
}

function rawGet(url: string, path: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('control plane resources: events, exports, decisions, lists, stats, reports, audit, inventory', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { costPerBlockedRequest: 0.5 } } });
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  const svc = cp.bw.services;

  // --- events: filters, full text, cursor pagination
  svc.events.push(event({}, 0));
  svc.events.push(event({ action: 'throttle', wouldBe: 'throttle', status: 429, category: 'ratelimit', reasons: ['ratelimit.default-ip'], signals: [{ ruleId: 'ratelimit.default-ip', detector: 'ratelimit', category: 'ratelimit', score: 0, action: 'throttle' }], level: 'LOW' }, 1));
  svc.events.push(event({ clientIp: '198.51.100.20', clientKey: '198.51.100.20', userAgent: '=HYPERLINK("http://evil")', target: '/api/users/1,"x"' }, 2));
  svc.events.push(event({ monitor: true, action: 'allow', wouldBe: 'block', status: 200, level: 'HIGH' }, 3));
  svc.events.push(event({ signals: [{ ruleId: 'xss.941100', detector: 'payload', category: 'xss', score: 5, evidence: { matched: 'zebracorn payload' } }], reasons: ['xss.941100'], category: 'xss' }, 4));
  await svc.events.flush();

  let r = await admin.req('GET', '/api/v1/events');
  assert.equal(r.status, 200);
  assert.equal(r.json.items.length, 5);
  assert.ok(r.json.items[0].time >= r.json.items[4].time, 'newest first');
  r = await admin.req('GET', '/api/v1/events?action=throttle');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-1']);
  r = await admin.req('GET', '/api/v1/events?clientIp=198.51.100.20');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-2']);
  r = await admin.req('GET', '/api/v1/events?monitor=true');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-3']);
  r = await admin.req('GET', '/api/v1/events?category=xss');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-4']);
  r = await admin.req('GET', '/api/v1/events?q=zebracorn');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-4'], 'full text over evidence');
  r = await admin.req('GET', '/api/v1/events?level=HIGH&from=0');
  assert.deepEqual(r.json.items.map((e: SecurityEvent) => e.requestId), ['req-3']);
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 5; page++) {
    r = await admin.req('GET', `/api/v1/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    seen.push(...r.json.items.map((e: SecurityEvent) => e.requestId));
    cursor = r.json.nextCursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, ['req-4', 'req-3', 'req-2', 'req-1', 'req-0']);
  r = await admin.req('GET', '/api/v1/events?limit=5000');
  assert.equal(r.status, 400);
  r = await admin.req('GET', `/api/v1/events?q=${'a'.repeat(300)}`);
  assert.equal(r.status, 400);

  // --- exports
  r = await admin.req('GET', '/api/v1/events/export?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type')!, /^text\/csv/);
  assert.match(r.headers.get('content-disposition')!, /attachment; filename="bulwark-events-.*\.csv"/);
  const lines = r.text.trim().split('\r\n');
  assert.equal(lines[0], 'id,time,clientIp,country,method,target,route,status,action,wouldBe,monitor,anomalyScore,risk,level,category,reasons,userAgent,apiKey,user');
  assert.equal(lines.length, 6);
  const evil = lines.find((l) => l.includes('HYPERLINK'))!;
  assert.ok(evil.includes(`"'=HYPERLINK(""http://evil"")"`), `CSV injection neutralised: ${evil}`);
  assert.ok(evil.includes('"/api/users/1,""x"""'));
  r = await admin.req('GET', '/api/v1/events/export?format=ndjson&action=block');
  const nd = r.text.trim().split('\n').map((l) => JSON.parse(l) as SecurityEvent);
  assert.deepEqual(nd.map((e) => e.requestId), ['req-0', 'req-2', 'req-4'], 'oldest first, filtered');
  r = await admin.req('GET', '/api/v1/events/export?format=json');
  assert.equal(JSON.parse(r.text).length, 5);

  // --- decisions: create (manual, TTL), list, export, delete = unban
  r = await admin.req('POST', '/api/v1/decisions', { scope: 'ip', value: 'not-an-ip', type: 'ban', ttlS: 60, reason: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.json.errors[0].path, 'value');
  r = await admin.req('POST', '/api/v1/decisions', { scope: 'ip', value: '203.0.113.50', type: 'ban', ttlS: 600, reason: 'manual test ban' });
  assert.equal(r.status, 201);
  const d = r.json;
  assert.equal(d.origin, 'manual');
  assert.equal(d.source, 'admin');
  assert.ok(Math.abs(d.expiresAt - d.createdAt - 600_000) < 1000, 'TTL applied without escalation');
  r = await admin.req('POST', '/api/v1/decisions', { scope: 'range', value: '10.1.2.3/16', type: 'throttle', ttlS: 60, reason: 'range' });
  assert.equal(r.status, 201);
  assert.equal(r.json.value, '10.1.0.0/16', 'CIDR normalised');
  r = await admin.req('GET', '/api/v1/decisions?scope=ip');
  assert.deepEqual(r.json.items.map((x: { id: string }) => x.id), [d.id]);
  r = await admin.req('GET', '/api/v1/decisions?limit=1');
  assert.equal(r.json.items.length, 1);
  assert.equal(r.json.total, 2);
  const all = (await admin.req('GET', '/api/v1/decisions')).json.items as { createdAt: number }[];
  assert.equal(r.json.items[0].createdAt, Math.max(...all.map((x) => x.createdAt)), 'newest first');
  r = await admin.req('GET', `/api/v1/decisions/${d.id}`);
  assert.equal(r.json.reason, 'manual test ban');
  r = await admin.req('GET', '/api/v1/decisions/export?format=csv');
  assert.equal(r.text.trim().split('\r\n').length, 3);
  r = await admin.req('DELETE', `/api/v1/decisions/${d.id}`);
  assert.equal(r.status, 204);
  assert.equal(svc.decisions.get(d.id), undefined);
  r = await admin.req('DELETE', `/api/v1/decisions/${d.id}`);
  assert.equal(r.status, 404);

  // --- traffic through the gateway, then a deny-list entry (a policy version) that blocks this client
  for (let i = 0; i < 5; i++) assert.equal((await fetch(cp.bw.gatewayUrl + '/api/products')).status, 200);
  assert.ok((await rawGet(cp.bw.gatewayUrl, '/api/<script>alert(1)</script>')) > 0);
  // the hostile request may itself be blocked by the payload engine: count from here
  r = await admin.req('GET', '/api/v1/stats/summary');
  const blocked0 = r.json.blocked as number;
  r = await admin.req('GET', '/api/v1/policy');
  const v0 = r.json.version as number;
  r = await admin.req('POST', '/api/v1/lists/deny/entries', { kind: 'ip', value: '127.0.0.1', reason: 'test deny' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.policyVersion, v0 + 1);
  assert.deepEqual(cp.bw.policy().lists.deny.ips, ['127.0.0.1'], 'applied to the running gateway');
  r = await admin.req('POST', '/api/v1/lists/deny/entries', { kind: 'ip', value: '127.0.0.1' });
  assert.equal(r.status, 409);
  r = await admin.req('POST', '/api/v1/lists/deny/entries', { kind: 'ip', value: '300.1.1.1' });
  assert.equal(r.status, 400);
  r = await admin.req('POST', '/api/v1/lists/allow/entries', { kind: 'api_key', value: 'partner-key-123456', reason: 'partner' });
  assert.equal(r.status, 201);
  for (let i = 0; i < 3; i++) assert.equal((await fetch(cp.bw.gatewayUrl + '/api/products')).status, 403);
  // viewers never see API keys: not in the lists, the policy, nor the version YAML/diff
  await admin.req('POST', '/api/v1/users', { username: 'vera', password: 'viewer-password-9', role: 'viewer' });
  const vera = await cp.login('vera', 'viewer-password-9');
  for (const path of ['/api/v1/lists', '/api/v1/policy', `/api/v1/policy/versions/${v0 + 2}`]) {
    const seen = await vera.req('GET', path);
    assert.equal(seen.status, 200);
    assert.ok(!seen.text.includes('partner-key-123456'), `viewer sees the API key in ${path}`);
    assert.ok(seen.text.includes('part…'), `masked key shown in ${path}`);
  }
  assert.ok((await admin.req('GET', '/api/v1/policy')).text.includes('partner-key-123456'), 'admins edit the real policy');
  r = await admin.req('POST', '/api/v1/decisions', { scope: 'api_key', value: 'leaked-key-abcdef', type: 'ban', ttlS: 60, reason: 'abuse' });
  assert.equal(r.status, 201);
  // API keys are secrets: the decision keeps only the masked key (it still matches the key on requests)
  assert.equal(r.json.value, maskApiKey('leaked-key-abcdef'));
  for (const path of ['/api/v1/decisions', `/api/v1/decisions/${r.json.id}`, '/api/v1/decisions/export?format=csv']) {
    const seen = await vera.req('GET', path);
    assert.ok(!seen.text.includes('leaked-key-abcdef') && seen.text.includes('leak…'), `viewer sees a masked API key in ${path}`);
  }
  const adminView = (await admin.req('GET', '/api/v1/decisions')).text;
  assert.ok(!adminView.includes('leaked-key-abcdef') && adminView.includes(maskApiKey('leaked-key-abcdef')), 'no one reads the key back');
  await admin.req('DELETE', `/api/v1/decisions/${r.json.id}`);
  r = await admin.req('GET', '/api/v1/lists');
  const deny = r.json.items.find((e: { list: string }) => e.list === 'deny');
  assert.deepEqual({ ...deny, addedAt: 0 }, { list: 'deny', kind: 'ip', value: '127.0.0.1', addedBy: 'admin', reason: 'test deny', addedAt: 0 });
  r = await admin.req('DELETE', '/api/v1/lists/deny/entries?kind=ip&value=127.0.0.1');
  assert.equal(r.status, 204);
  assert.deepEqual(cp.bw.policy().lists.deny.ips, []);
  assert.equal((await fetch(cp.bw.gatewayUrl + '/api/products')).status, 200);
  r = await admin.req('GET', '/api/v1/policy/versions');
  assert.equal(r.json.items[0].version, v0 + 3);

  // --- statistics over all traffic (allowed and blocked) from the traffic-stats detector
  // the response phase (which counts) runs after the client has its response: wait for it, bounded
  for (let i = 0; i < 100; i++) {
    const sum = (await admin.req('GET', '/api/v1/stats/summary')).json;
    if (sum.allowed + sum.logged >= 6) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  r = await admin.req('GET', '/api/v1/stats/timeline');
  assert.equal(r.status, 200);
  // forwarded requests are `allow` or `log` (the risk step logs a client whose risk reached MEDIUM after its blocks)
  const tot = (r.json.items as { allowed: number; logged: number; blocked: number }[]).reduce((a, b) => ({ allowed: a.allowed + b.allowed + b.logged, blocked: a.blocked + b.blocked }), { allowed: 0, blocked: 0 });
  assert.ok(tot.allowed >= 6, `allowed ${tot.allowed}`);
  assert.equal(tot.blocked, blocked0 + 3);
  r = await admin.req('GET', '/api/v1/stats/timeline?bucket=hour');
  assert.equal(r.json.bucket, 'hour');
  r = await admin.req('GET', '/api/v1/stats/summary');
  assert.equal(r.json.blocked, blocked0 + 3);
  assert.equal(r.json.costSaved, (blocked0 + 3) * 0.5, 'blocked × costPerBlockedRequest');
  assert.ok(r.json.topEndpoints.some((e: { route: string; requests: number }) => e.route.endsWith('/api/products') && e.requests >= 9), JSON.stringify(r.json.topEndpoints));
  assert.equal(r.json.topClients[0].clientIp, '127.0.0.1');
  assert.equal(r.json.topClients[0].blocked, blocked0 + 3);
  // every request has a level; the clean requests before any block are LOW (later ones carry the client's risk)
  const lv = r.json.levels as Record<string, number>;
  assert.equal(lv.LOW! + lv.MEDIUM! + lv.HIGH! + lv.CRITICAL!, r.json.requests);
  assert.ok(lv.LOW! >= 5, JSON.stringify(lv));
  r = await admin.req('GET', '/api/v1/stats/summary?from=10&to=5');
  assert.equal(r.status, 400);

  // --- report: JSON and printable HTML with request-derived strings escaped
  r = await admin.req('GET', '/api/v1/reports/summary');
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.blocked, blocked0 + 3);
  assert.ok(r.json.policyVersions.length >= 3);
  r = await admin.req('GET', '/api/v1/reports/summary?format=html');
  assert.match(r.headers.get('content-type')!, /^text\/html/);
  assert.match(r.headers.get('content-security-policy')!, /default-src 'none'/);
  assert.ok(!r.text.includes('<script>'), 'no raw script tag');
  assert.ok(r.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'hostile path rendered as text');
  assert.ok(r.text.includes(`${(blocked0 + 3) * 0.5} USD`));

  // --- inventory (behaviour module's API discovery)
  r = await admin.req('GET', '/api/v1/inventory');
  assert.equal(r.status, 200);
  assert.ok(Array.isArray(r.json.items));

  // --- audit log: query and export
  r = await admin.req('GET', '/api/v1/audit?resource=decision');
  assert.deepEqual(r.json.items.map((e: { action: string }) => e.action).sort(), ['decision.create', 'decision.create', 'decision.create', 'decision.delete', 'decision.delete']);
  const del = r.json.items.find((e: { action: string; resourceId: string }) => e.action === 'decision.delete' && e.resourceId === d.id);
  assert.equal(del.before.value, '203.0.113.50', 'before state recorded');
  assert.equal(del.actor, 'admin');
  r = await admin.req('GET', '/api/v1/audit?resource=list');
  const add = r.json.items.find((e: { action: string; after: { kind: string } }) => e.action === 'list.add' && e.after.kind === 'api_key');
  assert.ok(!JSON.stringify(add).includes('partner-key-123456'), 'API keys masked in the audit log');
  r = await admin.req('GET', '/api/v1/audit?limit=2');
  assert.equal(r.json.items.length, 2);
  const r2 = await admin.req('GET', `/api/v1/audit?limit=2&cursor=${r.json.nextCursor}`);
  assert.ok(r2.json.items[0].seq < r.json.items[1].seq + 1 && r2.json.items[0].seq !== r.json.items[1].seq);
  r = await admin.req('GET', '/api/v1/audit/export?format=csv');
  assert.match(r.text, /^id,time,actor,actorId,ip,action,resource,resourceId,before,after\r\n/);
  assert.ok(r.text.includes('decision.delete'));
});

test('control plane validation: bounded bodies, unknown fields, problem details', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  let r = await admin.req('POST', '/api/v1/decisions', { scope: 'ip', value: '192.0.2.1', type: 'ban', ttlS: 60, reason: 'x', origin: 'rule' });
  assert.equal(r.status, 400);
  assert.match(r.json.errors[0].message, /origin/);
  r = await admin.req('POST', '/api/v1/decisions', { scope: 'ip', value: '192.0.2.1', type: 'ban', ttlS: 0, reason: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.json.errors[0].path, 'ttlS');
  r = await admin.req('POST', '/api/v1/decisions', '{"scope":', {});
  assert.equal(r.status, 400);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  r = await admin.req('POST', '/api/v1/lists/deny/entries', { kind: 'ip', value: 'x'.repeat(2 * 1024 * 1024) });
  assert.equal(r.status, 413);
  assert.equal(r.json.code, 'BWK_PAYLOAD_TOO_LARGE');
  r = await admin.req('POST', '/api/v1/decisions', '<scope>ip</scope>', { contentType: 'application/xml' });
  assert.equal(r.status, 415);
  r = await admin.req('GET', '/api/v1/nothing-here');
  assert.equal(r.status, 404);
  assert.equal(r.json.code, 'BWK_NOT_FOUND');
  // OpenAPI document and interactive docs are public
  const doc = (await (await fetch(cp.base + '/api/docs/json')).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, '3.0.3');
  for (const p of ['/api/v1/events', '/api/v1/decisions', '/api/v1/policy', '/api/v1/stream', '/api/v1/auth/login']) assert.ok(p in doc.paths, `OpenAPI has ${p}`);
  const ui = await fetch(cp.base + '/api/docs/');
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /swagger/i);
  // the admin listener's own routes are untouched by the control plane scope
  assert.equal((await fetch(cp.base + '/healthz')).status, 200);
});

test('control plane disabled by the policy: no /api routes on the admin listener', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { enabled: false } } });
  t.after(() => cp.stop());
  assert.equal((await fetch(cp.base + '/api/v1/auth/session')).status, 404);
  assert.equal((await fetch(cp.base + '/api/docs/json')).status, 404);
  assert.equal((await fetch(cp.base + '/healthz')).status, 200);
});
