import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrafficStats } from './traffic.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { RequestContext } from '../../core/context.ts';

test('traffic stats endpoint keys: METHOD route for templated routes, METHOD path (cut to 160) otherwise, across interleavings', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-traffic-'));
  const db = openDatabase(join(dir, 'stats.db'));
  t.after(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  const stats = new TrafficStats(db, 0);
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
