import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../core/context.ts';
import { baselinesSchema } from './schema.ts';
import { BaselineDetector, Baselines } from './detector.ts';
import { Ewma, RollingHistogram } from './stats.ts';

const T0 = 1_700_000_000_000;
const policy = (over: Record<string, unknown> = {}) => baselinesSchema.parse({ interval: '10s', warmup: 20, ...over });

function ctx(target: string, at: number): RequestContext {
  const c = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target, headers: {}, startedAt: at });
  c.route = target;
  return c;
}

test('EWMA mean, variance and z-score', () => {
  const e = new Ewma();
  for (let i = 0; i < 200; i++) e.update(i % 2 === 0 ? 9 : 11, 0.1);
  assert.ok(Math.abs(e.mean - 10) < 0.2, `mean ${e.mean}`);
  assert.ok(e.std > 0.8 && e.std < 1.2, `std ${e.std}`);
  assert.ok(e.z(20, 0.1) > 8);
  assert.ok(Math.abs(e.z(10, 0.1)) < 0.3);
});

test('rolling percentiles within the histogram error bound', () => {
  const h = new RollingHistogram(60_000, T0);
  for (let i = 1; i <= 1000; i++) h.add(i / 10, T0 + i); // 0.1 .. 100 ms uniform
  const p50 = h.percentile(0.5, T0 + 1000)!;
  const p99 = h.percentile(0.99, T0 + 1000)!;
  assert.ok(Math.abs(p50 - 50) / 50 < 0.12, `p50 ${p50}`);
  assert.ok(Math.abs(p99 - 99) / 99 < 0.12, `p99 ${p99}`);
  // after two full windows the data has rolled out
  assert.equal(h.percentile(0.5, T0 + 200_000), undefined);
});

test('a request surge raises a risk-only signal after warm-up; steady traffic does not', () => {
  const b = new Baselines(policy());
  const d = new BaselineDetector(policy(), b);
  let t = T0;
  let signals = 0;
  // 30 intervals of 20–30 requests: no alerts (also none during warm-up)
  for (let iv = 0; iv < 30; iv++) {
    const n = 20 + ((iv * 7) % 11);
    for (let i = 0; i < n; i++) {
      const c = ctx('/api/products', t + (i * 10_000) / n);
      signals += d.inspectRequest(c)?.length ?? 0;
      d.observeResponse(c, { status: 200, latencyMs: 5 + (i % 3), bytes: 100, byGateway: false });
    }
    t += 10_000;
  }
  assert.equal(signals, 0, 'steady traffic raises no alert');
  // a flood: 400 requests in one interval
  let surge;
  for (let i = 0; i < 400; i++) {
    const s = d.inspectRequest(ctx('/api/products', t + i * 20));
    if (s?.length) surge ??= s[0];
  }
  assert.ok(surge, 'surge detected within the interval');
  assert.equal(surge!.ruleId, 'behavior.baseline.surge');
  assert.equal(surge!.score, 0);
  assert.equal(surge!.action, undefined);
  assert.ok((surge!.evidence!.detail!.z as number) > 3);
  const st = b.getStats(t + 9000, 'GET /api/products')[0]!;
  assert.equal(st.alerts.surge, true);
  assert.ok(st.rate.mean > 15 && st.rate.mean < 35);
  assert.ok(st.latency.p50! >= 4 && st.latency.p50! <= 8);
});

test('an error-ratio spike raises a signal', () => {
  const b = new Baselines(policy());
  const d = new BaselineDetector(policy(), b);
  let t = T0;
  for (let iv = 0; iv < 30; iv++) {
    for (let i = 0; i < 20; i++) {
      const c = ctx('/api/login', t + i * 500);
      d.inspectRequest(c);
      d.observeResponse(c, { status: i === 0 ? 401 : 200, latencyMs: 3, bytes: 1, byGateway: false });
    }
    t += 10_000;
  }
  for (let i = 0; i < 20; i++) {
    const c = ctx('/api/login', t + i * 500);
    d.inspectRequest(c);
    d.observeResponse(c, { status: 401, latencyMs: 3, bytes: 1, byGateway: false });
  }
  const s = d.inspectRequest(ctx('/api/login', t + 10_500));
  assert.ok(s?.some((x) => x.ruleId === 'behavior.baseline.error_spike'), 'error spike after the interval closes');
});

test('endpoints tracked are bounded; idle gaps are cheap; hostile routes are fine', () => {
  const b = new Baselines(policy({ maxEndpoints: 50 }));
  const d = new BaselineDetector(policy({ maxEndpoints: 50 }), b);
  const t = performance.now();
  for (let i = 0; i < 5000; i++) d.inspectRequest(ctx('/x/' + i, T0 + i));
  d.inspectRequest(ctx('/x/1', T0 + 365 * 86_400_000));
  d.inspectRequest(ctx('/' + 'a'.repeat(65536), T0));
  assert.equal(b.size, 50);
  assert.ok(performance.now() - t < 2000);
});
