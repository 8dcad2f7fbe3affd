import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startTestBulwark, send } from './helpers/index.ts';

test('allow list: counted (RateLimit headers) but never throttled; deny list: 403 (IP, CIDR, API key)', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: {
      trustedProxies: ['127.0.0.1/32'],
      rateLimits: [{ id: 'tiny', limit: 3, window: '1m' }],
      lists: { allow: { ips: ['10.0.0.0/8'] }, deny: { ips: ['203.0.113.0/24', '10.9.9.9'], apiKeys: ['revoked-0123456789'] } },
    },
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  for (let i = 0; i < 10; i++) {
    const r = await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '10.1.2.3' } });
    assert.equal(r.status, 200, `allow-listed request ${i + 1}`);
    // Counted: the quota of 3 is used up by the first three requests (GCRA refills one per 20 s).
    if (i >= 3) assert.match(String(r.headers['ratelimit']), /^"tiny";r=0;t=\d+$/, 'still counted');
    else assert.match(String(r.headers['ratelimit']), new RegExp(`^"tiny";r=${2 - i};t=\\d+$`));
  }
  const denied = await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '203.0.113.50' } });
  assert.equal(denied.status, 403);
  assert.match(String(denied.headers['content-type']), /application\/problem\+json/);
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '10.9.9.9' } })).status, 403, 'a /32 deny inside the allowed /8');
  assert.equal((await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': '192.0.2.1', 'x-api-key': 'revoked-0123456789' } })).status, 403);
  await bw.services.events.flush();
  const ev = await bw.services.eventStore.query({ ruleId: 'lists.deny' });
  assert.equal(ev.events.length, 3);
  assert.ok(!JSON.stringify(ev.events).includes('revoked-0123456789'), 'API key never stored in clear');
  assert.equal(ev.events.find((e) => e.apiKey)?.apiKey?.startsWith('revo…'), true);
});

test('deny list: an IPv4-mapped IPv6 CIDR matches IPv4 clients, written in dotted or hex form', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [], lists: { deny: { ips: ['::ffff:203.0.113.0/120', '::ffff:c633:6400/120'] } } },
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const status = async (ip: string) => (await send(bw.gatewayUrl, '/api/products', { headers: { 'x-forwarded-for': ip } })).status;
  assert.equal(await status('203.0.113.9'), 403, 'dotted ::ffff:203.0.113.0/120 = 203.0.113.0/24');
  assert.equal(await status('198.51.100.9'), 403, 'hex ::ffff:c633:6400/120 = 198.51.100.0/24');
  assert.equal(await status('203.0.114.9'), 200);
});
