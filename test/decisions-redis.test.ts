import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { redactRedisUrl, redisPrefixProblem } from '../src/app.ts';
import { resolveStartOptions } from '../src/cli/start.ts';
import { ConfigError } from '../src/config/errors.ts';
import { validatePolicy } from '../src/config/load.ts';
import { RequestContext } from '../src/core/context.ts';
import { RedisDecisionStore } from '../src/decisions/redis-store.ts';
import { DecisionIndex } from '../src/decisions/service.ts';
import { startUpstream, startTestBulwark, send, tempDir, modulesLoadedByApp, type TestBulwark, type TestUpstream, captureLogs } from './helpers/index.ts';

const REDIS = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const policy = { trustedProxies: ['127.0.0.1/32'], rateLimits: [] };

/**
 * A unique key prefix for one test, and an after-hook that stops the test's gateways and upstream, then
 * deletes every key under the prefix (KEYS is fine on a test Redis).
 */
function redisScope(t: TestContext): { prefix: string; admin: Redis; gateways: TestBulwark[]; upstreams: TestUpstream[] } {
  const prefix = `bwtest:${randomUUID()}:`;
  const admin = new Redis(REDIS);
  const gateways: TestBulwark[] = [];
  const upstreams: TestUpstream[] = [];
  t.after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(upstreams.map((u) => u.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });
  return { prefix, admin, gateways, upstreams };
}

/** Status of `GET /api/products` from client `ip` (X-Forwarded-For from a trusted loopback proxy). */
async function statusFor(gw: TestBulwark, ip: string): Promise<number> {
  return (await send(gw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': ip } })).status;
}

/** Polls until `gw` answers `status` for `ip`; returns the milliseconds it took. @throws after `ms`. */
async function untilStatus(gw: TestBulwark, ip: string, status: number, ms = 1000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const s = await statusFor(gw, ip);
    if (s === status) return performance.now() - t0;
    if (performance.now() - t0 > ms) assert.fail(`${gw.gatewayUrl}: expected ${status} for ${ip} within ${ms} ms, still ${s}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a ban added on gateway A is enforced by gateway B through Redis within 1 s; the unban too', async (t) => {
  const { prefix, admin, gateways, upstreams } = redisScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  const a = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix: prefix });
  gateways.push(a);
  const b = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix: prefix });
  gateways.push(b);
  const ip = '192.0.2.77';
  assert.equal(await statusFor(b, ip), 200);

  const d = a.services.decisions.add({ scope: 'ip', value: ip, type: 'ban', origin: 'manual', source: 'test', reason: 'shared ban', durationMs: 60_000 });
  assert.equal(await statusFor(a, ip), 403, 'A applies its own ban at once');
  const took = await untilStatus(b, ip, 403);
  t.diagnostic(`ban reached B in ${took.toFixed(0)} ms`);
  assert.equal(b.services.decisions.get(d.id)?.value, ip);
  assert.equal(await statusFor(b, '192.0.2.78'), 200, 'other clients unaffected');
  // stored under the configured prefix, nowhere else
  assert.ok(await admin.hget(`${prefix}dec:data`, d.id));
  assert.equal(await admin.hget('bulwark:dec:data', d.id), null);

  assert.equal(await a.services.decisions.remove(d.id), true);
  assert.equal(await statusFor(a, ip), 200);
  const lifted = await untilStatus(b, ip, 200);
  t.diagnostic(`unban reached B in ${lifted.toFixed(0)} ms`);
  assert.equal(b.services.decisions.get(d.id), undefined);
});

test('a ban in Redis survives restarting both gateways (fresh data directories: not SQLite)', async (t) => {
  const { prefix, gateways, upstreams } = redisScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  const opts = { upstream: up.url, policy, redisUrl: REDIS, redisPrefix: prefix };
  const a = await startTestBulwark(opts);
  gateways.push(a);
  const b = await startTestBulwark(opts);
  gateways.push(b);
  const ip = '198.51.100.90';
  const d = a.services.decisions.add({ scope: 'ip', value: ip, type: 'ban', origin: 'manual', source: 'test', reason: 'persisted', durationMs: 600_000 });
  await untilStatus(b, ip, 403);
  await Promise.all([a.stop(), b.stop()]); // close flushes the write-behind queue

  const a2 = await startTestBulwark(opts);
  gateways.push(a2);
  const b2 = await startTestBulwark(opts);
  gateways.push(b2);
  assert.notEqual(a2.dataDir, a.dataDir);
  assert.equal(await statusFor(a2, ip), 403);
  assert.equal(await statusFor(b2, ip), 403);
  assert.equal(a2.services.decisions.get(d.id)?.expiresAt, d.expiresAt);

  // a gateway with another prefix on the same Redis does not see it
  const otherPrefix = redisScope(t);
  const c = await startTestBulwark({ ...opts, redisPrefix: otherPrefix.prefix });
  otherPrefix.gateways.push(c);
  assert.equal(await statusFor(c, ip), 200);
});

test('retention prune (run at start, then hourly) deletes decisions expired before the offence window from Redis', async (t) => {
  const { prefix, admin, gateways, upstreams } = redisScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  const { RedisDecisionStore } = await import('../src/decisions/redis-store.ts');
  const store = new RedisDecisionStore(REDIS, { prefix });
  const now = Date.now();
  const base = { scope: 'ip' as const, type: 'ban' as const, origin: 'manual' as const, source: 'test', reason: 'old', offence: 1 };
  // default offenceWindow is 1 day: expired 2 days ago goes, expired 1 hour ago stays (escalation history)
  await store.put({ ...base, id: 'old', value: '192.0.2.1', createdAt: now - 3 * 86_400_000, expiresAt: now - 2 * 86_400_000 });
  await store.put({ ...base, id: 'recent', value: '192.0.2.2', createdAt: now - 7_200_000, expiresAt: now - 3_600_000 });
  await store.close();
  const gw = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix: prefix });
  gateways.push(gw);
  const t0 = Date.now();
  while ((await admin.hexists(`${prefix}dec:data`, 'old')) === 1) {
    if (Date.now() - t0 > 2000) assert.fail('expired decision not pruned from Redis');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await admin.hexists(`${prefix}dec:data`, 'recent'), 1);
  assert.deepEqual(await admin.zrange(`${prefix}dec:exp`, '0', '-1'), ['recent']);
});

test('the decision store in use is logged at start; the Redis password is not', async (t) => {
  const { prefix, gateways, upstreams } = redisScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  // A password the test Redis does not check (ioredis carries on when the server has none), or its own.
  const url = new URL(REDIS);
  if (url.password === '') url.password = `pw-${randomUUID()}`;
  const secret = url.password;
  const { logger, lines } = captureLogs('info');
  const withRedis = await startTestBulwark({ upstream: up.url, policy, redisUrl: url.href, redisPrefix: prefix, logger });
  gateways.push(withRedis);
  const plain = await startTestBulwark({ upstream: up.url, policy, logger });
  gateways.push(plain);
  const logs = lines.map((l) => JSON.parse(l) as { msg: string; store?: string; redis?: string; prefix?: string; file?: string });
  const stores = logs.filter((l) => l.msg.startsWith('decision store'));
  assert.equal(stores.length, 2, lines.join('\n'));
  assert.equal(stores[0]!.store, 'redis');
  assert.equal(stores[0]!.prefix, prefix);
  assert.equal(stores[0]!.redis, redactRedisUrl(url.href));
  assert.match(stores[0]!.redis!, /:\*\*\*@/);
  assert.equal(stores[1]!.store, 'sqlite');
  assert.equal(stores[1]!.file, `${plain.dataDir}/bulwark.db`);
  assert.ok(!lines.some((l) => l.includes(secret)), 'password never logged');
});

test('redactRedisUrl masks the password only; junk is not echoed', () => {
  assert.equal(redactRedisUrl('redis://user:s3cret@10.0.0.5:6380/2'), 'redis://user:***@10.0.0.5:6380/2');
  assert.equal(redactRedisUrl('rediss://:s3cret@cache.internal:6379'), 'rediss://:***@cache.internal:6379');
  assert.equal(redactRedisUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  assert.equal(redactRedisUrl('not a url s3cret'), undefined);
});

test('--redis-prefix / BULWARK_REDIS_PREFIX: flag wins, validated with BWK_CONFIG_ENV', async (t) => {
  assert.equal(resolveStartOptions({}, {}).redisPrefix, undefined, 'app default bulwark: applies');
  assert.equal(resolveStartOptions({}, { BULWARK_REDIS_PREFIX: 'staging:' }).redisPrefix, 'staging:');
  assert.equal(resolveStartOptions({}, { BULWARK_REDIS_PREFIX: '  ' }).redisPrefix, undefined, 'blank variable ignored like the others');
  assert.equal(resolveStartOptions({ redisPrefix: 'eu-1:' }, { BULWARK_REDIS_PREFIX: 'staging:' }).redisPrefix, 'eu-1:');
  const rejects = (flags: { redisPrefix?: string }, env: NodeJS.ProcessEnv, paths: string[]): void => {
    assert.throws(
      () => resolveStartOptions(flags, env),
      (err: unknown) => err instanceof ConfigError && err.code === 'BWK_CONFIG_ENV' && JSON.stringify(err.issues.map((i) => i.path)) === JSON.stringify(paths),
      JSON.stringify({ flags, env }),
    );
  };
  rejects({ redisPrefix: '' }, {}, ['--redis-prefix']);
  rejects({ redisPrefix: 'two words:' }, {}, ['--redis-prefix']);
  rejects({}, { BULWARK_REDIS_PREFIX: 'tab\there' }, ['BULWARK_REDIS_PREFIX']);
  rejects({}, { BULWARK_REDIS_PREFIX: 'bulwärk:' }, ['BULWARK_REDIS_PREFIX']);
  rejects({}, { BULWARK_REDIS_PREFIX: 'x'.repeat(129) }, ['BULWARK_REDIS_PREFIX']);
  // listed together with the other invalid variables
  rejects({}, { BULWARK_PORT: 'eighty', BULWARK_REDIS_PREFIX: 'a b' }, ['BULWARK_PORT', 'BULWARK_REDIS_PREFIX']);
  assert.equal(redisPrefixProblem('bulwark:'), undefined);
  // startBulwark checks it too (programmatic use), before opening anything
  const dataDir = await tempDir();
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await assert.rejects(
    startTestBulwark({ dataDir, policy, redisUrl: REDIS, redisPrefix: 'has space' }),
    (err: unknown) => err instanceof ConfigError && err.code === 'BWK_CONFIG_INVALID' && err.issues[0]?.path === 'redisPrefix',
  );
});

test('ioredis is loaded only when Redis is configured', async (t) => {
  const { prefix } = redisScope(t);
  assert.deepEqual(await modulesLoadedByApp(/ioredis/, { redisPrefix: prefix }), []);
  // the probe can see it: with Redis configured it is loaded
  assert.ok((await modulesLoadedByApp(/ioredis/, { redisUrl: REDIS, redisPrefix: prefix })).length > 0);
});

test('/readyz checks Redis when decisions live there', async (t) => {
  const { prefix, gateways, upstreams } = redisScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  const gw = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix: prefix });
  gateways.push(gw);
  const r = await send(gw.adminUrl, '/readyz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().checks.redis, { ok: true });
  // without Redis there is no such check
  const local = await startTestBulwark({ upstream: up.url, policy });
  gateways.push(local);
  const l = await send(local.adminUrl, '/readyz');
  assert.equal(l.status, 200);
  assert.equal(l.json().checks.redis, undefined);
});

test('an unban published while an instance\'s subscription was down is applied when it resubscribes', async (t) => {
  const { prefix, admin } = redisScope(t);
  const name = `bwtest-b-${randomUUID().slice(0, 8)}`;
  const ca = new Redis(REDIS);
  const cb = new Redis(REDIS, { connectionName: name });
  const policyNow = validatePolicy({});
  const A = new DecisionIndex({ store: new RedisDecisionStore(ca, { prefix }), policy: () => policyNow, sweepIntervalMs: 0 });
  const B = new DecisionIndex({ store: new RedisDecisionStore(cb, { prefix }), policy: () => policyNow, sweepIntervalMs: 0 });
  t.after(async () => {
    await Promise.all([A.close(), B.close()]);
    await Promise.all([ca.quit(), cb.quit()]);
  });
  await Promise.all([A.start(), B.start()]);
  const ctx = new RequestContext({ id: 't', clientIp: '192.0.2.77', clientKey: '192.0.2.77', peerIp: '127.0.0.1', method: 'GET', target: '/', headers: {} });
  const d = A.add({ scope: 'ip', value: '192.0.2.77', type: 'ban', origin: 'manual', source: 'test', reason: 'test', durationMs: 3_600_000 });
  await A.flush();
  await waitUntil(() => B.match(ctx)?.id === d.id, 'B sees the ban');
  // B's subscriber connection drops; A lifts the ban meanwhile (B cannot hear it)
  const sub = String(await admin.client('LIST')).split('\n').find((l) => l.includes(`name=${name}`) && / sub=1 /.test(l));
  assert.ok(sub, 'B has a subscriber connection');
  await admin.client('KILL', 'ID', /id=(\d+)/.exec(sub)![1]!);
  await A.remove(d.id);
  await A.flush();
  // a ban added by B itself while it was not listening is kept
  const own = B.add({ scope: 'ip', value: '192.0.2.78', type: 'ban', origin: 'manual', source: 'test', reason: 'test', durationMs: 3_600_000 });
  await waitUntil(() => B.match(ctx) === undefined, 'B drops the ban after resubscribing', 5000);
  assert.equal(B.list({ scope: 'ip' }).map((x) => x.id).join(), own.id);
});

/** Polls `cond` every 20 ms. @throws after `ms`. */
async function waitUntil(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
