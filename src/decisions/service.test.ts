import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestContext } from '../core/context.ts';
import type { Decision } from '../core/types.ts';
import { validatePolicy } from '../config/load.ts';
import { openDatabase } from '../store/sqlite.ts';
import { createDecisionService, escalatedDuration } from './service.ts';
import { maskApiKey } from '../events/record.ts';
import { MemoryDecisionStore } from './memory-store.ts';
import { SqliteDecisionStore } from './sqlite-store.ts';
import type { DecisionStore } from './types.ts';

const policy = validatePolicy({ decisions: { defaultBanDuration: '10m', escalationMultiplier: 2, maxBanDuration: '1h', offenceWindow: '1d' } });

function ctx(ip: string, extra: Partial<{ apiKey: string; user: string; fingerprint: string; clientKey: string }> = {}): RequestContext {
  const c = new RequestContext({ id: 'r', clientIp: ip, clientKey: extra.clientKey ?? ip, peerIp: ip, method: 'GET', target: '/', headers: {} });
  if (extra.apiKey) c.apiKey = extra.apiKey;
  if (extra.user) c.user = extra.user;
  if (extra.fingerprint) c.fingerprint = extra.fingerprint;
  return c;
}

test('escalatedDuration: base × multiplier^(offence−1), capped', () => {
  assert.equal(escalatedDuration(600_000, 1, 2, 3_600_000), 600_000);
  assert.equal(escalatedDuration(600_000, 2, 2, 3_600_000), 1_200_000);
  assert.equal(escalatedDuration(600_000, 3, 2, 3_600_000), 2_400_000);
  assert.equal(escalatedDuration(600_000, 4, 2, 3_600_000), 3_600_000);
  assert.equal(escalatedDuration(600_000, 5000, 100, 3_600_000), 3_600_000);
});

test('match by scope, expiry on read, most severe wins', async (t) => {
  const s = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => s.close());
  const now = 1_000_000;
  assert.equal(s.match(ctx('192.0.2.1'), now), undefined);
  const thr = s.add({ scope: 'ip', value: '192.0.2.1', type: 'throttle', origin: 'manual', source: 'op', reason: 'slow down', durationMs: 60_000 }, now);
  assert.equal(s.match(ctx('192.0.2.1'), now)?.id, thr.id);
  const ban = s.add({ scope: 'api_key', value: 'k-123', type: 'ban', origin: 'manual', source: 'op', reason: 'leaked key', durationMs: 30_000 }, now);
  assert.equal(s.match(ctx('192.0.2.1', { apiKey: 'k-123' }), now)?.id, ban.id, 'ban beats throttle');
  assert.equal(s.match(ctx('198.51.100.1', { apiKey: 'k-123' }), now)?.id, ban.id);
  // A ban on the masked form (as shown in events) matches the key.
  const masked = s.add({ scope: 'api_key', value: maskApiKey('sk_live_secret_0001'), type: 'ban', origin: 'manual', source: 'op', reason: 'from event', durationMs: 30_000 }, now);
  assert.equal(s.match(ctx('198.51.100.2', { apiKey: 'sk_live_secret_0001' }), now)?.id, masked.id);
  assert.equal(s.match(ctx('198.51.100.2', { apiKey: 'sk_live_secret_0002' }), now), undefined);
  await s.remove(masked.id);
  s.add({ scope: 'user', value: 'alice', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 1000 }, now);
  assert.equal(s.match(ctx('203.0.113.9', { user: 'alice' }), now)?.value, 'alice');
  s.add({ scope: 'fingerprint', value: 'fp1', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 1000 }, now);
  assert.equal(s.match(ctx('203.0.113.9', { fingerprint: 'fp1' }), now)?.value, 'fp1');
  // IPv6 aggregated key
  s.add({ scope: 'ip', value: '2001:db8:1:2::/64', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 1000 }, now);
  assert.equal(s.match(ctx('2001:db8:1:2::99', { clientKey: '2001:db8:1:2::/64' }), now)?.value, '2001:db8:1:2::/64');
  // expiry on read
  assert.equal(s.match(ctx('192.0.2.1', { apiKey: 'k-123' }), now + 30_000)?.id, thr.id, 'ban expired, throttle remains');
  assert.equal(s.match(ctx('192.0.2.1'), now + 60_000), undefined);
  assert.equal(s.list({}, now + 60_000).length, 0);
  assert.equal(s.list({ includeExpired: true }, now + 60_000).length, 5);
  assert.equal(s.sweep(now + 60_000), 5);
  assert.equal(s.size, 0);
});

test('range decisions match by CIDR (IPv4 and IPv6)', async (t) => {
  const s = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => s.close());
  const now = 5_000;
  const r4 = s.add({ scope: 'range', value: '198.51.100.0/24', type: 'ban', origin: 'manual', source: 'op', reason: 'bad net', durationMs: 1000 }, now);
  const r6 = s.add({ scope: 'range', value: '2001:db8::/32', type: 'throttle', origin: 'manual', source: 'op', reason: 'x', durationMs: 1000 }, now);
  assert.equal(s.match(ctx('198.51.100.77'), now)?.id, r4.id);
  assert.equal(s.match(ctx('198.51.101.1'), now), undefined);
  assert.equal(s.match(ctx('2001:db8:ffff::1'), now)?.id, r6.id);
  assert.equal(s.match(ctx('2001:db9::1'), now), undefined);
  assert.equal(await s.remove(r4.id), true);
  assert.equal(s.match(ctx('198.51.100.77'), now), undefined);
  assert.equal(await s.remove(r4.id), false);
  assert.throws(() => s.add({ scope: 'range', value: '198.51.100.0/33', type: 'ban', origin: 'manual', source: 'op', reason: 'x' }), RangeError);
  assert.throws(() => s.add({ scope: 'ip', value: '', type: 'ban', origin: 'manual', source: 'op', reason: 'x' }), RangeError);
  const dflt = s.add({ scope: 'ip', value: '192.0.2.99', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 0 }, now);
  assert.equal(dflt.expiresAt - dflt.createdAt, 600_000, 'a zero duration means the policy default');
});

test('repeat offenders escalate within the offence window', async (t) => {
  const s = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => s.close());
  let now = 10_000_000;
  const durations: number[] = [];
  for (let i = 0; i < 4; i++) {
    const d = s.add({ scope: 'ip', value: '192.0.2.50', type: 'ban', origin: 'rule', source: 'ratelimit.login-ip', reason: 'limit' }, now);
    durations.push(d.expiresAt - d.createdAt);
    assert.equal(d.offence, i + 1);
    now = d.expiresAt + 1;
  }
  assert.deepEqual(durations, [600_000, 1_200_000, 2_400_000, 3_600_000]);
  // Other source, other value: first offence.
  assert.equal(s.add({ scope: 'ip', value: '192.0.2.50', type: 'ban', origin: 'rule', source: 'other', reason: 'x' }, now).offence, 1);
  // Manual decisions do not escalate by default.
  const m = s.add({ scope: 'ip', value: '192.0.2.50', type: 'ban', origin: 'manual', source: 'ratelimit.login-ip', reason: 'x', durationMs: 1000 }, now);
  assert.equal(m.expiresAt - m.createdAt, 1000);
  // After the offence window the count starts over.
  const later = s.add({ scope: 'ip', value: '192.0.2.50', type: 'ban', origin: 'rule', source: 'ratelimit.login-ip', reason: 'limit' }, now + 2 * 86_400_000);
  assert.equal(later.offence, 1);
});

test('decisions survive a restart (SQLite file); expired ones do not; offences are counted from the store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bw-dec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bulwark.db');
  const now = Date.now();
  {
    const db = openDatabase(file);
    const s = await createDecisionService({ store: new SqliteDecisionStore(db), policy: () => policy, sweepIntervalMs: 0 });
    s.add({ scope: 'ip', value: '192.0.2.7', type: 'ban', origin: 'rule', source: 'ratelimit.x', reason: 'r', durationMs: 3_600_000 }, now);
    s.add({ scope: 'ip', value: '192.0.2.8', type: 'ban', origin: 'manual', source: 'op', reason: 'r', durationMs: 50 }, now);
    await s.close();
    db.close();
  }
  await new Promise((r) => setTimeout(r, 80));
  const db = openDatabase(file);
  t.after(() => db.close());
  const s2 = await createDecisionService({ store: new SqliteDecisionStore(db), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => s2.close());
  const d = s2.match(ctx('192.0.2.7'));
  assert.ok(d, 'ban restored');
  assert.equal(d.reason, 'r');
  assert.equal(d.expiresAt, now + 3_600_000);
  assert.equal(s2.match(ctx('192.0.2.8')), undefined, 'expired decision not restored');
  assert.equal(s2.list().length, 1);
  // Second offence after the restart: memory knows nothing, the store knows one earlier decision.
  const again = s2.add({ scope: 'ip', value: '192.0.2.7', type: 'ban', origin: 'rule', source: 'ratelimit.x', reason: 'r', durationMs: 600_000 });
  await s2.flush();
  for (let i = 0; i < 50 && again.offence < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(again.offence, 2);
  assert.equal(again.expiresAt - again.createdAt, 1_200_000);
  await s2.flush();
  const row = db.prepare('SELECT offence, expires_at FROM decisions WHERE id = ?').get(again.id) as { offence: number; expires_at: number };
  assert.equal(row.offence, 2);
  assert.equal(row.expires_at, again.expiresAt);
});

test('write-behind: add never waits for the store; failed writes are retried until they succeed', async (t) => {
  const inner = new MemoryDecisionStore();
  let failing = true;
  let attempts = 0;
  const flaky: DecisionStore = {
    loadActive: (n) => inner.loadActive(n),
    put: async (d: Decision) => {
      attempts++;
      if (failing) throw new Error('disk full');
      await inner.put(d);
    },
    delete: (id) => inner.delete(id),
    countOffences: (a, b, c, d) => inner.countOffences(a, b, c, d),
    prune: (b) => inner.prune(b),
    close: () => inner.close(),
  };
  const s = await createDecisionService({ store: flaky, policy: () => policy, sweepIntervalMs: 0, retryBaseMs: 10 });
  t.after(() => s.close(100));
  const t0 = performance.now();
  const d = s.add({ scope: 'ip', value: '192.0.2.9', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  assert.ok(performance.now() - t0 < 50);
  assert.ok(s.match(ctx('192.0.2.9')), 'effective immediately');
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(attempts >= 2, `retried (${attempts})`);
  assert.equal((await inner.loadActive(Date.now())).length, 0);
  failing = false;
  await s.flush();
  assert.deepEqual((await inner.loadActive(Date.now())).map((x) => x.id), [d.id]);
});

test('write queue at its bound: the oldest write not yet started is dropped, never the one in progress', async (t) => {
  const inner = new MemoryDecisionStore();
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const slow: DecisionStore = {
    loadActive: (n) => inner.loadActive(n),
    put: async (d: Decision) => {
      await gate;
      await inner.put(d);
    },
    delete: (id) => inner.delete(id),
    countOffences: (a, b, c, d) => inner.countOffences(a, b, c, d),
    prune: (b) => inner.prune(b),
    close: () => inner.close(),
  };
  const dropped: unknown[] = [];
  const logger = { error: (o: { decisionId?: string }) => dropped.push(o.decisionId), warn() {}, info() {}, debug() {} };
  const s = await createDecisionService({ store: slow, policy: () => policy, sweepIntervalMs: 0, maxPendingWrites: 2, logger: logger as never });
  t.after(() => s.close(100));
  const ban = (i: number) => s.add({ scope: 'ip', value: `192.0.2.${i}`, type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  const d1 = ban(1); // being written (waits on the gate)
  const d2 = ban(2);
  const d3 = ban(3); // queue over its bound of 2: 2 is dropped, not 1
  assert.deepEqual(dropped, [d2.id], 'the log names the write dropped');
  release();
  gate = Promise.resolve();
  await s.flush();
  assert.deepEqual((await inner.loadActive(Date.now())).map((x) => x.id).sort(), [d1.id, d3.id].sort());
});

test('subscribe sees puts and deletes', async (t) => {
  const s = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => s.close());
  const seen: string[] = [];
  const off = s.subscribe((c) => seen.push(c.op === 'put' ? `put:${c.decision.value}` : `delete:${c.id}`));
  const d = s.add({ scope: 'ip', value: '192.0.2.1', type: 'ban', origin: 'manual', source: 'op', reason: 'x' });
  await s.remove(d.id);
  off();
  s.add({ scope: 'ip', value: '192.0.2.2', type: 'ban', origin: 'manual', source: 'op', reason: 'x' });
  assert.deepEqual(seen, ['put:192.0.2.1', `delete:${d.id}`]);
});

test('memory bound: the oldest rule decisions are evicted, manual ones kept', async (t) => {
  const s = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0, maxDecisions: 100 });
  t.after(() => s.close());
  const now = 1_000;
  const manual = s.add({ scope: 'ip', value: '198.51.100.1', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 }, now);
  for (let i = 0; i < 10_000; i++) s.add({ scope: 'ip', value: `10.0.${i >> 8}.${i & 255}`, type: 'ban', origin: 'rule', source: 'flood', reason: 'x' }, now + i);
  assert.equal(s.size, 100);
  assert.equal(s.evicted, 9_901);
  assert.equal(s.get(manual.id)?.id, manual.id);
  assert.ok(s.match(ctx('10.0.39.15'), now + 10_000), 'newest offender still banned');
  assert.equal(s.match(ctx('10.0.0.1'), now + 10_000), undefined, 'oldest evicted');
});

test('close: writes still pending after the timeout are logged as lost, with their ids', async () => {
  const inner = new MemoryDecisionStore();
  const stuck: DecisionStore = {
    loadActive: (n) => inner.loadActive(n),
    put: () => new Promise<void>(() => {}),
    delete: (id) => inner.delete(id),
    countOffences: (a, b, c, d) => inner.countOffences(a, b, c, d),
    prune: (b) => inner.prune(b),
    close: () => inner.close(),
  };
  const logged: { lost?: number; decisionIds?: string[] }[] = [];
  const logger = { error: (o: { lost?: number; decisionIds?: string[] }) => logged.push(o), warn() {}, info() {}, debug() {} };
  const s = await createDecisionService({ store: stuck, policy: () => policy, sweepIntervalMs: 0, logger: logger as never });
  const d = s.add({ scope: 'ip', value: '192.0.2.50', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  await s.close(50);
  const lost = logged.find((o) => o.lost !== undefined);
  assert.equal(lost?.lost, 1);
  assert.deepEqual(lost?.decisionIds, [d.id]);
});
