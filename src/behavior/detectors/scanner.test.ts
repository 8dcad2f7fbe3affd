import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scannerDetector, sensitiveReason } from './scanner.ts';
import { pathSegments } from './common.ts';
import { drive, ids, policyWith } from './testkit.ts';

const T0 = 1_700_000_000_000;

test('scanner: sensitive path recognition', () => {
  for (const p of ['/.env', '/.git/config', '/app/%2Egit/HEAD', '/wp-login.php', '/db/backup.sql', '/index.php.bak', '/config.php~', '/WP-ADMIN/']) {
    assert.ok(sensitiveReason(pathSegments(p)), p);
  }
  for (const p of ['/api/products', '/.well-known/openid-configuration', '/api/users/1', '/static/app.js']) assert.equal(sensitiveReason(pathSegments(p)), undefined, p);
});

test('scanner: one sensitive probe is a risk signal; three distinct ones ban', async () => {
  const d = scannerDetector(policyWith())!;
  const a = await drive(d, { target: '/.env', t: T0 }, 404);
  assert.deepEqual(ids(a), ['behavior.scanner.sensitive-probe']);
  assert.equal(a[0]!.action, 'log');
  assert.deepEqual(ids(await drive(d, { target: '/.env', t: T0 + 1 }, 404)), ['behavior.scanner.sensitive-probe'], 'same path twice is one');
  await drive(d, { target: '/.git/config', t: T0 + 2 }, 404);
  const s = await drive(d, { target: '/wp-login.php', t: T0 + 3 }, 404);
  assert.deepEqual(ids(s), ['behavior.scanner.sensitive']);
  assert.equal(s[0]!.action, 'ban');
});

test('scanner: many distinct 404 paths ban; a user hitting a few 404s does not', async () => {
  const d = scannerDetector(policyWith())!;
  let got: string[] = [];
  for (let i = 0; i < 20; i++) got = ids(await drive(d, { target: `/probe/${i}/x`, t: T0 + i, ip: '192.0.2.5' }, 404));
  assert.deepEqual(got, ['behavior.scanner.notfound']);
  for (let i = 0; i < 100; i++) assert.deepEqual(await drive(d, { target: `/api/item${i % 5}`, t: T0 + i * 1000, ip: '192.0.2.6' }, 404), []);
  const m = scannerDetector(policyWith({ scanner: { monitor: true, sensitivePaths: ['/internal/**'] } }))!;
  assert.equal((await drive(m, { target: '/internal/a', t: T0 }))[0]?.monitor, true);
});

test('scanner: 64 KiB pathological path in bounded time', async () => {
  const d = scannerDetector(policyWith({ scanner: { sensitivePaths: ['/**/x/**/y'] } }))!;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await drive(d, { target: '/' + '.x/'.repeat(21_000) + '%2'.repeat(100), t: T0 + i }, 404);
  assert.ok(performance.now() - t0 < 3000);
});

test('scanner: requests a third-party page makes a browser send (cross-site, preflight) are not counted toward a ban', async () => {
  const d = scannerDetector(policyWith())!;
  const cross = { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' };
  for (let i = 0; i < 60; i++) {
    assert.deepEqual(await drive(d, { ip: '100.64.1.1', target: `/missing/${i}.png`, headers: cross, t: T0 + i }, 404), [], 'cross-site 404s');
    assert.deepEqual(await drive(d, { ip: '100.64.1.1', method: 'OPTIONS', target: i % 2 ? '/.env' : `/.git/config${i}`, t: T0 + i }), [], 'preflights of sensitive paths');
  }
});
