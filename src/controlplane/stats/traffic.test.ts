import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrafficStats } from './traffic.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { RequestContext } from '../../core/context.ts';

/** A TrafficStats on a fresh SQLite file in a temporary directory, both removed after the test. */
async function openStats(t: TestContext): Promise<{ db: ReturnType<typeof openDatabase>; stats: TrafficStats }> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-traffic-'));
  const db = openDatabase(join(dir, 'stats.db'));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { db, stats: new TrafficStats(db, 0) };
}

test('traffic stats endpoint keys: METHOD route for templated routes, METHOD path (cut to 160) otherwise, across interleavings', async (t) => {
  const { stats } = await openStats(t);
  const now = Date.UTC(2026, 0, 1, 12, 0, 30);
  const res = { status: 200, latencyMs: 1, bytes: 0, byGateway: false };
  const long = '/x/' + 'y'.repeat(300);
  const seq: [string, string, string | undefined][] = [
    ['GET', '/api/users/1', '/api/users/{id}'],
    ['GET', '/api/users/2', '/api/users/{id}'],
    ['POST', '/api/users/3', '/api/users/{id}'],
    ['GET', '/a', undefined],
    ['GET', '/a', undefined],
    ['POST', '/a', undefined],
    ['GET', '/b', undefined],
    ['GET', '/a', undefined],
    ['GET', long, undefined],
    ['GET', '/api/users/4', '/api/users/{id}'],
  ];
  for (const [method, path, route] of seq) {
    const ctx = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target: path, headers: {}, startedAt: now });
    ctx.route = route;
    ctx.verdict = { action: 'allow', wouldBe: 'allow', monitor: false, anomalyScore: 0, risk: 0, level: 'LOW', status: 0, reasons: [] };
    stats.record(ctx, res);
  }
  stats.flush(now);
  const got = Object.fromEntries(stats.topN('endpoint', 0, now + 60_000, 20).map((r) => [r.key, r.requests]));
  assert.deepEqual(got, { 'GET /api/users/{id}': 3, 'POST /api/users/{id}': 1, 'GET /a': 3, 'POST /a': 1, 'GET /b': 1, ['GET ' + long.slice(0, 160)]: 1 });
  stats.close();
});

test('traffic stats: O(1) record, rollups flushed to SQLite, bounded top-N, 64 KiB path', async (t) => {
  const { db, stats } = await openStats(t);
  const now = Date.UTC(2026, 0, 1, 12, 0, 30);
  const mk = (ip: string, path: string, action: 'allow' | 'block' | 'throttle', level: 'LOW' | 'HIGH' = 'LOW') => {
    const ctx = new RequestContext({ id: 'r', clientIp: ip, clientKey: ip, peerIp: ip, method: 'GET', target: path, headers: {}, startedAt: now });
    ctx.verdict = { action, wouldBe: action, monitor: false, anomalyScore: 0, risk: 0, level, status: 0, reasons: action === 'allow' ? [] : ['r.1'] };
    ctx.signals.push({ ruleId: 'r.1', detector: 'd', category: 'sqli', score: 5 });
    return ctx;
  };
  const res = { status: 200, latencyMs: 1, bytes: 0, byGateway: false };
  for (let i = 0; i < 10; i++) stats.record(mk('192.0.2.1', '/a', 'allow'), res);
  for (let i = 0; i < 3; i++) stats.record(mk('192.0.2.2', '/b', 'block', 'HIGH'), res);
  stats.record(mk('192.0.2.3', '/c', 'throttle'), res);
  // 10,000 distinct clients: the top table stays bounded between flushes
  for (let i = 0; i < 10_000; i++) stats.record(mk(`10.0.${i >> 8}.${i & 255}`, '/a', 'allow'), res);
  const hostile = '/' + '%2e'.repeat(21_845);
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) stats.record(mk('192.0.2.9', hostile, 'allow'), res);
  assert.ok(performance.now() - t0 < 1000, '64 KiB paths are cut, not copied whole');
  stats.flush(now);
  const tl = stats.timeline(now - 3_600_000, now + 3_600_000, 60_000);
  assert.equal(tl.length, 1);
  assert.deepEqual({ ...tl[0] }, { t: now - 30_000, allowed: 11_010, logged: 0, throttled: 1, blocked: 3, monitored: 0 });
  const tot = stats.totals(0, now + 60_000);
  assert.deepEqual(tot.levels, { LOW: 11_011, MEDIUM: 0, HIGH: 3, CRITICAL: 0 });
  const top = stats.topN('client', 0, now + 60_000, 3);
  assert.equal(top[0]!.key, '192.0.2.1');
  assert.equal(top[0]!.requests, 10);
  assert.equal(stats.topN('client', 0, now + 60_000, 1, true)[0]!.key, '192.0.2.2');
  assert.deepEqual(stats.topN('category', 0, now + 60_000), [{ key: 'sqli', requests: 4, blocked: 3 }]);
  const rows = (db.prepare("SELECT COUNT(*) AS n FROM cp_traffic_top WHERE kind = 'client'").get() as { n: number }).n;
  assert.ok(rows <= 100, `top rows per flush bounded (50 by requests + 50 by blocked): ${rows}`);
  const ep = stats.topN('endpoint', 0, now + 60_000, 10).map((x) => x.key.length);
  assert.ok(Math.max(...ep) <= 4 + 160);
  stats.close();
});
