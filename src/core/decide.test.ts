import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from './context.ts';
import { decide, levelOf, riskFromScore } from './decide.ts';
import { validatePolicy } from '../config/load.ts';
import type { Signal } from './types.ts';

function ctx(): RequestContext {
  return new RequestContext({ id: 'r1', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target: '/a?b=1', headers: {} });
}
const sqli: Signal = { ruleId: '942100', detector: 'payload', category: 'sqli', score: 5, severity: 'critical' };
const weak: Signal = { ruleId: '920300', detector: 'payload', category: 'protocol', score: 2, severity: 'notice' };

test('levels follow the documented risk boundaries', () => {
  assert.equal(levelOf(0), 'LOW');
  assert.equal(levelOf(0.399), 'LOW');
  assert.equal(levelOf(0.4), 'MEDIUM');
  assert.equal(levelOf(0.6), 'HIGH');
  assert.equal(levelOf(0.8), 'CRITICAL');
  assert.equal(riskFromScore(5, 5), 0.8);
  assert.equal(riskFromScore(50, 5), 1);
});

test('anomaly score at the threshold blocks; below it allows', () => {
  const p = validatePolicy({});
  const a = ctx();
  a.add(weak);
  const va = decide(a, p);
  assert.equal(va.action, 'allow');
  assert.equal(va.anomalyScore, 2);
  const b = ctx();
  b.add([weak, sqli]);
  const vb = decide(b, p);
  assert.equal(vb.action, 'block');
  assert.equal(vb.status, 403);
  assert.deepEqual(vb.reasons, ['920300', '942100']);
  assert.equal(vb.level, 'CRITICAL');
});

test('explicit actions win by severity and carry Retry-After', () => {
  const p = validatePolicy({});
  const c = ctx();
  c.add({ ruleId: 'ratelimit.default-ip', detector: 'ratelimit', category: 'ratelimit', score: 0, action: 'throttle', evidence: { detail: { retryAfterS: 7 } } });
  const v = decide(c, p);
  assert.equal(v.action, 'throttle');
  assert.equal(v.status, 429);
  assert.equal(v.retryAfterS, 7);
  c.add({ ruleId: 'honeypot', detector: 'honeypot', category: 'honeypot', score: 0, action: 'ban' });
  assert.equal(decide(c, p).action, 'ban');
});

test('monitor-mode rules are recorded as would-be actions and the request passes', () => {
  const p = validatePolicy({});
  const c = ctx();
  c.add({ ...sqli, monitor: true });
  const v = decide(c, p);
  assert.equal(v.action, 'allow');
  assert.equal(v.wouldBe, 'block');
  assert.equal(v.monitor, true);
  assert.equal(v.anomalyScore, 0);
  assert.deepEqual(v.reasons, ['942100']);
});

test('global monitor mode relaxes every enforced action', () => {
  const p = validatePolicy({ mode: 'monitor' });
  const c = ctx();
  c.add({ ruleId: 'lists.deny', detector: 'lists', category: 'lists', score: 0, action: 'block' });
  const v = decide(c, p);
  assert.equal(v.action, 'allow');
  assert.equal(v.wouldBe, 'block');
  assert.equal(v.monitor, true);
  assert.equal(v.status, 0);
});

test('allow-listed clients are allowed whatever their signals', () => {
  const p = validatePolicy({});
  const c = ctx();
  c.allowListed = true;
  c.add(sqli);
  const v = decide(c, p);
  assert.equal(v.action, 'allow');
  assert.equal(v.monitor, false);
});

test('an active ban decision blocks; a throttle decision answers 429 with Retry-After', () => {
  const p = validatePolicy({});
  const now = Date.now();
  const c = ctx();
  c.matchedDecision = { id: 'd1', scope: 'ip', value: '192.0.2.1', type: 'ban', origin: 'manual', source: 'ops', reason: 'x', createdAt: now, expiresAt: now + 60_000, offence: 1 };
  assert.equal(decide(c, p).action, 'block');
  const t = ctx();
  t.matchedDecision = { ...c.matchedDecision, type: 'throttle', expiresAt: now + 30_000 };
  const v = decide(t, p);
  assert.equal(v.action, 'throttle');
  assert.ok(v.retryAfterS! >= 29 && v.retryAfterS! <= 30);
});
