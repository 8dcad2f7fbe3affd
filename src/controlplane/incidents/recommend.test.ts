import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policySchema } from '../../config/schema.ts';
import { networkOf, recommend } from './recommend.ts';
import type { Incident } from './types.ts';

function incident(over: Partial<Incident> = {}): Incident {
  const t = 1_700_000_000_000;
  return {
    id: 'inc-1', actor: { kind: 'ip', value: '203.0.113.7' }, scenario: 'sqli', severity: 'HIGH', state: 'open',
    firstSeen: t, lastSeen: t + 60_000, events: 1, blocked: 0, sampleEventIds: [],
    stats: { ips: {}, routes: {}, rules: {}, actions: {}, monitored: 0, overflow: 0 },
    generation: 0, createdAt: t, updatedAt: t, ...over,
  };
}

test('networkOf: IPv4 /24 and IPv6 /48, anything else undefined', () => {
  assert.equal(networkOf('198.51.100.23'), '198.51.100.0/24');
  assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
  assert.equal(networkOf('2001:db8::/64'), '2001:db8::/48');
  assert.equal(networkOf('::1'), '::/48');
  assert.equal(networkOf('2001:0db8:00ab:1:2:3:4:5'), '2001:db8:ab::/48');
  assert.equal(networkOf('user@example'), undefined);
});

test('no recommendation for a small incident', () => {
  assert.deepEqual(recommend(incident(), policySchema.parse({})), []);
});

test('ban range, ban actor and rate limit from a flood of one /24 with no throttling', () => {
  const ips: Record<string, number> = {};
  for (let i = 1; i <= 6; i++) ips[`198.51.100.${i}`] = 10;
  ips['192.0.2.1'] = 1;
  const inc = incident({
    actor: { kind: 'user', value: 'bob' }, scenario: 'bruteforce', events: 61, blocked: 61,
    stats: { ips, routes: { 'POST /api/users/{id}/login': { count: 61, method: 'POST', throttled: 0 } }, rules: {}, actions: { block: 61 }, monitored: 0, overflow: 0 },
  });
  const recs = recommend(inc, policySchema.parse({}));
  const range = recs.find((r) => r.type === 'ban_range')!;
  assert.deepEqual(range.action, { kind: 'decision', decision: { scope: 'range', value: '198.51.100.0/24', type: 'ban', ttlS: 86_400, reason: range.action.kind === 'decision' ? range.action.decision.reason : '' } });
  const actor = recs.find((r) => r.type === 'ban_actor')!;
  assert.equal(actor.action.kind === 'decision' && actor.action.decision.scope, 'user');
  const rl = recs.find((r) => r.type === 'rate_limit_route')!;
  assert.equal(rl.action.kind, 'policy_patch');
  const op = rl.action.kind === 'policy_patch' ? rl.action.jsonPatch[0]! : undefined;
  assert.equal(op?.path, '/rateLimits/-');
  const rule = op?.value as { match: { path: string; methods: string[] }; key: string; limit: number; window: string };
  assert.equal(rule.match.path, '/api/users/*/login');
  assert.deepEqual(rule.match.methods, ['POST']);
  assert.equal(rule.key, 'user');
  assert.equal(rule.limit, 15); // 61/min observed → a quarter
  // The suggested rule is valid in the policy schema.
  const parsed = policySchema.safeParse({ rateLimits: [rule] });
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  const flow = recs.find((r) => r.type === 'business_flow')!;
  assert.equal(flow.review, true);

  // Already banned: the bans are not recommended again.
  const again = recommend(inc, policySchema.parse({}), () => true);
  assert.ok(!again.some((r) => r.type === 'ban_range' || r.type === 'ban_actor'));
  // A throttled route is not a throttle-less flood.
  const throttled = recommend({ ...inc, stats: { ...inc.stats, routes: { 'POST /login': { count: 61, method: 'POST', throttled: 3 } } } }, policySchema.parse({}));
  assert.ok(!throttled.some((r) => r.type === 'rate_limit_route'));
});

test('monitor-mode rules that would have blocked: per-rule enforce, or global enforce when the gateway is in monitor mode', () => {
  const inc = incident({ stats: { ips: {}, routes: {}, rules: { 'xss.941100': { count: 4, category: 'xss', monitor: 4, wouldBlock: 4 }, 'xss.941160': { count: 2, category: 'xss', monitor: 2, wouldBlock: 0 } }, actions: { log: 4 }, monitored: 4, overflow: 0 } });
  const recs = recommend(inc, policySchema.parse({}));
  assert.deepEqual(recs.map((r) => r.type), ['enforce_rule']);
  assert.deepEqual(recs[0]!.action, { kind: 'rule_mode', ruleId: 'xss.941100', mode: 'enforce' });
  const global = recommend(inc, policySchema.parse({ mode: 'monitor' }));
  assert.deepEqual(global.map((r) => r.type), ['enforce_mode']);
  assert.deepEqual(global[0]!.action.kind === 'policy_patch' && global[0]!.action.mergePatch, { mode: 'enforce' });
  // Ids are stable for the same incident.
  assert.equal(recommend(inc, policySchema.parse({}))[0]!.id, recs[0]!.id);
});

test('API keys are never proposed for a ban by their masked value; hostile route text is not turned into a rule', () => {
  const inc = incident({
    actor: { kind: 'api_key', value: 'abcd…12345678' }, events: 100, blocked: 100,
    stats: { ips: { '192.0.2.1': 100 }, routes: { 'GET /a b\u0000?x': { count: 100, method: 'GET', throttled: 0 } }, rules: {}, actions: { block: 100 }, monitored: 0, overflow: 0 },
  });
  const recs = recommend(inc, policySchema.parse({}));
  assert.ok(!recs.some((r) => r.type === 'ban_actor'));
  assert.ok(!recs.some((r) => r.type === 'rate_limit_route'));
});
