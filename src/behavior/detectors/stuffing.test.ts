import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialStuffingDetector } from './stuffing.ts';
import { drive, ids, policyWith } from './testkit.ts';

const T0 = 1_700_000_000_000;
const login = (user: string, ip: string, t: number, fingerprint?: string) => ({ ip, method: 'POST', target: '/api/login', body: JSON.stringify({ email: user, password: 'p' }), t, fingerprint });

test('stuffing: one client failing many distinct usernames is banned', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  const got: string[] = [];
  for (let i = 0; i < 10; i++) got.push(...ids(await drive(d, login(`victim${i}@x.io`, '192.0.2.10', T0 + i * 1000), 401)));
  assert.ok(got.includes('behavior.stuffing.client'), got.join());
  assert.equal(got.filter((g) => g === 'behavior.stuffing.client').length, 1, 'one ban, then counters reset');
});

test('stuffing: a NAT of real users (mostly successes, a few typos) is never banned', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  const nat = '100.64.1.1';
  const out: string[] = [];
  for (let i = 0; i < 300; i++) {
    const user = `user${i % 60}@corp.example`;
    const typo = i % 7 === 0;
    out.push(...ids(await drive(d, login(user, nat, T0 + i * 2000, 'fp-chrome'), typo ? 401 : 200)));
    if (typo) out.push(...ids(await drive(d, login(user, nat, T0 + i * 2000 + 500, 'fp-chrome'), 200)));
  }
  assert.deepEqual(out.filter((x) => x !== 'behavior.stuffing.global'), []);
});

test('stuffing: rotating IPs with one tool fingerprint → the tipping client banned, the fingerprint throttled on login only', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  let sig;
  let at = 0;
  for (let i = 0; i < 40 && !sig; i++) {
    const s = await drive(d, login(`leak${i}@x.io`, `10.9.${i >> 8}.${i & 255}`, T0 + i * 500, 'fp-tool'), 401);
    sig = s.find((x) => x.ruleId === 'behavior.stuffing.fingerprint');
    at = i;
  }
  assert.ok(sig, 'fingerprint caught');
  assert.deepEqual(sig.ban, { scope: 'ip', value: `10.9.0.${at}`, durationMs: 3_600_000 }, 'no fingerprint-wide ban: stock browsers share fingerprints');
  // a real user with the same fingerprint: throttled on login for the ban duration, nothing else
  const again = await drive(d, login('real@x.io', '192.0.2.10', T0 + 60_000, 'fp-tool'), 200);
  assert.deepEqual(ids(again), ['behavior.stuffing.fingerprint']);
  assert.equal(again[0]!.action, 'throttle');
  assert.deepEqual(await drive(d, { ip: '192.0.2.10', target: '/api/products', fingerprint: 'fp-tool', t: T0 + 60_000 }), [], 'other routes are not affected');
  assert.deepEqual(ids(await drive(d, login('real@x.io', '192.0.2.10', T0 + 3_700_000, 'fp-tool'), 200)), [], 'and it expires');
});

test('stuffing: one username failing from many clients throttles new clients', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  for (let i = 0; i < 5; i++) await drive(d, login('ceo@x.io', `10.1.0.${i}`, T0 + i, `fp${i}`), 401);
  const s = await drive(d, login('ceo@x.io', '10.1.0.99', T0 + 10, 'fpz'), 401);
  assert.deepEqual(ids(s), ['behavior.stuffing.user']);
  assert.equal(s[0]!.action, 'throttle');
});

test('stuffing: low-and-slow failures over hours are banned; the global ratio spike is flagged', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  const got: string[] = [];
  // 4 failures every 10 minutes (under the brute-force threshold), one username: 20 failures after ~50 min.
  for (let i = 0; i < 24; i++) got.push(...ids(await drive(d, login('target@x.io', '192.0.2.77', T0 + i * 150_000, `fp-slow`), 401)));
  assert.ok(got.includes('behavior.stuffing.slow'), got.join());
  const d2 = credentialStuffingDetector(policyWith({ credentialStuffing: { globalRatio: { minAttempts: 10 } } }))!;
  // Baseline: 10 % failures for 10 minutes, then a burst of failures.
  for (let m = 0; m < 10; m++) for (let i = 0; i < 20; i++) await drive(d2, login(`u${i}`, `10.2.0.${i}`, T0 + m * 60_000 + i * 100), i < 2 ? 401 : 200);
  const burst: string[] = [];
  for (let i = 0; i < 15; i++) burst.push(...ids(await drive(d2, login(`v${i}`, `10.3.0.${i}`, T0 + 10 * 60_000 + i * 100), 401)));
  assert.ok(burst.includes('behavior.stuffing.global'), burst.join());
});

test('stuffing: 64 KiB pathological login bodies in bounded time', async () => {
  const d = credentialStuffingDetector(policyWith())!;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    await drive(d, { ip: `10.7.0.${i}`, method: 'POST', target: '/api/login', body: '{"email":"' + 'a\\"'.repeat(21_000) + '"}', t: T0 + i }, 401);
    await drive(d, { ip: `10.7.1.${i}`, method: 'POST', target: '/api/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=' + '%25'.repeat(21_000) + '&'.repeat(1000), t: T0 + i }, 401);
  }
  assert.ok(performance.now() - t0 < 3000);
});
