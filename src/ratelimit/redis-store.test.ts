import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisRateLimitStore } from './redis-store.ts';
import type { RateLimitParams } from './store.ts';

const URL = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Two stores sharing a unique key prefix (two gateway instances) and an admin client; keys deleted after the test. */
function twoStores(t: TestContext): { prefix: string; a: RedisRateLimitStore; b: RedisRateLimitStore; admin: Redis } {
  const prefix = `bwtest:${randomUUID()}:`;
  const a = new RedisRateLimitStore(URL, { prefix });
  const b = new RedisRateLimitStore(URL, { prefix });
  const admin = new Redis(URL);
  t.after(async () => {
    const keys = await admin.keys(prefix + '*');
    if (keys.length) await admin.del(...keys);
    await Promise.all([a.close(), b.close(), admin.quit()]);
  });
  return { prefix, a, b, admin };
}

test('Redis GCRA is shared between two store instances and matches the in-memory algorithm', async (t) => {
  const { prefix, a, b, admin } = twoStores(t);
  const p: RateLimitParams = { ruleId: 'r', algorithm: 'gcra', limit: 4, windowMs: 60_000 };
  const now = Date.now();
  const rs = [await a.hit(p, 'k', now), await b.hit(p, 'k', now), await a.hit(p, 'k', now), await b.hit(p, 'k', now)];
  assert.deepEqual(rs.map((r) => [r.allowed, r.remaining]), [[true, 3], [true, 2], [true, 1], [true, 0]]);
  const rej = await b.hit(p, 'k', now);
  assert.equal(rej.allowed, false);
  assert.equal(rej.retryAfterS, 15);
  assert.ok(Math.abs(rej.retryAfterMs - 15_000) < 0.01);
  const ttl = await admin.pttl(`${prefix}rl:r:k`);
  assert.ok(ttl > 59_000 && ttl <= 60_001, `ttl ${ttl}`);
  assert.equal((await a.hit(p, 'k', now + 15_000)).allowed, true);
  // Concurrent hits from both instances: exactly `burst` allowed (atomic Lua).
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit(p, 'c', now)));
  assert.equal(results.filter((r) => r.allowed).length, 4);
});

test('Redis sliding window', async (t) => {
  const { a } = twoStores(t);
  const p: RateLimitParams = { ruleId: 's', algorithm: 'sliding-window', limit: 10, windowMs: 1000 };
  const base = 1_700_000_000_000;
  for (let i = 0; i < 10; i++) assert.equal((await a.hit(p, 'k', base + i)).allowed, true);
  assert.equal((await a.hit(p, 'k', base + 500)).allowed, false);
  assert.equal((await a.hit(p, 'k', base + 1250)).allowed, true);
  assert.equal((await a.hit(p, 'k', base + 1250)).allowed, true);
  const r = await a.hit(p, 'k', base + 1250);
  assert.equal(r.allowed, false);
  assert.ok(Math.abs(r.retryAfterMs - 50) < 1e-6);
});

test('Redis sliding window: instances with skewed clocks near a window boundary share one limit', async (t) => {
  const { a, b } = twoStores(t);
  const p: RateLimitParams = { ruleId: 's', algorithm: 'sliding-window', limit: 10, windowMs: 60_000 };
  const boundary = 1_700_000_040_000;
  let allowed = 0;
  // a's clock is 5 ms ahead: its requests fall in the next window while b's fall just before it
  for (let i = 0; i < 200; i++) if ((await (i % 2 === 0 ? a.hit(p, 'k', boundary + 2) : b.hit(p, 'k', boundary - 3))).allowed) allowed++;
  assert.equal(allowed, 10);
});

test('an unreachable Redis rejects the hit (the detector fails open)', async (t) => {
  const s = new RedisRateLimitStore('redis://127.0.0.1:1', { prefix: 'x:' });
  t.after(() => s.close());
  await assert.rejects(s.hit({ ruleId: 'r', algorithm: 'gcra', limit: 1, windowMs: 1000 }, 'k', Date.now()));
});
