import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowsDetector } from './flows.ts';
import { drive, ids, policyWith } from './testkit.ts';

const T0 = 1_700_000_000_000;
const rules = [
  { id: 'payment-needs-balance', then: 'POST /api/transaction', requires: 'GET /api/balance', within: '5m', by: 'user', action: 'block' },
  { id: 'transactions-per-minute', then: 'POST /api/transaction', max: 3, per: '1m', by: 'user', action: 'throttle' },
];

test('flows: a transaction needs a successful balance check by the same user within 5 minutes', async () => {
  const d = flowsDetector(policyWith({ flows: { rules } }))!;
  const s = await drive(d, { method: 'POST', target: '/api/transaction', user: 'u1', t: T0 });
  assert.deepEqual(ids(s), ['behavior.flow.payment-needs-balance']);
  assert.equal(s[0]!.action, 'block');
  await drive(d, { target: '/api/balance', user: 'u1', t: T0 + 1000 }, 200);
  assert.deepEqual(await drive(d, { method: 'POST', target: '/api/transaction', user: 'u1', t: T0 + 2000 }), []);
  assert.deepEqual(ids(await drive(d, { method: 'POST', target: '/api/transaction', user: 'u2', t: T0 + 2000 })), ['behavior.flow.payment-needs-balance'], 'other identity');
  assert.deepEqual(ids(await drive(d, { method: 'POST', target: '/api/transaction', user: 'u1', t: T0 + 1000 + 301_000 })), ['behavior.flow.payment-needs-balance'], 'expired');
  await drive(d, { target: '/api/balance', user: 'u3', t: T0 }, 500);
  assert.deepEqual(ids(await drive(d, { method: 'POST', target: '/api/transaction', user: 'u3', t: T0 + 10 })), ['behavior.flow.payment-needs-balance'], 'failed balance check does not count');
});

test('flows: frequency rule and identity fallback to IP', async () => {
  const d = flowsDetector(policyWith({ flows: { rules } }))!;
  await drive(d, { target: '/api/balance', ip: '192.0.2.1', t: T0 }, 200);
  const out: string[][] = [];
  for (let i = 0; i < 5; i++) out.push(ids(await drive(d, { method: 'POST', target: '/api/transaction', ip: '192.0.2.1', t: T0 + 1000 + i })));
  assert.deepEqual(out.slice(0, 3), [[], [], []]);
  assert.deepEqual(out[3], ['behavior.flow.transactions-per-minute']);
  assert.deepEqual(await drive(d, { method: 'POST', target: '/api/transaction', ip: '192.0.2.1', t: T0 + 200_000 }), [], 'window passed');
  assert.equal(flowsDetector(policyWith()), undefined, 'no rules, no detector');
  assert.throws(() => policyWith({ flows: { rules: [{ id: 'x', then: 'POST /a' }] } }), /requires/);
});

test('flows: 64 KiB pathological path in bounded time', async () => {
  const d = flowsDetector(policyWith({ flows: { rules: [{ id: 'deep', then: 'POST /**/a/**/b/**/transaction', requires: 'GET /**/balance', max: 2 }] } }))!;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await drive(d, { method: 'POST', target: '/' + 'a/'.repeat(32_000) + 'x', t: T0 + i }, 200);
  assert.ok(performance.now() - t0 < 3000);
});
