import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startTestBulwark, send } from './helpers/index.ts';
import type { SecurityEvent } from '../src/events/types.ts';

/** One request per client per minute: the second request of the same client key is throttled. */
const ONE_PER_MINUTE = { rateLimits: [{ id: 'one', limit: 1, window: '1m', burst: 1 }], events: { sampleAllowed: 1 } };

async function events(bw: { services: { events: { flush(): Promise<void> }; eventStore: { query(q: object): Promise<{ events: SecurityEvent[] }> } } }): Promise<SecurityEvent[]> {
  await bw.services.events.flush();
  return (await bw.services.eventStore.query({ limit: 1000 })).events;
}

test('untrusted peer: spoofed X-Forwarded-For is ignored (limits apply to the socket address)', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: ONE_PER_MINUTE });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const a = await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '203.0.113.1' } });
  const b = await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '203.0.113.2' } });
  const c = await send(bw.gatewayUrl, '/', { headers: { forwarded: 'for=203.0.113.3' } });
  assert.equal(a.status, 200);
  assert.equal(b.status, 429, 'rotating a spoofed XFF does not escape the per-IP limit');
  assert.equal(c.status, 429);
  assert.equal(b.headers['content-type'], 'application/problem+json');
  assert.ok(Number(b.headers['retry-after']) >= 1, 'Retry-After on 429');
  assert.equal(b.json().status, 429);
  const ev = await events(bw);
  assert.ok(ev.length >= 3);
  for (const e of ev) {
    assert.equal(e.clientIp, '127.0.0.1');
    assert.equal(e.clientKey, '127.0.0.1');
  }
  assert.ok(ev.some((e) => e.action === 'throttle' && e.status === 429));
});

test('trusted proxy: the right-most untrusted XFF hop is the client', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...ONE_PER_MINUTE, trustedProxies: ['127.0.0.1/32', '10.0.0.0/8'] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '203.0.113.1' } })).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '203.0.113.2' } })).status, 200);
  // a client-supplied left-most entry does not help: the client is the right-most untrusted hop
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.2, 10.1.2.3' } })).status, 429);
  // only X-Forwarded-For is read (clientIp.forwardedHeader): a Forwarded header is the proxy's own request
  // no header from a trusted proxy: the proxy itself is the client
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { forwarded: 'for=203.0.113.4;proto=https' } })).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/')).status, 429);
  const ips = new Set((await events(bw)).map((e) => e.clientIp));
  assert.deepEqual([...ips].sort(), ['127.0.0.1', '203.0.113.1', '203.0.113.2']);
  // the upstream sees the XFF chain with the proxy appended, and the trusted proxy's X-Forwarded-Proto
  await send(bw.gatewayUrl, '/', { headers: { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https' } });
  const h = up.requests.at(-1)!.headers;
  assert.equal(h['x-forwarded-for'], '198.51.100.1, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'https');
});

test('IPv6 clients share limits per /64 (configurable prefix)', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...ONE_PER_MINUTE, trustedProxies: ['127.0.0.1'] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const xff = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
  assert.equal((await send(bw.gatewayUrl, '/', xff('2001:db8:1:2::1'))).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/', xff('2001:db8:1:2:ffff:ffff:ffff:ffff'))).status, 429, 'same /64');
  assert.equal((await send(bw.gatewayUrl, '/', xff('2001:db8:1:3::1'))).status, 200, 'other /64');
  assert.equal((await send(bw.gatewayUrl, '/', xff('::ffff:192.0.2.1'))).status, 200, 'IPv4-mapped counts as IPv4');
  assert.equal((await send(bw.gatewayUrl, '/', xff('192.0.2.1'))).status, 429);
  const ev = await events(bw);
  const e = ev.find((x) => x.clientIp === '2001:db8:1:2:ffff:ffff:ffff:ffff')!;
  assert.equal(e.clientKey, '2001:db8:1:2::/64');

  await bw.reload({ ...ONE_PER_MINUTE, trustedProxies: ['127.0.0.1'], clientIp: { ipv6PrefixLength: 48 } } as never);
  assert.equal((await send(bw.gatewayUrl, '/', xff('2001:db8:5:1::1'))).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/', xff('2001:db8:5:2::1'))).status, 429, 'same /48 after reload');
});

test('clientIp.forwardedHeader: forwarded reads RFC 7239 Forwarded only; a client-sent X-Forwarded-For is ignored', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...ONE_PER_MINUTE, trustedProxies: ['127.0.0.1/32'], clientIp: { forwardedHeader: 'forwarded' } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { forwarded: 'for=203.0.113.4;proto=https' } })).status, 200);
  // the proxy writes Forwarded; a spoofed X-Forwarded-For next to it changes nothing
  assert.equal((await send(bw.gatewayUrl, '/', { headers: { forwarded: 'for=203.0.113.4', 'x-forwarded-for': '198.51.100.1' } })).status, 429);
  const ips = new Set((await events(bw)).map((e) => e.clientIp));
  assert.deepEqual([...ips], ['203.0.113.4']);
});
