import { test } from 'node:test';
import assert from 'node:assert/strict';
import { honeypotDetector } from './honeypot.ts';
import { drive, policyWith } from './testkit.ts';

test('honeypot: any hit on /api/admin/* bans the client for 1 hour with risk 1', async () => {
  const d = honeypotDetector(policyWith())!;
  for (const target of ['/api/admin', '/api/admin/users', '/API/%61dmin/x', '/api/public/../admin/config?x=1']) {
    const [s] = await drive(d, { target });
    assert.equal(s?.ruleId, 'behavior.honeypot', target);
    assert.equal(s.action, 'ban');
    assert.equal(s.risk, 1);
    assert.equal(s.severity, 'critical');
    assert.deepEqual(s.ban, { scope: 'ip', value: '198.51.100.1', durationMs: 3_600_000 });
  }
  assert.deepEqual(await drive(d, { target: '/api/administrator' }), []);
  assert.deepEqual(await drive(d, { target: '/api/products' }), []);
});

test('honeypot: a CORS preflight or a cross-site request a third-party page induced is blocked, not banned', async () => {
  const d = honeypotDetector(policyWith())!;
  for (const r of [{ method: 'OPTIONS', target: '/api/admin/users' }, { target: '/api/admin', headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } }]) {
    const [s] = await drive(d, r);
    assert.equal(s?.ruleId, 'behavior.honeypot.induced');
    assert.equal(s.action, 'block');
    assert.equal(s.ban, undefined);
  }
  const [same] = await drive(d, { target: '/api/admin', headers: { 'sec-fetch-site': 'same-origin' } });
  assert.equal(same?.ruleId, 'behavior.honeypot', 'a same-origin request is the client\'s own');
});

test('honeypot: custom paths, method-specific patterns and monitor mode', async () => {
  const d = honeypotDetector(policyWith({ honeypot: { paths: ['DELETE /api/**', '/internal/*/debug'], monitor: true, banDuration: '5m' } }))!;
  assert.deepEqual(await drive(d, { target: '/api/admin' }), []);
  const [s] = await drive(d, { method: 'DELETE', target: '/api/users/1' });
  assert.equal(s?.monitor, true);
  assert.equal(s.ban?.durationMs, 300_000);
  assert.equal((await drive(d, { target: '/internal/x/debug' })).length, 1);
  assert.equal(honeypotDetector(policyWith({ honeypot: { enabled: false } })), undefined);
});

test('honeypot: 64 KiB pathological path is matched in bounded time', async () => {
  const d = honeypotDetector(policyWith({ honeypot: { paths: ['/**/a/**/b/**/c'] } }))!;
  const target = '/' + 'a/'.repeat(32 * 1024) + '%2e%2e/'.repeat(100);
  const t0 = performance.now();
  await drive(d, { target });
  assert.ok(performance.now() - t0 < 2000, 'bounded matching time');
});
