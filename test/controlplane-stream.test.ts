import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../src/events/record.ts';
import { startControlPlane } from '../src/controlplane/testing.ts';
import { MAX_STREAMS_PER_PRINCIPAL } from '../src/controlplane/routes/stream.ts';

/** Reads SSE messages from a fetch response body. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  const messages: { event: string; data: any; comment?: string }[] = [];
  let done = false;
  void (async () => {
    for (;;) {
      const { value, done: d } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (d) {
        done = true;
        return;
      }
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.startsWith(':')) {
          messages.push({ event: '', data: undefined, comment: block.slice(1).trim() });
          continue;
        }
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        messages.push({ event, data: JSON.parse(data) });
      }
    }
  })();
  return {
    messages,
    get done() {
      return done;
    },
    async waitFor(pred: (m: { event: string; data: any }) => boolean, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const m = messages.find(pred);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`SSE message not received; got ${messages.map((m) => m.event).join(',')}`);
    },
    cancel: () => reader.cancel(),
  };
}

test('control plane live stream: auth, hello, events, decisions, per-second counters', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');

  // unauthenticated: 401 problem, not a stream
  const un = await fetch(cp.base + '/api/v1/stream');
  assert.equal(un.status, 401);
  await un.text();

  // token-authenticated stream (as automation would), viewer role is enough
  const tok = await admin.req('POST', '/api/v1/tokens', { name: 'sse', role: 'viewer' });
  const res = await fetch(cp.base + '/api/v1/stream', { headers: { authorization: `Bearer ${tok.json.token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const sse = sseReader(res.body!);
  t.after(() => sse.cancel());
  const hello = await sse.waitFor((m) => m.event === 'hello');
  assert.equal(hello.data.principal.name, 'token:sse');
  assert.equal(hello.data.principal.role, 'viewer');

  // cookie-authenticated stream too (EventSource sends the cookie), filtered to decisions
  const res2 = await fetch(cp.base + '/api/v1/stream?types=decision', { headers: { cookie: admin.cookie! } });
  assert.equal(res2.status, 200);
  const sse2 = sseReader(res2.body!);
  t.after(() => sse2.cancel());
  await sse2.waitFor((m) => m.event === 'hello');

  // a decision made through the API appears on both streams
  const d = await admin.req('POST', '/api/v1/decisions', { scope: 'ip', value: '192.0.2.99', type: 'ban', ttlS: 60, reason: 'live' });
  const put = await sse.waitFor((m) => m.event === 'decision' && m.data.op === 'put');
  assert.equal(put.data.decision.id, d.json.id);
  await sse2.waitFor((m) => m.event === 'decision' && m.data.decision?.id === d.json.id);
  await admin.req('DELETE', `/api/v1/decisions/${d.json.id}`);
  await sse.waitFor((m) => m.event === 'decision' && m.data.op === 'delete' && m.data.id === d.json.id);

  // a security event pushed by the data plane's sink
  const now = Date.now();
  cp.bw.services.events.push({
    id: uuidv7(now), time: now, requestId: 'live-1', clientIp: '192.0.2.5', clientKey: '192.0.2.5', method: 'GET', target: '/api/x?<script>',
    status: 403, action: 'block', wouldBe: 'block', monitor: false, anomalyScore: 5, risk: 0.6, level: 'HIGH', signals: [], reasons: ['xss.941100'], latencyMs: 1,
  });
  const ev = await sse.waitFor((m) => m.event === 'event');
  assert.equal(ev.data.requestId, 'live-1');
  assert.equal(ev.data.target, '/api/x?<script>', 'sent as JSON data, rendered as text by the client');

  // real traffic through the gateway shows up in the per-second counters
  for (let i = 0; i < 3; i++) await (await fetch(cp.bw.gatewayUrl + '/api/products')).text();
  const c = await sse.waitFor((m) => m.event === 'counters' && m.data.allowed >= 1, 5000);
  assert.equal(typeof c.data.t, 'number');
  assert.equal(sse2.messages.some((m) => m.event === 'counters' || m.event === 'event'), false, 'type filter applied');
});

test('live stream: at most MAX_STREAMS_PER_PRINCIPAL open streams per user or token, so one viewer cannot take every slot', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  const tok = (await admin.req('POST', '/api/v1/tokens', { name: 'greedy', role: 'viewer' })).json.token as string;
  const open: ReadableStreamDefaultReader<Uint8Array>[] = [];
  t.after(async () => {
    for (const r of open) await r.cancel().catch(() => undefined);
  });
  for (let i = 0; i < MAX_STREAMS_PER_PRINCIPAL; i++) {
    const res = await fetch(cp.base + '/api/v1/stream', { headers: { authorization: `Bearer ${tok}` } });
    assert.equal(res.status, 200);
    open.push(res.body!.getReader());
  }
  const over = await fetch(cp.base + '/api/v1/stream', { headers: { authorization: `Bearer ${tok}` } });
  assert.equal(over.status, 429);
  assert.equal(((await over.json()) as { code: string }).code, 'BWK_RATE_LIMITED');
  // another principal still gets a stream
  const res = await fetch(cp.base + '/api/v1/stream', { headers: { cookie: admin.cookie! } });
  assert.equal(res.status, 200);
  open.push(res.body!.getReader());
  // closing one frees a slot for the token
  await open.shift()!.cancel();
  let again = 0;
  for (let i = 0; i < 50 && again !== 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const r2 = await fetch(cp.base + '/api/v1/stream', { headers: { authorization: `Bearer ${tok}` } });
    again = r2.status;
    if (r2.status === 200) open.push(r2.body!.getReader());
    else await r2.text();
  }
  assert.equal(again, 200);
});
