import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startTestBulwark, send } from './helpers/index.ts';
import { openDatabase } from '../src/store/sqlite.ts';
import { join } from 'node:path';

test('throttled requests become security events in SQLite with the right fields', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [{ id: 'ev', limit: 1, window: '1m' }] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const headers = { 'x-forwarded-for': '192.0.2.44', 'user-agent': 'evtest/1.0', 'x-api-key': 'sk_test_abcdef123456' };
  assert.equal((await send(bw.gatewayUrl, '/api/search?q=shoes', { headers })).status, 200);
  const r = await send(bw.gatewayUrl, '/api/search?q=boots', { headers });
  assert.equal(r.status, 429);
  await bw.services.events.flush();
  const { events } = await bw.services.eventStore.query({ clientIp: '192.0.2.44' });
  assert.equal(events.length, 1, 'only the non-allow request is recorded (sampleAllowed = 0)');
  const e = events[0]!;
  assert.equal(e.action, 'throttle');
  assert.equal(e.status, 429);
  assert.equal(e.method, 'GET');
  assert.equal(e.target, '/api/search?q=boots');
  assert.equal(e.userAgent, 'evtest/1.0');
  assert.equal(e.category, 'ratelimit');
  assert.deepEqual(e.reasons, ['ratelimit.ev']);
  assert.equal(e.signals[0]!.evidence?.detail?.limit, 1);
  assert.ok(e.apiKey?.startsWith('sk_t…'));
  assert.ok(Math.abs(e.time - Date.now()) < 60_000);
  // Really on disk, in the data directory's database.
  const db = openDatabase(join(bw.dataDir, 'bulwark.db'));
  t.after(() => db.close());
  const row = db.prepare('SELECT action, client_ip, api_key FROM events WHERE id = ?').get(e.id) as { action: string; client_ip: string; api_key: string };
  assert.deepEqual({ ...row }, { action: 'throttle', client_ip: '192.0.2.44', api_key: e.apiKey });
  // Full-text search over the target.
  assert.equal((await bw.services.eventStore.query({ text: 'boots' })).events.length, 1);
});
