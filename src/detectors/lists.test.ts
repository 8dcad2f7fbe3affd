import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePolicy } from '../config/load.ts';
import { Pipeline } from '../core/pipeline.ts';
import type { Signal } from '../core/types.ts';
import { listsDetector } from './lists.ts';
import { decisionsDetector } from './decisions.ts';
import { makeCtx, makeServices } from './testkit.ts';

const policy = validatePolicy({
  lists: {
    allow: { ips: ['10.0.0.0/8', '2001:db8:aaaa::/48', '192.0.2.10'], apiKeys: ['partner-key-1234567'] },
    deny: { ips: ['10.6.6.6', '198.51.100.0/24', '2001:db8:bad::/48'], apiKeys: ['revoked-key-99999999'] },
  },
});

test('deny list: 403 signal lists.deny for IPs, CIDRs (v4/v6) and API keys (masked)', async () => {
  const d = listsDetector(policy, await makeServices(policy))!;
  for (const ip of ['198.51.100.200', '10.6.6.6', '2001:db8:bad::1']) {
    const s = d.inspectRequest!(makeCtx({ ip })) as Signal;
    assert.equal(s?.ruleId, 'lists.deny', ip);
    assert.equal(s.action, 'block');
  }
  const s = d.inspectRequest!(makeCtx({ ip: '192.0.2.10', apiKey: 'revoked-key-99999999' })) as Signal;
  assert.equal(s.ruleId, 'lists.deny', 'deny on the API key beats allow on the IP');
  assert.ok(!JSON.stringify(s).includes('revoked-key-99999999'));
  assert.equal(d.inspectRequest!(makeCtx({ ip: '203.0.113.1' })), undefined);
});

test('allow list: sets allowListed; most specific CIDR wins; IPv4-mapped IPv6 matches IPv4 entries', async () => {
  const d = listsDetector(policy, await makeServices(policy))!;
  for (const ip of ['10.1.2.3', '192.0.2.10', '2001:db8:aaaa:1::5', '::ffff:10.9.9.9']) {
    const ctx = makeCtx({ ip });
    assert.equal(d.inspectRequest!(ctx), undefined);
    assert.equal(ctx.allowListed, true, ip);
  }
  const key = makeCtx({ ip: '203.0.113.1', apiKey: 'partner-key-1234567' });
  d.inspectRequest!(key);
  assert.equal(key.allowListed, true);
  const inside = makeCtx({ ip: '10.6.6.6' });
  assert.equal((d.inspectRequest!(inside) as Signal).ruleId, 'lists.deny', '/32 deny inside an allowed /8');
  assert.equal(inside.allowListed, false);
});

test('no lists: the detector is disabled', async () => {
  const p = validatePolicy({});
  assert.equal(listsDetector(p, await makeServices(p)), undefined);
});

test('allow list beats an active ban; other banned clients are stopped by the decision', async () => {
  const services = await makeServices(policy);
  services.decisions.add({ scope: 'range', value: '10.0.0.0/8', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  services.decisions.add({ scope: 'ip', value: '203.0.113.5', type: 'throttle', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  const p = new Pipeline({ policy, detectors: [decisionsDetector(policy, services)!, listsDetector(policy, services)!] });
  const ok = makeCtx({ ip: '10.1.1.1' });
  p.runRequest(ok);
  assert.equal(p.decide(ok).action, 'allow');
  const thr = makeCtx({ ip: '203.0.113.5' });
  p.runRequest(thr);
  const v = p.decide(thr);
  assert.equal(v.action, 'throttle');
  assert.equal(v.status, 429);
  assert.ok(v.retryAfterS! >= 59);
  assert.equal(thr.matchedDecision?.value, '203.0.113.5');
  await services.decisions.close();
});

test('pathological client values are handled in bounded time', async () => {
  const d = listsDetector(policy, await makeServices(policy))!;
  const t0 = performance.now();
  for (const ip of ['1'.repeat(65536), ':'.repeat(65536), '1.'.repeat(32768), 'f:'.repeat(30000) + '::']) {
    const ctx = makeCtx({ ip, apiKey: 'k'.repeat(65536) });
    assert.equal(d.inspectRequest!(ctx), undefined);
  }
  assert.ok(performance.now() - t0 < 1000);
});
