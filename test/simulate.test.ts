import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, formatReport } from '../src/simulate/run.ts';
import { simulatePolicy } from '../src/simulate/policy.ts';
import { validatePolicy } from '../src/config/load.ts';

test('simulate policy: windows and durations are divided by the compression factor', () => {
  const p = validatePolicy(simulatePolicy(60));
  assert.equal(p.behavior.bruteForce.window, 10_000, '10 min / 60');
  assert.equal(p.behavior.bruteForce.banDuration, 30_000, '30 min / 60');
  assert.equal(p.behavior.credentialStuffing.lowAndSlow.window, 360_000, '6 h / 60');
  assert.equal(p.behavior.honeypot.banDuration, 60_000, '1 h / 60');
  assert.equal(p.behavior.flows.rules[0]!.within, 5000, '5 min / 60');
  assert.deepEqual(p.rateLimits.map((r) => r.window), [1000, 1000, 1000]);
  assert.equal(p.behavior.bruteForce.maxFailures, 5, 'counts are not scaled');
  assert.deepEqual(p.trustedProxies, ['127.0.0.1/32', '::1/128']);
  assert.throws(() => simulatePolicy(0.5), RangeError);
});

test('simulate (short run): every attacker kind stopped, no benign client blocked, shared-IP users not blocked', { timeout: 110_000 }, async () => {
  // 40 simulated minutes at F = 60 (40 s). To catch the low-and-slow attacker (one attempt per 140–180 s) within
  // that time, this short run lowers credentialStuffing.lowAndSlow.maxFailures from 20 to 10; everything else is
  // the simulation policy of `bulwark simulate`, which keeps the default 20 over 80 simulated minutes.
  const report = await runSimulation({
    factor: 60,
    durationMin: 40,
    scale: 0.5,
    seed: 11,
    adjustPolicy: (p) => {
      const b = p.behavior as Record<string, Record<string, unknown>>;
      b.credentialStuffing = { ...b.credentialStuffing, lowAndSlow: { ...(b.credentialStuffing!.lowAndSlow as object), maxFailures: 10 } };
      return p;
    },
  });
  const text = formatReport(report);
  assert.ok(report.ok, text);
  const attacks = report.scenarios.filter((s) => s.kind === 'attack');
  assert.equal(attacks.length, 10);
  for (const a of attacks) {
    assert.ok(a.stopped, `${a.name} stopped\n${text}`);
    assert.ok(a.requestsUntilStopped !== undefined && a.requestsUntilStopped < a.requests, a.name);
  }
  assert.equal(report.benign.clientsBlocked, 0, text);
  assert.ok(report.benign.requests > 500, `benign traffic flowed: ${report.benign.requests}`);
  assert.equal(report.sharedIp.clientsBlocked, 0);
  assert.ok(report.sharedIp.clients >= 8 && report.sharedIp.requests > 100);
  // Attacks are stopped by the behaviour they show (decisions from the detectors built for them).
  for (const rule of ['behavior.honeypot', 'behavior.bruteforce.ip', 'behavior.stuffing.slow', 'behavior.stuffing.fingerprint']) {
    assert.ok((report.decisions[rule] ?? 0) >= 1, `${rule} decision\n${text}`);
  }
  assert.match(text, /Time compression F = 60/);
});

test('simulate refuses non-loopback targets', async () => {
  await assert.rejects(runSimulation({ target: 'http://192.0.2.1:8080', durationMin: 1 }), /loopback/);
});
