import { maskApiKey } from '../src/events/record.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBulwark, send } from './helpers/index.ts';
import type { Detector } from '../src/core/detector.ts';
import type { Signal } from '../src/core/types.ts';
import { getInventory } from '../src/behavior/discovery/inventory.ts';
import { getPositiveModel } from '../src/behavior/positive/model.ts';
import { getBaselineStats } from '../src/behavior/baseline/detector.ts';
import { defaultCountryDb } from '../src/behavior/geo/db.ts';

/** A test detector appended after the registry's: records each request's signals and route after the response. */
function spy(seen: Map<string, { route?: string; signals: Signal[]; country?: string }>): Detector {
  return {
    name: 'test-spy',
    runsOnAllowListed: true,
    observeResponse(ctx) {
      seen.set(String(ctx.headers['x-test-id'] ?? ctx.id), { route: ctx.route, signals: ctx.signals.slice(), country: ctx.geo?.country });
    },
  };
}

const POLICY = {
  rateLimits: [],
  trustedProxies: ['127.0.0.1'],
  // the demo API checks no API key: the policy declares /api/products as a route that does, so a 200 there
  // accepts a key (a 200 on a route not known to check credentials accepts nothing, src/dataplane/identity.ts)
  identity: { authenticatedRoutes: ['/api/products'] },
  behavior: {
    discovery: { learningPeriod: '1h' },
    positiveModel: { learning: { minSamples: 20, period: '0s', minParamSamples: 10 } },
  },
};

test('behaviour models over real HTTP: discovery, positive model, geo, baselines and risk escalation to an API-key ban', async (t) => {
  const seen = new Map<string, { route?: string; signals: Signal[]; country?: string }>();
  const bw = await startTestBulwark({ policy: POLICY, detectors: () => [spy(seen)] });
  t.after(() => bw.stop());
  const get = (path: string, id: string, headers: Record<string, string> = {}) => send(bw.gatewayUrl, path, { headers: { 'x-test-id': id, 'x-forwarded-for': '192.0.2.10', ...headers } });
  const settle = () => new Promise((r) => setTimeout(r, 30));

  // --- discovery: templated routes, learned from successful responses
  for (let i = 1; i <= 3; i++) assert.equal((await get(`/api/users/${i}`, `u${i}`)).status, 200);
  await settle();
  assert.equal(seen.get('u3')?.route, '/api/users/{id}');
  const inv = getInventory(bw.services)!;
  const users = inv.endpoints.find((e) => e.method === 'GET' && e.route === '/api/users/{id}');
  assert.ok(users && users.count >= 3, JSON.stringify(inv.endpoints));

  // --- positive model: learn /api/search, then an unknown parameter and a charset deviation are flagged
  for (let i = 0; i < 25; i++) assert.equal((await get(`/api/search?q=phone${i % 4}`, `s${i}`)).status, 200);
  await settle();
  assert.equal(getPositiveModel(bw.services)!.state('GET /api/search'), 'enforcing');
  assert.equal((await get('/api/search?q=phone&debug=true', 'dev1')).status, 200, 'a positive-model deviation alone does not block');
  await settle();
  const dev = seen.get('dev1')!.signals.find((s) => s.ruleId === 'behavior.positive.unknown_param');
  assert.ok(dev, JSON.stringify(seen.get('dev1')));
  assert.ok(dev.score < 5);

  // --- baselines: per-endpoint statistics are exposed
  const stats = getBaselineStats(bw.services);
  assert.ok(stats.some((s) => s.endpoint === 'GET /api/search' && s.latency.n >= 25));

  // --- geo: the client's country and hosting ASN from the bundled databases (lookup only)
  if (defaultCountryDb()) {
    await get('/api/products', 'geo1', { 'x-forwarded-for': '8.8.8.8' });
    await settle();
    assert.equal(seen.get('geo1')?.country, 'US');
  }

  // --- risk: an API key sending payload attacks from a shared IP escalates to a ban on that key only. The key
  // is a real one (the upstream accepted it before, on a route that checks keys); made-up keys count by IP
  // (src/behavior/risk/risk.test.ts)
  assert.equal((await get('/api/products', 'atk-clean', { 'x-api-key': 'attacker-key-0001', 'x-forwarded-for': '100.64.1.1' })).status, 200);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await get(`/api/search?q=${encodeURIComponent('<script>alert(1)</script>')}`, `atk${i}`, { 'x-api-key': 'attacker-key-0001', 'x-forwarded-for': '100.64.1.1' });
    statuses.push(r.status);
  }
  assert.ok(statuses.every((s) => s === 403), statuses.join(','));
  await settle();
  const bans = bw.services.decisions.list({ scope: 'api_key' });
  assert.equal(bans.length, 1, JSON.stringify(bans));
  assert.equal(bans[0]!.source, 'behavior.risk.critical');
  assert.equal(bans[0]!.value, maskApiKey('attacker-key-0001'), 'the decision holds the masked key, never the key');
  const banned = await get('/api/products', 'atk-after', { 'x-api-key': 'attacker-key-0001', 'x-forwarded-for': '100.64.1.1' });
  assert.equal(banned.status, 403, 'the key stays banned on a clean request');
  const neighbour = await get('/api/products', 'nat-user', { 'x-api-key': 'good-key-0002', 'x-forwarded-for': '100.64.1.1' });
  assert.equal(neighbour.status, 200, 'another key behind the same carrier-NAT IP is not affected');
  const explained = [...seen.values()].flatMap((v) => v.signals).find((s) => s.ruleId === 'behavior.risk.critical')!;
  assert.ok(explained.evidence?.detail?.clientRisk !== undefined && explained.evidence.detail.halfLifeS === 600);
  // the API key never appears in clear in the risk explanation nor in the stored events
  assert.ok(!JSON.stringify(explained.evidence).includes('attacker-key-0001'));
  await bw.services.events.flush();
  const page = await bw.services.eventStore.query({ limit: 1000 });
  assert.ok(page.events.some((e) => e.reasons.includes('behavior.risk.critical')), 'the ban is recorded with its reason');
  assert.ok(!JSON.stringify(page.events).includes('attacker-key-0001'), 'no API key in clear in events');
});
