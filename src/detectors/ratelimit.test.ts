import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { validatePolicy } from '../config/load.ts';
import { Pipeline } from '../core/pipeline.ts';
import type { Detector } from '../core/detector.ts';
import type { RequestContext } from '../core/context.ts';
import type { Signal } from '../core/types.ts';
import { loadRedisRateLimitStore, rateLimitDetector } from './ratelimit.ts';

await loadRedisRateLimitStore();
import { listsDetector } from './lists.ts';
import { makeCtx, makeServices } from './testkit.ts';

function run(d: Detector, ctx: RequestContext): Signal[] {
  const r = d.inspectRequest!(ctx);
  assert.ok(!(r instanceof Promise), 'memory store path is synchronous');
  return (r ?? []) as Signal[];
}

function header(ctx: RequestContext, name: string): string | undefined {
  return ctx.responseHeaders.find(([n]) => n === name)?.[1];
}

test('default policy: 100/min per IP, then 429 with Retry-After and RateLimit headers', async (t) => {
  const policy = validatePolicy({});
  const services = await makeServices(policy);
  const d = rateLimitDetector(policy, services)!;
  t.after(() => d.close?.());
  const pipeline = new Pipeline({ policy, detectors: [d] });
  for (let i = 0; i < 100; i++) {
    const ctx = makeCtx({ target: '/api/balance' });
    assert.deepEqual(run(d, ctx), []);
    if (i === 57) {
      assert.equal(header(ctx, 'ratelimit-policy'), '"default-ip";q=100;w=60');
      assert.match(header(ctx, 'ratelimit')!, /^"default-ip";r=42;t=\d+$/);
    }
  }
  const ctx = makeCtx({ target: '/api/balance' });
  pipeline.runRequest(ctx);
  const v = pipeline.decide(ctx);
  assert.equal(v.action, 'throttle');
  assert.equal(v.status, 429);
  assert.deepEqual(v.reasons, ['ratelimit.default-ip']);
  assert.equal(v.retryAfterS, 1);
  const s = ctx.signals[0]!;
  assert.deepEqual(s.evidence?.detail, { limit: 100, windowS: 60, key: '192.0.2.1', retryAfterS: 1 });
  assert.match(header(ctx, 'ratelimit')!, /^"default-ip";r=0;t=60$/);
  // Another client is unaffected.
  assert.deepEqual(run(d, makeCtx({ ip: '192.0.2.2', target: '/api/balance' })), []);
});

test('login routes are tighter, both rules apply, the most restrictive header comes first; encodings do not dodge', async (t) => {
  const policy = validatePolicy({});
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  const paths = ['/api/login', '/api/%6cogin', '/api/./login', '/API/LOGIN', '/api//login/', '/auth/x', '/v2/signin', '/login', '/api/login;x=1', '/api/x/../login'];
  for (const p of paths) {
    const ctx = makeCtx({ method: 'POST', target: p + '?next=/' });
    assert.deepEqual(run(d, ctx), [], p);
    assert.match(header(ctx, 'ratelimit-policy')!, /^"login-ip";q=10;w=60, "default-ip";q=100;w=60$/);
  }
  const ctx = makeCtx({ method: 'POST', target: '/api/login' });
  const sig = run(d, ctx);
  assert.deepEqual(sig.map((s) => [s.ruleId, s.action]), [['ratelimit.login-ip', 'throttle']]);
  assert.equal(sig[0]!.evidence?.detail?.retryAfterS, 6);
  // GET on the login path is only under the default rule.
  assert.deepEqual(run(d, makeCtx({ method: 'GET', target: '/api/login' })), []);
});

test('keys: api_key (masked in evidence), header:<name>, user; a missing key skips the rule', async (t) => {
  const policy = validatePolicy({
    rateLimits: [
      { id: 'per-key', key: 'api_key', limit: 2, window: '1m' },
      { id: 'per-tenant', key: 'header:x-tenant', limit: 1, window: '1m', algorithm: 'sliding-window' },
      { id: 'per-user', key: 'user', limit: 1, window: '1h', match: { path: '/api/transaction', methods: ['POST'] } },
    ],
  });
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  const key = 'sk_live_abcdefghijklmnop';
  run(d, makeCtx({ apiKey: key }));
  run(d, makeCtx({ apiKey: key, ip: '192.0.2.99' }));
  const s = run(d, makeCtx({ apiKey: key, ip: '192.0.2.100' }));
  assert.equal(s[0]?.ruleId, 'ratelimit.per-key');
  assert.equal(s[0]?.evidence?.detail?.key, 'sk_l…' + (s[0]!.evidence!.detail!.key as string).slice(5));
  assert.ok(!JSON.stringify(s).includes(key));
  // No API key: rule skipped (no header, no signal).
  const anon = makeCtx({});
  assert.deepEqual(run(d, anon), []);
  assert.equal(header(anon, 'ratelimit'), undefined);
  assert.deepEqual(run(d, makeCtx({ headers: { 'x-tenant': 'acme' } })), []);
  assert.equal(run(d, makeCtx({ headers: { 'x-tenant': 'acme' }, ip: '192.0.2.7' }))[0]?.ruleId, 'ratelimit.per-tenant');
  assert.deepEqual(run(d, makeCtx({ headers: { 'x-tenant': 'other' } })), []);
  assert.deepEqual(run(d, makeCtx({ method: 'POST', target: '/api/transaction', user: 'alice' })), []);
  assert.equal(run(d, makeCtx({ method: 'POST', target: '/api/transaction', user: 'alice', ip: '192.0.2.8' }))[0]?.ruleId, 'ratelimit.per-user');
  // an unverified user (JWT sub) is counted per client: bob's quota from one IP says nothing of another
  assert.deepEqual(run(d, makeCtx({ method: 'POST', target: '/api/transaction', user: 'bob', userVerified: false, ip: '192.0.2.20' })), []);
  assert.deepEqual(run(d, makeCtx({ method: 'POST', target: '/api/transaction', user: 'bob', userVerified: false, ip: '192.0.2.21' })), []);
  assert.equal(run(d, makeCtx({ method: 'POST', target: '/api/transaction', user: 'bob', userVerified: false, ip: '192.0.2.21' }))[0]?.ruleId, 'ratelimit.per-user');
});

test('ban after banAfter consecutive rejections, with the rule ban duration', async (t) => {
  const policy = validatePolicy({ rateLimits: [{ id: 'strict', limit: 2, window: '1m', action: 'ban', banAfter: 3, banDuration: '5m' }] });
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  run(d, makeCtx());
  run(d, makeCtx());
  assert.equal(run(d, makeCtx())[0]?.action, 'throttle');
  assert.equal(run(d, makeCtx())[0]?.action, 'throttle');
  const s = run(d, makeCtx())[0]!;
  assert.equal(s.action, 'ban');
  assert.deepEqual(s.ban, { scope: 'ip', value: '192.0.2.1', durationMs: 300_000 });
  assert.equal(run(d, makeCtx())[0]?.action, 'throttle', 'streak restarts after a ban');
});

test('an api_key ban holds the masked key, and the decision service matches it', async (t) => {
  const policy = validatePolicy({ rateLimits: [{ id: 'key-ban', key: 'api_key', limit: 1, window: '1m', action: 'ban' }] });
  const services = await makeServices(policy);
  const d = rateLimitDetector(policy, services)!;
  t.after(() => d.close?.());
  const key = 'sk_live_zzzzzzzzzzzzzzzz';
  run(d, makeCtx({ apiKey: key }));
  const s = run(d, makeCtx({ apiKey: key }))[0]!;
  assert.equal(s.action, 'ban');
  assert.equal(s.ban?.scope, 'api_key');
  assert.ok(!s.ban?.value?.includes('zzzz'), 'no secret in the ban');
  services.decisions.add({ scope: s.ban!.scope!, value: s.ban!.value!, type: 'ban', origin: 'rule', source: s.ruleId, reason: 'x' });
  assert.ok(services.decisions.match(makeCtx({ ip: '203.0.113.1', apiKey: key })));
  assert.equal(services.decisions.match(makeCtx({ ip: '203.0.113.1', apiKey: key + 'x' })), undefined);
});

test('monitor rule: signal marked monitor; the request passes and wouldBe is throttle', async (t) => {
  const policy = validatePolicy({ rateLimits: [{ id: 'watch', limit: 1, window: '1m', monitor: true }] });
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  const p = new Pipeline({ policy, detectors: [d] });
  run(d, makeCtx());
  const ctx = makeCtx();
  p.runRequest(ctx);
  const v = p.decide(ctx);
  assert.equal(v.action, 'allow');
  assert.equal(v.wouldBe, 'throttle');
  assert.equal(v.monitor, true);
  assert.deepEqual(v.reasons, ['ratelimit.watch']);
});

test('allow-listed clients are counted but never throttled', async (t) => {
  const policy = validatePolicy({ lists: { allow: { ips: ['192.0.2.0/24'] } }, rateLimits: [{ id: 'tiny', limit: 1, window: '1m' }] });
  const services = await makeServices(policy);
  const lists = listsDetector(policy, services)!;
  const d = rateLimitDetector(policy, services)!;
  t.after(() => d.close?.());
  const p = new Pipeline({ policy, detectors: [lists, d] });
  for (let i = 0; i < 3; i++) {
    const ctx = makeCtx({ ip: '192.0.2.5' });
    p.runRequest(ctx);
    assert.equal(ctx.allowListed, true);
    assert.equal(p.decide(ctx).action, 'allow');
    assert.equal(ctx.signals.length, 0);
    assert.match(header(ctx, 'ratelimit')!, /r=0/, 'counted');
  }
});

test('state survives a rebuild of the detector (policy reload) for the same services', async () => {
  const policy = validatePolicy({ rateLimits: [{ id: 'r', limit: 1, window: '1m' }] });
  const services = await makeServices(policy);
  const d1 = rateLimitDetector(policy, services)!;
  run(d1, makeCtx());
  const d2 = rateLimitDetector(validatePolicy({ rateLimits: [{ id: 'r', limit: 1, window: '1m' }] }), services)!;
  await d1.close?.();
  assert.equal(run(d2, makeCtx())[0]?.ruleId, 'ratelimit.r');
  await d2.close?.();
});

test('a new state.maxKeys on reload starts a new bounded store; the old one closes with its detector', async () => {
  const p1 = validatePolicy({ rateLimits: [{ id: 'r', limit: 1, window: '1m' }], state: { maxKeys: 10 } });
  const services = await makeServices(p1);
  const d1 = rateLimitDetector(p1, services)!;
  for (let i = 0; i < 50; i++) run(d1, makeCtx({ ip: `192.0.2.${i}` }));
  const { rateLimitTrackedKeys } = await import('./ratelimit.ts');
  assert.equal(rateLimitTrackedKeys(services), 10, 'bounded by maxKeys');
  const d2 = rateLimitDetector(validatePolicy({ rateLimits: [{ id: 'r', limit: 1, window: '1m' }], state: { maxKeys: 20 } }), services)!;
  await d1.close?.();
  for (let i = 0; i < 50; i++) run(d2, makeCtx({ ip: `192.0.2.${i}` }));
  assert.equal(rateLimitTrackedKeys(services), 20);
  await d2.close?.();
  assert.equal(rateLimitTrackedKeys(services), 0);
});

test('pathological 64 KiB request paths and headers are handled in linear time', async (t) => {
  const policy = validatePolicy({ rateLimits: [{ id: 'deep', limit: 1000, match: { path: ['/**/a/**/b/**/c', '/api/*/x/**'] }, key: 'header:x-k' }, { id: 'default-ip', limit: 1000 }] });
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  const big = 'x'.repeat(64 * 1024);
  const t0 = performance.now();
  for (const target of ['/a'.repeat(32 * 1024), '/%2e%2e'.repeat(9000), '/' + big, '/;/'.repeat(20000), '/a/'.repeat(20000) + 'b']) {
    const ctx = makeCtx({ target, headers: { 'x-k': big } });
    run(d, ctx);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `${ms} ms`);
});

test('Redis-backed limiter: shared between instances, answers with a Promise, fails open', async (t) => {
  const url = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';
  const policy = validatePolicy({ rateLimits: [{ id: `shared-${randomUUID().slice(0, 8)}`, limit: 2, window: '1m' }] });
  const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
  const a = rateLimitDetector(policy, await makeServices(policy, { redisUrl: url }))!;
  const b = rateLimitDetector(policy, await makeServices(policy, { redisUrl: url }))!;
  const admin = new Redis(url);
  t.after(async () => {
    await Promise.all([a.close?.(), b.close?.()]);
    await admin.del(`bulwark:rl:${policy.rateLimits[0]!.id}:${ip}`);
    await admin.quit();
  });
  const r1 = a.inspectRequest!(makeCtx({ ip }));
  assert.ok(r1 instanceof Promise);
  assert.equal(await r1, undefined);
  assert.equal(await b.inspectRequest!(makeCtx({ ip })), undefined);
  const s = (await a.inspectRequest!(makeCtx({ ip }))) as Signal[];
  assert.equal(s[0]?.ruleId, policy.rateLimits[0]!.id.replace(/^/, 'ratelimit.'));
  const down = rateLimitDetector(policy, await makeServices(policy, { redisUrl: 'redis://127.0.0.1:1' }))!;
  t.after(() => down.close?.());
  const ctx = makeCtx({ ip });
  assert.equal(await down.inspectRequest!(ctx), undefined);
});

test('RateLimit never advertises more remaining than the quota q, even with a burst above the limit', async (t) => {
  const policy = validatePolicy({ rateLimits: [{ id: 'b', limit: 10, window: '1m', burst: 50 }] });
  const d = rateLimitDetector(policy, await makeServices(policy))!;
  t.after(() => d.close?.());
  const c = makeCtx({});
  run(d, c);
  assert.equal(header(c, 'ratelimit-policy'), '"b";q=10;w=60');
  assert.match(String(header(c, 'ratelimit')), /^"b";r=10;t=\d+$/);
});
