import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../core/context.ts';
import { policySchema, type Policy } from '../../config/schema.ts';
import type { Signal } from '../../core/types.ts';
import { createRiskDecide, riskStateFor } from './decide.ts';

const T0 = 1_700_000_000_000;

function pol(risk: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Policy {
  return policySchema.parse({ ...extra, behavior: { risk } });
}

/** A request; an API key or user is one the upstream accepted before unless `accepted: false`. */
function req(opts: { ip?: string; apiKey?: string; user?: string; accepted?: boolean; at?: number; signals?: Signal[] } = {}): RequestContext {
  const ip = opts.ip ?? '198.51.100.7';
  const c = new RequestContext({ id: 'r', clientIp: ip, clientKey: ip, peerIp: ip, method: 'GET', target: '/api/x', headers: {}, startedAt: opts.at ?? T0 });
  if (opts.apiKey) c.apiKey = opts.apiKey;
  if (opts.user) c.user = opts.user;
  if (opts.apiKey || opts.user) c.identityAccepted = opts.accepted ?? true;
  for (const s of opts.signals ?? []) c.signals.push({ ...s });
  return c;
}

const sqli: Signal = { ruleId: '942100', detector: 'payload', category: 'sqli', score: 5, severity: 'critical' };
const anomaly: Signal = { ruleId: 'behavior.anomaly.iforest', detector: 'anomaly', category: 'anomaly', score: 0, risk: 0.45 };
const positive: Signal = { ruleId: 'behavior.positive.type', detector: 'positive', category: 'positive', score: 2, risk: 0.3 };

test('threat levels and per-level actions escalate a repeat offender to a ban on its scope', () => {
  const decide = createRiskDecide({});
  const p = pol();
  const levels: string[] = [];
  let last;
  for (let i = 0; i < 5; i++) {
    const c = req({ at: T0 + i * 1000, signals: [sqli] });
    const v = decide(c, p);
    levels.push(`${v.action}/${v.level}`);
    last = { v, c };
  }
  // every request is blocked by the anomaly threshold (risk 0.8 = CRITICAL per request); the client's own
  // risk climbs 0.4 → 0.64 → 0.78 → 0.87: the 4th request is a ban
  assert.deepEqual(levels.slice(0, 3), ['block/CRITICAL', 'block/CRITICAL', 'block/CRITICAL']);
  assert.equal(levels[3], 'ban/CRITICAL');
  const { v, c } = last!;
  assert.equal(v.action, 'ban');
  const ban = c.signals.find((s) => s.ruleId === 'behavior.risk.critical')!;
  assert.equal(ban.action, 'ban');
  assert.deepEqual(ban.ban, { scope: 'ip', value: '198.51.100.7', durationMs: 900_000 });
  assert.equal(v.reasons[0], 'behavior.risk.critical');
  assert.ok((ban.evidence!.detail!.clientRisk as number) >= 0.8);
  assert.match(String(ban.evidence!.detail!.categories), /sqli=/);
});

test('weak models never escalate alone; two of them together throttle with Retry-After', () => {
  const decide = createRiskDecide({});
  const p = pol();
  for (let i = 0; i < 100; i++) {
    const v = decide(req({ ip: '203.0.113.1', at: T0 + i * 100, signals: [anomaly] }), p);
    assert.ok(v.action === 'allow' || v.action === 'log', `anomaly alone: ${v.action}`);
  }
  const st = riskStateFor({}).clients;
  assert.equal(st.size, 0, 'a fresh owner has fresh state');
  let v;
  for (let i = 0; i < 30; i++) v = decide(req({ ip: '203.0.113.2', at: T0 + i * 100, signals: [anomaly, positive] }), p);
  assert.equal(v!.action, 'throttle');
  assert.equal(v!.status, 429);
  assert.ok(v!.retryAfterS! >= 1);
  assert.equal(v!.reasons[0], 'behavior.risk.high');
  assert.equal(v!.level, 'HIGH');
});

test('identities: an attacking API key is banned by key; other keys and users on the same IP are not', () => {
  const decide = createRiskDecide({});
  const p = pol();
  let v;
  let c!: RequestContext;
  for (let i = 0; i < 6; i++) {
    c = req({ ip: '100.64.0.1', apiKey: 'attacker-key', at: T0 + i, signals: [sqli] });
    v = decide(c, p);
  }
  assert.equal(v!.action, 'ban');
  assert.deepEqual(c.signals.find((s) => s.action === 'ban')!.ban!.scope, 'api_key');
  const other = decide(req({ ip: '100.64.0.1', apiKey: 'good-key', at: T0 + 10 }), p);
  assert.equal(other.action, 'allow');
  const user = decide(req({ ip: '100.64.0.1', user: 'carol', at: T0 + 10 }), p);
  assert.equal(user.action, 'allow');
  assert.equal(user.level, 'LOW');
});

test('identities: a made-up API key per request does not escape: risk accumulates on the client IP', () => {
  const decide = createRiskDecide({});
  const p = pol();
  let v;
  let c!: RequestContext;
  for (let i = 0; i < 6; i++) {
    c = req({ ip: '203.0.113.66', apiKey: `random-${i}`, accepted: false, at: T0 + i, signals: [sqli] });
    v = decide(c, p);
  }
  assert.equal(v!.action, 'ban');
  assert.deepEqual(c.signals.find((s) => s.action === 'ban')!.ban, { scope: 'ip', value: '203.0.113.66', durationMs: c.signals.find((s) => s.action === 'ban')!.ban!.durationMs });
});

test('client risk decays with the half-life', () => {
  const owner = {};
  const decide = createRiskDecide(owner);
  const p = pol({ halfLife: '10m' });
  for (let i = 0; i < 2; i++) decide(req({ at: T0 + i, signals: [sqli] }), p);
  const before = riskStateFor(owner).view('ip:198.51.100.7', 600_000, T0 + 1)!;
  const after = riskStateFor(owner).view('ip:198.51.100.7', 600_000, T0 + 1 + 600_000)!;
  assert.ok(Math.abs(after.categories.sqli! - before.categories.sqli! / 2) < 1e-6);
  const v = decide(req({ at: T0 + 3_600_000 }), p);
  assert.equal(v.action, 'allow');
  assert.equal(v.level, 'LOW');
});

test('monitor: risk.monitor records would-ban; monitorDetectors relaxes a detector', () => {
  const decide = createRiskDecide({});
  const p = pol({ monitor: true, accumulation: 1 });
  const v = decide(req({ signals: [sqli] }), p);
  assert.equal(v.action, 'block', 'the anomaly threshold still blocks');
  const v2 = decide(req({ at: T0 + 1, signals: [sqli] }), p);
  assert.equal(v2.action, 'block');
  assert.equal(v2.wouldBe, 'ban');
  assert.equal(v2.monitor, true);

  const d2 = createRiskDecide({});
  const pm = pol({ monitorDetectors: ['payload'] });
  const v3 = d2(req({ signals: [sqli] }), pm);
  assert.equal(v3.action, 'allow');
  assert.equal(v3.wouldBe, 'block');
});

test('custom per-level actions; allow-listed clients; idempotent decide', () => {
  const decide = createRiskDecide({});
  const p = pol({ actions: { MEDIUM: 'throttle', HIGH: 'block', CRITICAL: { action: 'ban', ttl: '1h' } } });
  const c = req({ signals: [sqli] });
  const v1 = decide(c, p);
  const v2 = decide(c, p);
  assert.equal(v1.risk, v2.risk, 'a second decide call does not accumulate again');
  assert.equal(c.signals.filter((s) => s.ruleId.startsWith('behavior.risk.')).length, 1);
  const next = decide(req({ at: T0 + 5, signals: [positive] }), p);
  assert.equal(next.action, 'throttle', 'client at MEDIUM → throttle (policy)');
  const allow = req({ signals: [sqli] });
  allow.allowListed = true;
  assert.equal(decide(allow, p).action, 'allow');
});
