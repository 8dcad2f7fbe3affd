import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { enumerationDetector } from './enumeration.ts';
import { drive, makeCtx, ids, policyWith } from './testkit.ts';

const T0 = 1_700_000_000_000;

test('enumeration: a sequential id walk is banned after 20 consecutive ids', async () => {
  const d = enumerationDetector(policyWith())!;
  const got: string[][] = [];
  for (let i = 0; i < 20; i++) got.push(ids(await drive(d, { target: `/api/users/${1000 + i}`, t: T0 + i * 100 })));
  assert.deepEqual(got.slice(0, 19).flat(), []);
  assert.deepEqual(got[19], ['behavior.enum.sequential']);
});

test('enumeration: many distinct random ids, and the discovery route takes precedence', async () => {
  const d = enumerationDetector(policyWith({ enumeration: { maxDistinctIds: 30 } }))!;
  let hit: string[] = [];
  for (let i = 0; i < 30 && hit.length === 0; i++) {
    hit = ids(await drive(d, { target: `/api/orders/${(i * 7919) % 100_000}/items`, t: T0 + i }));
  }
  assert.deepEqual(hit, ['behavior.enum.distinct']);
  // With API discovery's route, slugs that the fallback would not template still count per route.
  const d3 = enumerationDetector(policyWith({ enumeration: { maxDistinctIds: 5 } }))!;
  let r: string[] = [];
  for (let i = 0; i < 5; i++) r = ids(await drive(d3, { target: `/api/users/${100 + i * 3}`, route: '/api/users/{id}', t: T0 + i }));
  assert.deepEqual(r, ['behavior.enum.distinct']);
  const d4 = enumerationDetector(policyWith({ enumeration: { maxDistinctIds: 5 } }))!;
  for (let i = 0; i < 5; i++) r = ids(await drive(d4, { target: `/api/articles/post-${i}-title`, route: '/api/articles/{slug}', t: T0 + i }));
  assert.deepEqual(r, ['behavior.enum.distinct'], 'slugs templated by discovery count as ids');
  // Human browsing: a few ids, revisits, no walk.
  const d2 = enumerationDetector(policyWith())!;
  for (let i = 0; i < 200; i++) assert.deepEqual(await drive(d2, { target: `/api/users/${[5, 17, 5, 42, 17, 99][i % 6]}`, t: T0 + i * 1000 }), []);
});

test('enumeration: high 404 ratio on templated routes, keyed by identity not IP', async () => {
  const d = enumerationDetector(policyWith())!;
  let got: string[] = [];
  for (let i = 0; i < 25 && got.length === 0; i++) {
    const s = await drive(d, { target: `/api/users/${(i * 37) % 500}`, user: 'mallory', ip: '100.64.0.1', t: T0 + i * 10 }, i % 4 === 0 ? 200 : 404);
    got = ids(s);
    if (got.length) assert.deepEqual(s[0]!.ban, { scope: 'user', value: 'mallory', durationMs: 3_600_000 });
  }
  assert.deepEqual(got, ['behavior.enum.notfound']);
  // Other users behind the same NAT IP are unaffected by mallory's counters.
  assert.deepEqual(await drive(d, { target: '/api/users/7', user: 'alice', ip: '100.64.0.1', t: T0 + 500 }, 404), []);
});

test('enumeration keyed by an unverified user (JWT sub): counted per client, the ban goes to the client IP', async () => {
  const d = enumerationDetector(policyWith())!;
  let got: string[] = [];
  for (let i = 0; i < 25 && got.length === 0; i++) {
    const s = await drive(d, { target: `/api/users/${(i * 37) % 500}`, user: 'alice', userVerified: false, ip: '198.51.100.66', t: T0 + i * 10 }, i % 4 === 0 ? 200 : 404);
    got = ids(s);
    if (got.length) assert.deepEqual(s[0]!.ban, { scope: 'ip', value: '198.51.100.66', durationMs: 3_600_000 });
  }
  assert.deepEqual(got, ['behavior.enum.notfound']);
  // the same claimed user from another client has counters of its own
  assert.deepEqual(await drive(d, { target: '/api/users/7', user: 'alice', userVerified: false, ip: '192.0.2.10', t: T0 + 500 }, 404), []);
});

test('enumeration: pagination sweep and good crawlers exempt', async () => {
  const d = enumerationDetector(policyWith({ enumeration: { maxDistinctPages: 10 } }))!;
  const got: string[] = [];
  for (let p = 1; p <= 10; p++) got.push(...ids(await drive(d, { target: `/api/products?sort=asc&page=${p}`, t: T0 + p })));
  assert.deepEqual(got, ['behavior.enum.pagination']);
  const bot = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' };
  // a crawler the bots detector verified is exempt
  for (let p = 1; p <= 40; p++) assert.deepEqual(await drive(d, { target: `/api/products?page=${p}`, headers: bot, ip: '66.249.66.1', goodBot: true, t: T0 + p }), []);
  // the same User-Agent without verification is not
  const claimed: string[] = [];
  for (let p = 1; p <= 10; p++) claimed.push(...ids(await drive(d, { target: `/api/products?page=${p}`, headers: bot, ip: '203.0.113.66', t: T0 + p })));
  assert.deepEqual(claimed, ['behavior.enum.pagination']);
});

test('enumeration: 64 KiB pathological query and path in bounded time', async () => {
  const d = enumerationDetector(policyWith())!;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    await drive(d, { target: '/api/users/' + '1'.repeat(60_000) + '?' + '&page='.repeat(10_000), t: T0 + i }, 404);
    await drive(d, { target: '/' + '0/'.repeat(32_000) + '?' + 'a'.repeat(65_000), t: T0 + i }, 404);
  }
  assert.ok(performance.now() - t0 < 3000);
});

test('enumeration: per-client keys from 4 KiB path segments cost about their size, not the whole request-target or a rope', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const d = enumerationDetector(policyWith())!;
  const filler = 'z'.repeat(3900);
  const query = '?' + 'q'.repeat(12_000); // a long request-target: path slices would keep it alive
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 2000; i++) d.inspectRequest!(makeCtx({ ip: `10.0.${i >> 8}.${i & 255}`, target: `/api/${'a'.repeat(20)}/${filler}${i}/123${query}` }));
  gc();
  const grew = (process.memoryUsage().heapUsed - before) / 2000;
  // a bounded key is ~150 chars; the target is ~16 KB, the old one-character rope ~120 KB per segment
  assert.ok(grew < 2048, `${grew.toFixed(0)} bytes per tracked key`);
});
