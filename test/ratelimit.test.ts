import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startTestBulwark, send } from './helpers/index.ts';

/** Gateway with the loopback peer trusted as a proxy, so X-Forwarded-For picks the client IP. */
async function setup(t: import('node:test').TestContext, policy: Record<string, unknown> = {}) {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32', '::1/128'], ...policy } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  return { up, bw };
}

test('default policy: 100 req/min per IP, then 429 problem+json with Retry-After and RateLimit headers', async (t) => {
  const { bw, up } = await setup(t);
  const xff = { 'x-forwarded-for': '203.0.113.10' };
  // GCRA: a burst of 100, refilled at one request per 600 ms while the loop runs.
  const t0 = Date.now();
  let allowed = 0;
  // the first 429 is checked below; checking a later request instead would race the refill (one per 600 ms)
  let throttled: Awaited<ReturnType<typeof send>> | undefined;
  let forwardedBefore429 = 0;
  for (let i = 1; i <= 200; i++) {
    forwardedBefore429 = up.requests.length;
    const r = await send(bw.gatewayUrl, `/api/products?i=${i}`, { headers: xff });
    if (r.status === 429) {
      throttled = r;
      break;
    }
    assert.equal(r.status, 200, `request ${i}`);
    allowed++;
    assert.equal(r.headers['ratelimit-policy'], '"default-ip";q=100;w=60');
    const m = /^"default-ip";r=(\d+);t=(\d+)$/.exec(String(r.headers['ratelimit']));
    assert.ok(m, String(r.headers['ratelimit']));
    const refilled = Math.floor((Date.now() - t0) / 600) + 1;
    assert.ok(Number(m[1]) >= 100 - i && Number(m[1]) <= 100 - i + refilled, `remaining ${m[1]} after ${i}`);
  }
  const elapsed = Date.now() - t0;
  assert.ok(allowed >= 100 && allowed <= 100 + Math.ceil(elapsed / 600) + 1, `allowed ${allowed} in ${elapsed} ms`);
  assert.ok(throttled, 'no 429 within 200 requests');
  const r = throttled;
  assert.equal(r.status, 429);
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  assert.equal(r.headers['retry-after'], '1');
  assert.match(String(r.headers['ratelimit']), /^"default-ip";r=0;t=(59|60)$/);
  assert.equal(r.json().status, 429);
  assert.equal(up.requests.length, forwardedBefore429, 'throttled request not forwarded');
  // Another client IP is not affected.
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '203.0.113.11' } })).status, 200);
});

test('login route is tighter (10/min) and encodings of the path do not dodge it', async (t) => {
  const { bw } = await setup(t);
  const xff = { 'x-forwarded-for': '198.51.100.20', 'content-type': 'application/json' };
  const paths = ['/api/login', '/api/%6cogin', '/api/./login', '/API/login', '/api//login'];
  for (let i = 0; i < 10; i++) {
    const r = await send(bw.gatewayUrl, paths[i % paths.length]!, { method: 'POST', headers: xff, body: '{"username":"a","password":"b"}' });
    assert.notEqual(r.status, 429, `attempt ${i + 1}`);
    assert.match(String(r.headers['ratelimit-policy']), /^"login-ip";q=10;w=60, "default-ip";q=100;w=60$/);
  }
  const r = await send(bw.gatewayUrl, '/api/%6Cogin', { method: 'POST', headers: xff, body: '{}' });
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '6');
  // Other routes for the same client still pass (default rule has room).
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status, 200);
});

test('monitor mode for a rule: requests pass, the event says it would throttle', async (t) => {
  const { bw } = await setup(t, { rateLimits: [{ id: 'watch-only', limit: 2, window: '1m', monitor: true }] });
  const xff = { 'x-forwarded-for': '192.0.2.77' };
  for (let i = 0; i < 4; i++) assert.equal((await send(bw.gatewayUrl, '/api/history', { headers: xff })).status, 200);
  await bw.services.events.flush();
  const page = await bw.services.eventStore.query({ ruleId: 'ratelimit.watch-only' });
  assert.equal(page.events.length, 2);
  for (const e of page.events) {
    assert.equal(e.action, 'allow');
    assert.equal(e.wouldBe, 'throttle');
    assert.equal(e.monitor, true);
    assert.equal(e.clientIp, '192.0.2.77');
    assert.equal(e.status, 200);
  }
});

test('ban after repeated rejections: 403 while the ban lasts, then allowed again; repeat offence escalates', async (t) => {
  // limit 2 per 2 s: one request per second refills; the 1 s ban ends when a request is allowed again.
  const { bw } = await setup(t, { rateLimits: [{ id: 'ban-fast', limit: 2, window: '2s', action: 'ban', banAfter: 1, banDuration: '1s' }] });
  const xff = { 'x-forwarded-for': '192.0.2.88' };
  assert.equal((await send(bw.gatewayUrl, '/api/balance', { headers: xff })).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/api/balance', { headers: xff })).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/api/balance', { headers: xff })).status, 403, 'the rejected request creates the ban');
  const d = bw.services.decisions.list({ value: '192.0.2.88' });
  assert.equal(d.length, 1);
  assert.equal(d[0]!.source, 'ratelimit.ban-fast');
  assert.equal(d[0]!.expiresAt - d[0]!.createdAt, 1000);
  const banned = await send(bw.gatewayUrl, '/api/products', { headers: xff });
  assert.equal(banned.status, 403);
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status, 200, 'ban expired and quota refilled');
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status, 403, 'second offence');
  const second = bw.services.decisions.list({ value: '192.0.2.88' })[0]!;
  assert.equal(second.offence, 2);
  assert.equal(second.expiresAt - second.createdAt, 2000, 'escalated: base × 2');
});

test('a per-user rule on an unverified JWT sub: a forged token cannot exhaust or ban another user; the sender is banned', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [{ id: 'per-user', key: 'user', limit: 2, window: '1m', action: 'ban', banAfter: 1 }] },
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const forged = `${b64({ alg: 'none' })}.${b64({ sub: 'alice' })}.`;
  const genuine = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'alice', iat: 1 })}.c2lnbmF0dXJl`;
  const get = async (token: string, ip: string) => (await send(bw.gatewayUrl, '/api/products', { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } })).status;
  const attacker: number[] = [];
  for (let i = 0; i < 4; i++) attacker.push(await get(forged, '198.51.100.66'));
  assert.equal(attacker.slice(0, 2).join(), '200,200');
  assert.ok(attacker.slice(2).every((s) => s === 403 || s === 429), attacker.join());
  const decisions = bw.services.decisions.list({});
  assert.ok(decisions.length >= 1);
  assert.ok(decisions.every((d) => d.scope === 'ip' && d.value === '198.51.100.66'), JSON.stringify(decisions.map((d) => [d.scope, d.value])));
  // the real alice, elsewhere, has her own quota and is not banned
  assert.equal(await get(genuine, '192.0.2.10'), 200);
  assert.equal(await get(genuine, '192.0.2.10'), 200);
});
