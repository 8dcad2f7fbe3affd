import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from './context.ts';
import { Pipeline } from './pipeline.ts';
import type { Detector } from './detector.ts';
import { validatePolicy } from '../config/load.ts';

function ctx(): RequestContext {
  return new RequestContext({ id: 'r', clientIp: '198.51.100.4', clientKey: '198.51.100.4', peerIp: '198.51.100.4', method: 'POST', target: '/x', headers: {} });
}

test('detectors run in order, sync and async, and a throwing detector is skipped and reported', async () => {
  const order: string[] = [];
  const errors: string[] = [];
  const ds: Detector[] = [
    { name: 'a', inspectRequest: () => { order.push('a'); return { ruleId: 'a', detector: 'a', category: 't', score: 1 }; } },
    { name: 'boom', inspectRequest: () => { order.push('boom'); throw new Error('bug'); } },
    { name: 'b', inspectRequest: async () => { order.push('b'); return [{ ruleId: 'b', detector: 'b', category: 't', score: 1 }]; } },
    { name: 'rej', inspectRequest: () => { order.push('rej'); return Promise.reject(new Error('io')); } },
    { name: 'c', inspectRequest: () => { order.push('c'); } },
  ];
  const p = new Pipeline({ policy: validatePolicy({}), detectors: ds, observer: { detectorError: (n) => errors.push(n) } });
  const c = ctx();
  await p.runRequest(c);
  assert.deepEqual(order, ['a', 'boom', 'b', 'rej', 'c']);
  assert.deepEqual(errors, ['boom', 'rej']);
  assert.deepEqual(c.signals.map((s) => s.ruleId), ['a', 'b']);
});

test('a synchronous pipeline returns no promise (no microtask cost on the hot path)', () => {
  const p = new Pipeline({ policy: validatePolicy({}), detectors: [{ name: 's', inspectRequest: () => undefined }] });
  assert.equal(p.runRequest(ctx()), undefined);
});

test('request phase stops after an enforced block; exhaustive mode runs everything', async () => {
  const seen: string[] = [];
  const ds: Detector[] = [
    { name: 'deny', inspectRequest: () => ({ ruleId: 'deny', detector: 'deny', category: 'lists', score: 0, action: 'block' }) },
    { name: 'later', needsBody: true, inspectRequest: () => { seen.push('req'); }, inspectBody: () => { seen.push('body'); } },
  ];
  const p = new Pipeline({ policy: validatePolicy({}), detectors: ds });
  assert.equal(p.needsBody, true);
  const c = ctx();
  await p.runRequest(c);
  await p.runBody(c);
  assert.deepEqual(seen, []);
  const e = new Pipeline({ policy: validatePolicy({}), detectors: ds, exhaustive: true });
  const c2 = ctx();
  await e.runRequest(c2);
  await e.runBody(c2);
  assert.deepEqual(seen, ['req', 'body']);
  assert.equal(e.decide(c2).action, 'block');
});

test('allow-listed requests skip detection except counting detectors; response phase sees status', async () => {
  const seen: string[] = [];
  const ds: Detector[] = [
    { name: 'payload', inspectRequest: () => { seen.push('payload'); } },
    { name: 'ratelimit', runsOnAllowListed: true, inspectRequest: () => { seen.push('ratelimit'); } },
    { name: 'bf', observeResponse: (_c, r) => (r.status === 401 ? { ruleId: 'bf', detector: 'bf', category: 'bruteforce', score: 0, action: 'ban' } : undefined) },
  ];
  const p = new Pipeline({ policy: validatePolicy({}), detectors: ds });
  const c = ctx();
  c.allowListed = true;
  await p.runRequest(c);
  assert.deepEqual(seen, ['ratelimit']);
  const d = ctx();
  await p.observeResponse(d, { status: 401, latencyMs: 3, bytes: 10, byGateway: false });
  assert.equal(d.signals[0]?.ruleId, 'bf');
  assert.equal(d.response?.status, 401);
});

test('response phase: synchronous when every detector is, in order after an async one, errors reported, allow list honoured', async () => {
  const order: string[] = [];
  const errors: string[] = [];
  const res = { status: 200, latencyMs: 1, bytes: 2, byGateway: false };
  const sync = new Pipeline({ policy: validatePolicy({}), detectors: [{ name: 'a', inspectRequest: () => undefined }] });
  assert.equal(sync.observesResponse, false);
  const ds: Detector[] = [
    { name: 'a', observeResponse: () => { order.push('a'); } },
    { name: 'boom', observeResponse: () => { order.push('boom'); throw new Error('bug'); } },
    { name: 'async', runsOnAllowListed: true, observeResponse: async () => { order.push('async'); return { ruleId: 'x', detector: 'async', category: 't', score: 0 }; } },
    { name: 'rej', observeResponse: () => { order.push('rej'); return Promise.reject(new Error('io')); } },
    { name: 'last', runsOnAllowListed: true, observeResponse: (c) => { order.push('last'); return c.response === res ? { ruleId: 'y', detector: 'last', category: 't', score: 0 } : undefined; } },
  ];
  const p = new Pipeline({ policy: validatePolicy({}), detectors: ds, observer: { detectorError: (n) => errors.push(n) } });
  assert.equal(p.observesResponse, true);
  const c = ctx();
  const r = p.observeResponse(c, res);
  assert.ok(r instanceof Promise);
  assert.deepEqual(order, ['a', 'boom', 'async']);
  await r;
  assert.deepEqual(order, ['a', 'boom', 'async', 'rej', 'last']);
  assert.deepEqual(errors, ['boom', 'rej']);
  assert.deepEqual(c.signals.map((s) => s.ruleId), ['x', 'y']);
  order.length = 0;
  const allowed = ctx();
  allowed.allowListed = true;
  await p.observeResponse(allowed, res);
  assert.deepEqual(order, ['async', 'last']);
  const onlySync = new Pipeline({ policy: validatePolicy({}), detectors: [ds[0]!, ds[1]!] });
  assert.equal(onlySync.observeResponse(ctx(), res), undefined);
});
