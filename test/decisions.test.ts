import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startUpstream, startTestBulwark, send, tempDir } from './helpers/index.ts';

test('a ban survives a gateway restart with the same dataDir; an expired one does not', async (t) => {
  const up = await startUpstream();
  const dataDir = await tempDir();
  t.after(async () => {
    await up.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const policy = { trustedProxies: ['127.0.0.1/32'], rateLimits: [{ id: 'tiny', limit: 1, window: '1m', action: 'ban', banDuration: '1h' }] };
  const first = await startTestBulwark({ upstream: up.url, policy, dataDir });
  const xff = { 'x-forwarded-for': '198.51.100.33' };
  assert.equal((await send(first.gatewayUrl, '/api/balance', { headers: xff })).status, 200);
  assert.equal((await send(first.gatewayUrl, '/api/balance', { headers: xff })).status, 403);
  first.services.decisions.add({ scope: 'ip', value: '198.51.100.34', type: 'ban', origin: 'manual', source: 'op', reason: 'short', durationMs: 200 });
  await first.stop();
  await new Promise((r) => setTimeout(r, 250));

  const second = await startTestBulwark({ upstream: up.url, policy, dataDir });
  t.after(() => second.stop());
  const r = await send(second.gatewayUrl, '/api/products', { headers: xff });
  assert.equal(r.status, 403, 'ban restored from SQLite');
  assert.match(String(r.headers['content-type']), /application\/problem\+json/);
  assert.equal((await send(second.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '198.51.100.34' } })).status, 200, 'expired ban not restored');
  assert.equal(second.services.decisions.list().length, 1);
});

test('manual throttle decision answers 429 with Retry-After until it expires; unban lifts it', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const d = bw.services.decisions.add({ scope: 'range', value: '192.0.2.0/24', type: 'throttle', origin: 'manual', source: 'op', reason: 'noisy', durationMs: 30_000 });
  const r = await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '192.0.2.200' } });
  assert.equal(r.status, 429);
  const ra = Number(r.headers['retry-after']);
  assert.ok(ra >= 29 && ra <= 30, `retry-after ${ra}`);
  await bw.services.decisions.remove(d.id);
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '192.0.2.200' } })).status, 200);
});
