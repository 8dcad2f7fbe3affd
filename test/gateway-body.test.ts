import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { connect, type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { readBodyPrefix } from '../src/dataplane/body.ts';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Detector } from '../src/core/detector.ts';
import type { RequestContext } from '../src/core/context.ts';
import { startUpstream, startTestBulwark, send, sendRaw } from './helpers/index.ts';

const NO_LIMITS = { rateLimits: [] };
const MiB = 1024 * 1024;

/** A detector that needs the body and blocks when the inspected prefix contains `EVIL`. */
function bodyProbe(seen: { bytes: number; truncated: boolean; declared?: number }[]): Detector {
  return {
    name: 'test-body-probe',
    needsBody: true,
    inspectBody(ctx: RequestContext) {
      const b = ctx.body!;
      seen.push({ bytes: b.bytes.length, truncated: b.truncated, declared: b.declaredLength });
      if (b.bytes.includes('EVIL')) return { ruleId: 'test.evil', detector: 'test-body-probe', category: 'test', score: 0, action: 'block' };
    },
  };
}

/** A lazily generated body of `total` bytes (one 64 KiB buffer reused), so the test itself holds no copy. */
function lazyBody(total: number, fill = 0x61, progress?: { sent: number }): Readable {
  const chunk = Buffer.alloc(64 * 1024, fill);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return this.push(null);
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (progress) progress.sent = sent;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Live memory of this process (heapUsed + arrayBuffers, bytes) after forced collections. Array buffers are
 * released by V8's concurrent sweeper, so a few collections with short pauses between let them settle.
 */
async function liveMemory(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Live memory (bytes) at `atMs` into a stall. Measured while no party moves data, so in-flight garbage of the
 * test's own client and upstream (same process) does not count: what is left is what the gateway and the
 * socket ends hold. Compare it with {@link liveMemory} before and after the exchange: a buffering proxy would
 * hold the whole 50 MiB here.
 */
function memoryAt(atMs: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => void liveMemory().then(resolve), atMs));
}

test('body inspection sees the prefix; small bodies are forwarded whole', async (t) => {
  const seen: { bytes: number; truncated: boolean; declared?: number }[] = [];
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...NO_LIMITS, body: { inspectLimitBytes: 1024 } }, detectors: () => [bodyProbe(seen)] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const ok = await send(bw.gatewayUrl, '/small', { method: 'POST', body: 'hello world' });
  assert.equal(ok.status, 200);
  assert.deepEqual(seen.at(-1), { bytes: 11, truncated: false, declared: 11 });
  assert.equal(up.requests.at(-1)!.body.toString(), 'hello world');

  const blocked = await send(bw.gatewayUrl, '/small', { method: 'POST', body: 'xx EVIL xx' });
  assert.equal(blocked.status, 403);
  assert.equal(blocked.headers['content-type'], 'application/problem+json');
  assert.equal(up.requests.length, 1, 'blocked request never reaches the upstream');

  // larger than the limit: only the prefix is inspected, the whole body still reaches the upstream in order
  const big = Buffer.alloc(300 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26);
  const r = await send(bw.gatewayUrl, '/big', { method: 'PUT', body: big });
  assert.equal(r.status, 200);
  assert.deepEqual(seen.at(-1), { bytes: 1024, truncated: true, declared: big.length });
  assert.ok(up.requests.at(-1)!.body.equals(big), 'prefix + rest forwarded byte for byte');

  // EVIL past the inspection limit is not seen (documented prefix semantics)
  const late = Buffer.concat([Buffer.alloc(4096, 0x61), Buffer.from('EVIL')]);
  assert.equal((await send(bw.gatewayUrl, '/late', { method: 'POST', body: late })).status, 200);

  // chunked body
  const chunked = await send(bw.gatewayUrl, '/chunked', { method: 'POST', body: Readable.from([Buffer.from('part1-'), Buffer.from('EVIL')]) });
  assert.equal(chunked.status, 403);
  assert.equal(seen.at(-1)!.declared, undefined);
});

test('oversize: reject answers 413 and closes the connection', async (t) => {
  const up = await startUpstream();
  const bw = await startTestBulwark({ upstream: up.url, policy: { ...NO_LIMITS, body: { inspectLimitBytes: 1024, oversize: 'reject' } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const r = await send(bw.gatewayUrl, '/up', { method: 'POST', body: Buffer.alloc(5000, 0x61) });
  assert.equal(r.status, 413);
  assert.equal(r.json().type, 'urn:bulwark:problem:body-too-large');
  const chunked = await send(bw.gatewayUrl, '/up', { method: 'POST', body: lazyBody(10_000) });
  assert.equal(chunked.status, 413);
  assert.equal((await send(bw.gatewayUrl, '/up', { method: 'POST', body: Buffer.alloc(1024, 0x61) })).status, 200);
  assert.equal(up.requests.length, 1);
  await bw.services.events.flush();
  const ev = (await bw.services.eventStore.query({ limit: 10 })).events;
  const rejected = ev.filter((e) => e.reasons.includes('gateway.body-too-large'));
  assert.equal(rejected.length, 2, 'each 413 is a security event');
  assert.ok(rejected.every((e) => e.status === 413 && e.action === 'block'));
});

test('streams a 50 MB request body without buffering it (with body inspection on)', async (t) => {
  const seen: { bytes: number; truncated: boolean; declared?: number }[] = [];
  let upstreamBytes = 0;
  // the upstream does not read for 1 s: without backpressure the gateway would have to hold the body
  const up = await startUpstream({
    handler: (req, res) => {
      req.pause();
      setTimeout(() => {
        req.on('data', (c: Buffer) => (upstreamBytes += c.length));
        req.on('end', () => res.end('done'));
        req.resume();
      }, 1000);
    },
  });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS, detectors: () => [bodyProbe(seen)] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const total = 50 * MiB;
  const progress = { sent: 0 };
  let status = 0;
  let sentWhileStalled = 0;
  const baseline = await liveMemory();
  const stalled = setTimeout(() => (sentWhileStalled = progress.sent), 800);
  const atStall = memoryAt(850);
  const r = await send(bw.gatewayUrl, '/upload', { method: 'POST', body: lazyBody(total, 0x61, progress), headers: { 'content-length': String(total) } });
  status = r.status;
  // the level before the exchange can hold a previous test's garbage that is only released later: take the lower
  const growth = (await atStall) - Math.min(baseline, await liveMemory());
  clearTimeout(stalled);
  assert.equal(status, 200);
  assert.equal(upstreamBytes, total, 'upstream received every byte');
  // socket buffers on two loopback hops hold a few MB; a buffering proxy would have taken all 50 MB
  t.diagnostic(`stalled upstream: client sent ${(sentWhileStalled / MiB).toFixed(1)} MiB; live memory at the stall +${(growth / MiB).toFixed(1)} MiB`);
  assert.ok(sentWhileStalled > 0 && sentWhileStalled < 30 * MiB, `client could send ${(sentWhileStalled / MiB).toFixed(1)} MiB while the upstream was not reading`);
  assert.equal(seen.at(-1)!.truncated, true);
  assert.equal(seen.at(-1)!.bytes, 64 * 1024);
  assert.ok(growth < 25 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB while stalled with 50 MiB to stream`);
});

test('streams a 50 MB response body without buffering it', async (t) => {
  const total = 50 * MiB;
  const progress = { sent: 0 };
  const up = await startUpstream({
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      lazyBody(total, 0x62, progress).pipe(res);
    },
  });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  let received = 0;
  let producedWhileStalled = 0;
  const { request } = await import('undici');
  const baseline = await liveMemory();
  const r = await request(bw.gatewayUrl + '/download', { reset: true });
  assert.equal(r.statusCode, 200);
  // a slow client: nothing read for 800 ms; backpressure must stop the upstream, not fill the gateway
  const atStall = await memoryAt(800);
  producedWhileStalled = progress.sent;
  for await (const c of r.body) received += (c as Buffer).length;
  const growth = atStall - Math.min(baseline, await liveMemory());
  t.diagnostic(`stalled client: upstream produced ${(producedWhileStalled / MiB).toFixed(1)} MiB; live memory at the stall +${(growth / MiB).toFixed(1)} MiB`);
  assert.ok(producedWhileStalled < 30 * MiB, `upstream could produce ${(producedWhileStalled / MiB).toFixed(1)} MiB while the client was not reading`);
  assert.equal(received, total);
  assert.ok(growth < 25 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB while stalled with 50 MiB to stream`);
});

test('client aborting mid-upload does not crash the gateway', async (t) => {
  const up = await startUpstream({ keepBodyBytes: 0 });
  const bw = await startTestBulwark({ upstream: up.url, policy: NO_LIMITS, detectors: () => [bodyProbe([])] });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  // declares 1 MB, sends 10 KB, then the socket is destroyed by the short timeout
  await sendRaw(port, `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(10_000)}`, 300);
  // headers-only then gone, during forwarding (no body inspection needed for GET)
  await sendRaw(port, 'GET /y HTTP/1.1\r\nHost: a\r\n\r\n', 1);
  const ok = await send(bw.gatewayUrl, '/after');
  assert.equal(ok.status, 200);
});

test('a body dripped slower than proxy.minBodyRate gets 408 and an event; the upstream connection is freed', async (t) => {
  const up = await startUpstream();
  // one upstream connection: while the slow upload holds it, nobody else gets through
  const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [], proxy: { connections: 1, minBodyRate: 500, minBodyRateWindow: '1s' } } });
  t.after(async () => {
    await bw.stop();
    await up.close();
  });
  const port = Number(new URL(bw.gatewayUrl).port);
  const sock = connect(port, '127.0.0.1');
  t.after(() => sock.destroy());
  await once(sock, 'connect');
  let reply = '';
  sock.setEncoding('latin1').on('data', (d: string) => (reply += d));
  // past the 64 KiB inspection prefix quickly (so the body streams upstream), then 20 bytes/s
  sock.write(`POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 200000\r\n\r\n`);
  sock.write(Buffer.alloc(70_000, 0x61));
  const drip = setInterval(() => sock.writable && sock.write('a'), 50);
  t.after(() => clearInterval(drip));
  const t0 = performance.now();
  await Promise.race([once(sock, 'close'), new Promise((r) => setTimeout(r, 8000))]);
  clearInterval(drip);
  assert.match(reply, /^HTTP\/1\.1 408 /, reply.slice(0, 200));
  assert.match(reply, /application\/problem\+json/);
  assert.ok(performance.now() - t0 < 5000, 'within a few windows');
  // the upstream connection is free again
  assert.equal((await send(bw.gatewayUrl, '/api/products')).status, 200);
  // an upload at full speed is not affected
  assert.equal((await send(bw.gatewayUrl, '/api/upload', { method: 'POST', body: Buffer.alloc(200_000, 0x62) })).status, 200);
  await bw.services.events.flush();
  const ev = await bw.services.eventStore.query({ ruleId: 'gateway.slow-body' });
  assert.equal(ev.events.length, 1);
  assert.equal(ev.events[0]!.status, 408);
});

test('readBodyPrefix on a request whose client already left resolves at once (no wait for the body timeout)', async (t) => {
  let resolveResult!: (r: { error?: Error; ms: number }) => void;
  const result = new Promise<{ error?: Error; ms: number }>((r) => (resolveResult = r));
  const server = createServer((req) => {
    req.once('close', () => {
      // as after an asynchronous request phase: the client's 'close' fired before the body read starts
      const t0 = performance.now();
      void readBodyPrefix(req, 65_536, 10_000).then((r) => resolveResult({ error: r.error, ms: performance.now() - t0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const sock = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc');
  await new Promise((r) => setTimeout(r, 100));
  sock.destroy();
  const r = await result;
  assert.match(String(r.error?.message), /aborted/);
  assert.ok(r.ms < 1000, `${r.ms} ms`);
});
