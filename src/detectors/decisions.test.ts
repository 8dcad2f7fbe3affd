import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy } from '../config/load.ts';
import { Pipeline } from '../core/pipeline.ts';
import { decisionsDetector } from './decisions.ts';
import { makeCtx, makeServices } from './testkit.ts';

test('a matched ban stops the pipeline with 403; an unrelated client passes', async (t) => {
  const policy = validatePolicy({});
  const services = await makeServices(policy);
  t.after(() => services.decisions.close());
  const d = services.decisions.add({ scope: 'ip', value: '192.0.2.66', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  let later = 0;
  const p = new Pipeline({ policy, detectors: [decisionsDetector(policy, services)!, { name: 'later', inspectRequest: () => void later++ }] });
  const ctx = makeCtx({ ip: '192.0.2.66' });
  p.runRequest(ctx);
  const v = p.decide(ctx);
  assert.equal(ctx.matchedDecision?.id, d.id);
  assert.equal(v.action, 'block');
  assert.equal(v.status, 403);
  assert.equal(later, 0, 'later detectors skipped');
  const ok = makeCtx({ ip: '192.0.2.67' });
  p.runRequest(ok);
  assert.equal(p.decide(ok).action, 'allow');
  assert.equal(later, 1);
});

test('pathological 64 KiB identities are looked up in bounded time', async (t) => {
  const policy = validatePolicy({ lists: { allow: { ips: ['10.0.0.0/8'] } } });
  const services = await makeServices(policy);
  t.after(() => services.decisions.close());
  services.decisions.add({ scope: 'api_key', value: 'k', type: 'ban', origin: 'manual', source: 'op', reason: 'x' });
  services.decisions.add({ scope: 'range', value: '198.51.100.0/24', type: 'ban', origin: 'manual', source: 'op', reason: 'x' });
  services.decisions.add({ scope: 'user', value: 'u', type: 'ban', origin: 'manual', source: 'op', reason: 'x' });
  const det = decisionsDetector(policy, services)!;
  const big = '\u00e9%'.repeat(32 * 1024);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    const ctx = makeCtx({ ip: ':'.repeat(65536), apiKey: big, user: big, fingerprint: big });
    assert.equal(det.inspectRequest!(ctx), undefined);
    assert.equal(ctx.matchedDecision, undefined);
  }
  assert.ok(performance.now() - t0 < 2000);
});
