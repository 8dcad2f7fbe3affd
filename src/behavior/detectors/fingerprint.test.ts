import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintDetector } from './fingerprint.ts';
import { fingerprintOf } from './common.ts';
import { drive, ids, makeCtx, policyWith } from './testkit.ts';

const T0 = 1_700_000_000_000;

test('fingerprint: a flood over hundreds of IPs sharing one fingerprint is banned on the fingerprint scope', async () => {
  const d = fingerprintDetector(policyWith({ fingerprint: { surge: { enabled: false } } }))!;
  // During the warm-up (5 windows after the first request) nothing is banned.
  for (let i = 0; i < 700; i++) assert.deepEqual(await drive(d, { ip: `10.21.${i >> 8}.${i & 255}`, fingerprint: 'fp-early', t: T0 + i * 50 }), []);
  let sig;
  for (let i = 0; i < 700 && !sig; i++) {
    const s = await drive(d, { target: '/api/products', ip: `10.20.${(i % 300) >> 8}.${(i % 300) & 255}`, fingerprint: 'fp-flood', t: T0 + 360_000 + i * 50 });
    sig = s.find((x) => x.ruleId === 'behavior.fingerprint.flood');
  }
  assert.ok(sig);
  assert.equal(sig.action, 'ban');
  assert.deepEqual(sig.ban, { scope: 'fingerprint', value: 'fp-flood', durationMs: 900_000 });
});

test('fingerprint: a popular fingerprint with steady high volume is not banned, even from a cold start; one client alone is not a distributed flood', async () => {
  const d = fingerprintDetector(policyWith({ fingerprint: { surge: { enabled: false } } }))!;
  // 40 minutes of steady 900 req/min from 500 users of one browser build.
  for (let m = 0; m < 40; m++) {
    for (let i = 0; i < 900; i++) {
      const s = await drive(d, { target: '/api/products', ip: `10.30.${(i % 500) >> 8}.${(i % 500) & 255}`, fingerprint: 'fp-chrome', t: T0 + m * 60_000 + i * 66 });
      assert.deepEqual(ids(s), [], `minute ${m}`);
    }
  }
  const one = fingerprintDetector(policyWith({ fingerprint: { surge: { enabled: false } } }))!;
  for (let i = 0; i < 1000; i++) assert.deepEqual(await drive(one, { ip: '192.0.2.1', fingerprint: 'fp-x', t: T0 + i }), []);
});

test('fingerprint: global and endpoint surges after warm-up are flagged once per bucket', async () => {
  const d = fingerprintDetector(policyWith({ fingerprint: { surge: { minRequests: 50 } } }))!;
  for (let b = 0; b < 10; b++) for (let i = 0; i < 10; i++) assert.deepEqual(await drive(d, { target: '/api/history', ip: `10.0.0.${i}`, fingerprint: `f${i}`, t: T0 + b * 10_000 + i * 100 }), []);
  const got: string[] = [];
  for (let i = 0; i < 80; i++) got.push(...ids(await drive(d, { target: '/api/history', ip: `10.0.1.${i}`, fingerprint: `g${i}`, t: T0 + 100_000 + i * 10 })));
  assert.deepEqual(got.sort(), ['behavior.surge.endpoint', 'behavior.surge.global']);
});

test('fingerprintOf: computed from UA, header order and Accept headers when the data plane did not set it', () => {
  const a = makeCtx({ headers: { 'user-agent': 'x', accept: '*/*' } });
  const b = makeCtx({ headers: { 'user-agent': 'x', accept: '*/*' } });
  const c = makeCtx({ headers: { 'user-agent': 'y', accept: '*/*' } });
  assert.equal(fingerprintOf(a), fingerprintOf(b));
  assert.notEqual(fingerprintOf(a), fingerprintOf(c));
  assert.equal(fingerprintOf(makeCtx({ fingerprint: 'given' })), 'given');
});

test('fingerprint: 64 KiB pathological path and headers in bounded time', async () => {
  const d = fingerprintDetector(policyWith())!;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    await drive(d, { target: '/' + '1/'.repeat(32_000), headers: { 'user-agent': 'x'.repeat(65_536), accept: '*/'.repeat(30_000) }, t: T0 + i });
  }
  assert.ok(performance.now() - t0 < 3000);
});
