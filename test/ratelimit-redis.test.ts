import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { startUpstream, startTestBulwark, send, type TestBulwark } from './helpers/index.ts';

const REDIS = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';

test('two gateways sharing Redis enforce one limit together', async (t) => {
  const up = await startUpstream();
  const id = 'shared';
  const redisPrefix = `bwtest:${randomUUID()}:`; // every key of this test (rate limits, decisions) under it
  const policy = { trustedProxies: ['127.0.0.1/32'], rateLimits: [{ id, limit: 3, window: '1m' }] };
  const admin = new Redis(REDIS);
  const gateways: TestBulwark[] = [];
  t.after(async () => {
    // gateways first (closing flushes their writes), then every key under the prefix
    await Promise.all(gateways.map((g) => g.stop()));
    await up.close();
    const keys = await admin.keys(`${redisPrefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });
  const a = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix });
  gateways.push(a);
  const b = await startTestBulwark({ upstream: up.url, policy, redisUrl: REDIS, redisPrefix });
  gateways.push(b);
  const xff = { 'x-forwarded-for': '192.0.2.123' };
  const statuses = [];
  for (const gw of [a, b, a, b]) statuses.push((await send(gw.gatewayUrl, '/api/products', { headers: xff })).status);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  const r = await send(a.gatewayUrl, '/api/products', { headers: xff });
  assert.equal(r.status, 429);
  const ra = Number(r.headers['retry-after']);
  assert.ok(ra >= 15 && ra <= 20, `retry-after ${ra}`); // T = 20 s minus the time the requests took
  assert.equal(r.headers['ratelimit-policy'], `"${id}";q=3;w=60`);
  // the state is under the configured prefix only
  assert.equal((await admin.keys(`${redisPrefix}rl:${id}:*`)).length, 1);
  assert.equal((await admin.keys(`bulwark:rl:${id}:*`)).length, 0);
});
