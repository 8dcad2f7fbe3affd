import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startUpstream, startTestBulwark, send, sendRaw, getText, deadPort, metricValue } from './helpers/index.ts';

const NO_LIMITS = { rateLimits: [] };

test('forwards methods, raw targets, bodies and status codes', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const body = method === 'GET' || method === 'OPTIONS' || method === 'DELETE' ? undefined : `payload-${method}`;
    const r = await send(bw.gatewayUrl, '/a/b%20c?x=%27&y=1', { method, body, headers: body ? { 'content-type': 'text/plain' } : {} });
    assert.equal(r.status, 200, method);
    const rec = up.requests.at(-1)!;
    assert.equal(rec.method, method);
    assert.equal(rec.url, '/a/b%20c?x=%27&y=1', 'request-target forwarded unchanged');
    assert.equal(rec.body.toString(), body ?? '');
  }
  const head = await send(bw.gatewayUrl, '/h', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('relays upstream status codes and response headers', async (t) => {
  const up = await startUpstream({ status: 418, responseHeaders: { 'x-upstream': 'yes', 'set-cookie': ['a=1', 'b=2'], 'keep-alive': 'timeout=5', connection: 'x-secret-hop', 'x-secret-hop': 'drop me' } });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const r = await send(bw.gatewayUrl, '/teapot');
  assert.equal(r.status, 418);
  assert.equal(r.headers['x-upstream'], 'yes');
  assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(r.headers['x-secret-hop'], undefined, 'headers named by Connection are hop-by-hop');
  assert.equal(r.headers['keep-alive'], undefined);
});

test('strips hop-by-hop request headers and appends forwarding headers', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const raw =
    'GET /hdr HTTP/1.1\r\nHost: shop.example\r\nConnection: close, X-Hop-A\r\nX-Hop-A: 1\r\nKeep-Alive: timeout=5\r\n' +
    'Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Forwarded-For: 203.0.113.9\r\nForwarded: for=203.0.113.9\r\n' +
    'X-Forwarded-Proto: https\r\nX-Keep: kept\r\n\r\n';
  const r = await sendRaw(port, raw);
  assert.equal(r.status, 200);
  const h = up.requests.at(-1)!.headers;
  for (const name of ['x-hop-a', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'transfer-encoding'])
    assert.equal(h[name], undefined, `${name} must not be forwarded`);
  assert.equal(h['x-keep'], 'kept');
  assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'peer appended to X-Forwarded-For');
  assert.equal(h.forwarded, 'for=203.0.113.9, for=127.0.0.1;proto=http;host=shop.example');
  assert.equal(h['x-forwarded-proto'], 'http', 'untrusted peer cannot set X-Forwarded-Proto');
  assert.equal(h['x-forwarded-host'], 'shop.example');
  assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-request-id'], undefined, 'upstream answer relayed as is');
});

test('reuses a safe client X-Request-Id and replaces an unsafe one', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  await send(bw.gatewayUrl, '/', { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(up.requests.at(-1)!.headers['x-request-id'], 'abc-123');
  await send(bw.gatewayUrl, '/', { headers: { 'x-request-id': '<script>alert(1)</script>' } });
  assert.notEqual(up.requests.at(-1)!.headers['x-request-id'], '<script>alert(1)</script>');
});

test('upstream down answers 502 problem+json and counts the error', async (t) => {
  const port = await deadPort();
  const bw = await startTestBulwark({ upstream: `http://127.0.0.1:${port}`, policy: NO_LIMITS });
  t.after(() => bw.stop());
  const r = await send(bw.gatewayUrl, '/x?<b>=1');
  assert.equal(r.status, 502);
  assert.equal(r.headers['content-type'], 'application/problem+json');
  const p = r.json();
  assert.equal(p.status, 502);
  assert.equal(p.type, 'urn:bulwark:problem:upstream-unavailable');
  assert.equal(p.title, 'Bad Gateway');
  assert.equal(typeof p.detail, 'string');
  assert.equal(p.instance, r.headers['x-request-id']);
  assert.ok(!r.body.includes('<b>'), 'request data is not echoed');
  const ready = await getText(bw.adminUrl + '/readyz');
  assert.equal(ready.status, 503);
  assert.equal(JSON.parse(ready.body).checks.upstream.ok, false);
  const m = await getText(bw.adminUrl + '/metrics');
  assert.equal(metricValue(m.body, 'bulwark_upstream_errors_total', 'kind="connect"'), 1);
  // still serving after the failure
  const again = await send(bw.gatewayUrl, '/');
  assert.equal(again.status, 502);
});

test('slow upstream answers 504 after proxy.headersTimeout', async (t) => {
  const up = await startUpstream({ delayMs: 3000 });
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...NO_LIMITS, proxy: { headersTimeout: '300ms' } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const t0 = performance.now();
  const r = await send(bw.gatewayUrl, '/slow');
  const took = performance.now() - t0;
  assert.equal(r.status, 504);
  assert.equal(r.json().type, 'urn:bulwark:problem:upstream-timeout');
  assert.ok(took < 2500, `answered after ${took} ms`);
});

test('admin listener: healthz, readyz, metrics', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await getText(bw.adminUrl + '/healthz')).status, 200);
  const ready = await getText(bw.adminUrl + '/readyz');
  assert.equal(ready.status, 200);
  assert.deepEqual(Object.keys(JSON.parse(ready.body).checks).sort(), ['policy', 'store', 'upstream']);
  await send(bw.gatewayUrl, '/');
  await send(bw.gatewayUrl, '/');
  const m = await getText(bw.adminUrl + '/metrics');
  assert.equal(m.status, 200);
  assert.equal(metricValue(m.body, 'bulwark_requests_total', 'action="allow"'), 2);
  assert.ok(metricValue(m.body, 'bulwark_upstream_latency_seconds_count', 'status_class="2xx"') >= 2);
  assert.ok(metricValue(m.body, 'bulwark_inspection_seconds_count') >= 2);
  assert.ok(m.body.includes('bulwark_event_queue_depth'));
  assert.ok(m.body.includes('bulwark_process_resident_memory_bytes'));
});

test('malformed requests get 400 and the gateway keeps serving', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const bad = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers['content-type'], 'application/problem+json');
  const smuggle = await sendRaw(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.equal(smuggle.status, 400, 'CL + TE together is rejected (request smuggling)');
  const ok = await send(bw.gatewayUrl, '/');
  assert.equal(ok.status, 200);
});

test('absolute-form targets are forwarded in origin-form; asterisk-form gets 400', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const abs = await sendRaw(port, 'GET http://elsewhere.example/a/b?c=%20d HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n');
  assert.equal(abs.status, 200);
  assert.equal(up.requests.at(-1)!.url, '/a/b?c=%20d');
  const star = await sendRaw(port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(star.status, 400);
  assert.equal(star.headers['content-type'], 'application/problem+json');
  assert.equal(up.requests.length, 1);
});

test('detectors see an absolute-form target\'s path: a honeypot probe is caught in either form', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [] } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const probe = (target: string, ip: string) => sendRaw(port, `GET ${target} HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: ${ip}\r\nConnection: close\r\n\r\n`);
  assert.equal((await probe('/api/admin/users', '192.0.2.1')).status, 403, 'origin-form honeypot');
  assert.equal((await probe('http://shop.example/api/admin/users', '192.0.2.2')).status, 403, 'absolute-form honeypot');
  assert.equal((await probe('http://shop.example/api/products', '192.0.2.2')).status, 403, 'and the prober is banned');
  assert.equal((await probe('http://shop.example/api/products', '192.0.2.3')).status, 200);
  await bw.services.events.flush();
  const ev = (await bw.services.eventStore.query({ clientIp: '192.0.2.2' })).events.at(-1)!;
  assert.equal(ev.target, 'http://shop.example/api/admin/users', 'events keep the request-target as received');
});

test('a client that disconnects mid-download aborts the upstream exchange', async (t) => {
  let upstreamClosed: () => void = () => {};
  const closed = new Promise<void>((r) => (upstreamClosed = r));
  const up = await startUpstream({
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosed();
      });
    },
  });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const r = await sendRaw(port, 'GET /endless HTTP/1.1\r\nHost: x\r\n\r\n', 300);
  assert.equal(r.status, 200);
  await closed; // the gateway closed its upstream request after the client went away
  assert.equal((await getText(bw.adminUrl + '/healthz')).status, 200);
  const m = await getText(bw.adminUrl + '/metrics');
  assert.equal(metricValue(m.body, 'bulwark_requests_total', 'action="allow"'), 1, 'the aborted exchange completed its bookkeeping');
});

test('Expect: 100-continue is answered by the gateway and the body forwarded', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const { connect } = await import('node:net');
  const s = connect({ port, host: '127.0.0.1' });
  let text = '';
  s.on('data', (c: Buffer) => {
    text += c.toString();
    if (text.includes('100 Continue') && !text.includes('sent')) {
      text += 'sent';
      s.write('hello');
    }
  });
  s.write('POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
  await new Promise((r) => s.on('close', r));
  assert.match(text, /HTTP\/1\.1 100 Continue/);
  assert.match(text, /HTTP\/1\.1 200 OK/);
  assert.equal(up.requests.at(-1)!.body.toString(), 'hello');
  assert.equal(up.requests.at(-1)!.headers.expect, undefined);
});

test('detectors that throw or reject are counted and the request continues', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: NO_LIMITS,
    detectors: () => [
      { name: 'test-throws', inspectRequest: () => { throw new Error('boom'); } },
      { name: 'test-rejects', inspectRequest: () => Promise.reject(new Error('async boom')) },
      { name: 'test-needs-body', needsBody: true, inspectBody: () => { throw new Error('body boom'); } },
      { name: 'test-observe', observeResponse: () => { throw new Error('late boom'); } },
    ],
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  assert.equal((await send(bw.gatewayUrl, '/a')).status, 200);
  assert.equal((await send(bw.gatewayUrl, '/b', { method: 'POST', body: 'x' })).status, 200);
  const m = (await getText(bw.adminUrl + '/metrics')).body;
  assert.equal(metricValue(m, 'bulwark_detector_errors_total', 'detector="test-throws"'), 2);
  assert.equal(metricValue(m, 'bulwark_detector_errors_total', 'detector="test-rejects"'), 2);
  assert.equal(metricValue(m, 'bulwark_detector_errors_total', 'detector="test-needs-body"'), 1);
  assert.equal(metricValue(m, 'bulwark_detector_errors_total', 'detector="test-observe"'), 2);
});

test('response phase gets status, latency, bytes and the requested body sample', async (t) => {
  const up = await startUpstream({ status: 404 });
  const seen: { status: number; bytes: number; byGateway: boolean; sample?: string; latencyMs: number }[] = [];
  const bw = await startTestBulwark({
    upstream: up.url,
    policy: NO_LIMITS,
    detectors: () => [
      {
        name: 'test-sampler',
        inspectRequest(ctx) {
          ctx.wantResponseBody = 9;
        },
        observeResponse(_ctx, res) {
          seen.push({ status: res.status, bytes: res.bytes, byGateway: res.byGateway, sample: res.bodySample?.toString(), latencyMs: res.latencyMs });
        },
      },
    ],
  });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const r = await send(bw.gatewayUrl, '/missing');
  assert.equal(r.status, 404);
  for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.status, 404);
  assert.equal(seen[0]!.byGateway, false);
  assert.equal(seen[0]!.bytes, Buffer.byteLength(r.body));
  assert.equal(seen[0]!.sample, r.body.slice(0, 9));
  assert.ok(seen[0]!.latencyMs > 0);
});

test('a malformed request pipelined behind one still being answered: that response completes, then the connection closes', async (t) => {
  const up = await startUpstream({
    handler: (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '20' });
      res.write('AAAAAAAAAA');
      setTimeout(() => res.end('BBBBBBBBBB'), 300);
    },
  });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const s = connect(Number(new URL(bw.gatewayUrl).port), '127.0.0.1');
  t.after(() => s.destroy());
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'connect');
  s.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  s.write('GET /second HTTP/1.1\r\nHost: x\r\nBad\x01Header: y\r\n\r\n');
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  const out = Buffer.concat(chunks).toString('latin1');
  assert.ok(out.startsWith('HTTP/1.1 200 '), out);
  assert.ok(out.endsWith('\r\n\r\nAAAAAAAAAABBBBBBBBBB'), `the first response is whole and nothing follows it: ${JSON.stringify(out)}`);
  assert.ok(s.destroyed || s.readableEnded, 'closed');
});

test('CONNECT gets 405 problem+json and an event; a header section that times out gets 408 and an event', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...NO_LIMITS, proxy: { clientHeadersTimeout: '1s' } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const c = await sendRaw(port, 'CONNECT internal.example:443 HTTP/1.1\r\nHost: internal.example:443\r\n\r\n');
  assert.equal(c.status, 405);
  assert.equal(c.headers['content-type'], 'application/problem+json');
  // slowloris: the header section never completes
  const s = connect(port, '127.0.0.1');
  t.after(() => s.destroy());
  await once(s, 'connect');
  let reply = '';
  s.setEncoding('latin1').on('data', (d: string) => (reply += d));
  s.write('GET /slow HTTP/1.1\r\nHost: x\r\nX-Drip: ');
  const drip = setInterval(() => s.writable && s.write('a'), 100);
  t.after(() => clearInterval(drip));
  const t0 = performance.now();
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 5000))]);
  clearInterval(drip);
  assert.match(reply, /^HTTP\/1\.1 408 Request Timeout/, reply);
  assert.ok(performance.now() - t0 < 3500, 'within the timeout plus one check interval');
  await bw.services.events.flush();
  assert.equal((await bw.services.eventStore.query({ ruleId: 'gateway.connect-method' })).events[0]?.status, 405);
  assert.equal((await bw.services.eventStore.query({ ruleId: 'gateway.header-timeout' })).events[0]?.status, 408);
  assert.equal(up.requests.length, 0);
});

test('an upstream event stream: response headers reach the client before the first event', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const up = await startUpstream({
    handler: (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.flushHeaders();
      void gate.then(() => res.end('data: hello\n\n'));
    },
  });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    release();
    await bw.stop();
    await up.close();
  });
  const res = await Promise.race([fetch(bw.gatewayUrl + '/events'), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
  assert.ok(res, 'headers arrived while the upstream had sent no event yet');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  release();
  assert.equal(await res.text(), 'data: hello\n\n');
});

test('Expect: 100-continue on a request refused on its headers: the 403 comes without a 100, before any body', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...NO_LIMITS, trustedProxies: ['127.0.0.1/32'], lists: { deny: { ips: ['203.0.113.0/24'] } } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const s = connect(Number(new URL(bw.gatewayUrl).port), '127.0.0.1');
  t.after(() => s.destroy());
  let text = '';
  s.setEncoding('latin1').on('data', (d: string) => (text += d));
  await once(s, 'connect');
  s.write('POST /upload HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n');
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  assert.match(text, /^HTTP\/1\.1 403 /, text.slice(0, 100));
  assert.ok(!text.includes('100 Continue'), 'no go-ahead for a refused upload');
  assert.equal(up.requests.length, 0);
});
