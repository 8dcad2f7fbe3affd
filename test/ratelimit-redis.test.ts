import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { startUpstream, startTestBulwark, send, getText, metricValue, type TestBulwark } from './helpers/index.ts';

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

test('Redis gone mid-run: requests are let through (fail open) and counted in bulwark_ratelimit_store_errors_total', async (t) => {
  // the gateway reaches Redis through a TCP relay this test can cut
  const sockets = new Set<Socket>();
  const relay = createServer((c) => {
    const r = connect(6379, '127.0.0.1');
    sockets.add(c).add(r);
    c.pipe(r).pipe(c);
    const end = (): void => {
      c.destroy();
      r.destroy();
    };
    c.on('error', end).on('close', end);
    r.on('error', end).on('close', end);
  });
  await new Promise<void>((res) => relay.listen(0, '127.0.0.1', res));
  const up = await startUpstream();
  const redisPrefix = `bwtest:${randomUUID()}:`;
  const admin = new Redis(REDIS);
  const bw = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [{ id: 'r', limit: 1, window: '1m' }] }, redisUrl: `redis://127.0.0.1:${(relay.address() as AddressInfo).port}`, redisPrefix });
  t.after(async () => {
    await bw.stop();
    await up.close();
    const keys = await admin.keys(`${redisPrefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });
  const xff = { 'x-forwarded-for': '192.0.2.77' };
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status, 429, 'limited while Redis answers');
  relay.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await send(bw.gatewayUrl, '/api/products', { headers: xff })).status);
  assert.deepEqual(statuses, [200, 200, 200], 'fail open: traffic is never blocked by the store');
  const m = (await getText(bw.adminUrl + '/metrics')).body;
  assert.ok(metricValue(m, 'bulwark_ratelimit_store_errors_total', 'store="redis"') >= 3, m.split('\n').filter((l) => l.includes('store_errors')).join('\n'));
});
