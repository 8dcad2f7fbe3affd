import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../../core/context.ts';
import { IsolationForest, cFactor, mulberry32 } from './forest.ts';
import { anomalyModelSchema } from './schema.ts';
import { AnomalyDetector, AnomalyModel } from './detector.ts';
import { FEATURE_NAMES, FeatureTracker } from '../features.ts';

function gaussian(rnd: () => number): number {
  const u = Math.max(1e-12, rnd());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

test('c(n) follows the paper', () => {
  assert.equal(cFactor(1), 0);
  assert.equal(cFactor(2), 1);
  assert.ok(Math.abs(cFactor(256) - 10.24) < 0.05, `c(256) = ${cFactor(256)}`);
});

test('separates an obvious outlier cluster from normal points and attributes the right feature', () => {
  const rnd = mulberry32(7);
  const normal: Float64Array[] = [];
  for (let i = 0; i < 2000; i++) normal.push(Float64Array.from([gaussian(rnd), gaussian(rnd), gaussian(rnd), gaussian(rnd)]));
  // unsupervised, as in the paper: the training data contains the anomalies (1 %), far out in features 0 and 1
  const outliers = Array.from({ length: 20 }, () => Float64Array.from([6 + gaussian(rnd), 6 + gaussian(rnd), gaussian(rnd), gaussian(rnd)]));
  const forest = IsolationForest.train([...normal, ...outliers], { trees: 100, sampleSize: 256, seed: 1 });
  const normalScores = normal.map((x) => forest.score(x));
  const outlierScores = outliers.map((x) => forest.score(x));
  const meanN = normalScores.reduce((a, b) => a + b) / normalScores.length;
  const meanO = outlierScores.reduce((a, b) => a + b) / outlierScores.length;
  const minO = Math.min(...outlierScores);
  assert.ok(meanN < 0.5, `normal mean score ${meanN}`);
  assert.ok(meanO > 0.62, `outlier mean score ${meanO}`);
  const sortedN = [...normalScores].sort((a, b) => a - b);
  assert.ok(minO > sortedN[Math.floor(sortedN.length * 0.99)]!, `every outlier scores above the 99th percentile of normal points (min ${minO})`);
  const { attributions } = forest.explain(outliers[0]!);
  assert.deepEqual(attributions.slice(0, 2).map((a) => a.feature).sort(), [0, 1], 'features 0 and 1 isolate the outliers');
  assert.ok(Math.abs(attributions.reduce((a, b) => a + b.share, 0) - 1) < 1e-9);
  assert.throws(() => IsolationForest.train([], { trees: 1, sampleSize: 2, seed: 1 }), RangeError);
});

test('async training yields between chunks and gives the same forest as sync training', async () => {
  const rnd = mulberry32(3);
  const data = Array.from({ length: 600 }, () => Float64Array.from([rnd(), rnd()]));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const a = await IsolationForest.trainAsync(data, { trees: 100, sampleSize: 256, seed: 9 }, 5);
  clearInterval(timer);
  const b = IsolationForest.train(data, { trees: 100, sampleSize: 256, seed: 9 });
  const x = [0.5, 3];
  assert.equal(a.score(x), b.score(x));
  assert.ok(ticks >= 0);
});

test('feature tracker windows, vectors and LRU bound', () => {
  const closed: Float64Array[] = [];
  const t = new FeatureTracker(60_000, 10, 3, (v) => closed.push(v));
  const T0 = 1_700_000_000_000;
  for (let i = 0; i < 6; i++) {
    t.onRequest('ip:1', i % 2 ? '/a' : '/b', 100, T0 + i * 1000);
    t.onResponse('ip:1', { status: i === 1 ? 404 : 200, latencyMs: 1, bytes: 1000, byGateway: false }, 0);
  }
  const w = t.peek('ip:1')!;
  const v = t.vector(w, T0 + 6000);
  assert.equal(v.length, FEATURE_NAMES.length);
  assert.ok(Math.abs(v[0]! - Math.log1p(6)) < 0.01, "rate: 6 requests in a 60 s window = 6/min");
  assert.equal(v[1], 0, 'regular gaps: cv 0');
  assert.equal(v[2], 2);
  assert.ok(Math.abs(v[4]! - 1 / 5) < 1e-9, 'the first request only admits the client: 5 responses recorded');
  assert.equal(t.onRequest('ip:new', '/a', 0, T0), undefined, 'a first request allocates no window');
  assert.equal(t.peek('ip:new'), undefined);
  t.onRequest('ip:1', '/a', 0, T0 + 61_000);
  assert.equal(closed.length, 1, 'a closed window with enough requests is a training vector');
  for (let i = 0; i < 100; i++) t.onRequest('ip:x' + i, '/', 0, T0);
  assert.equal(t.size, 10, 'LRU bound');
});

test('detector: trains on baseline traffic, flags a flooding scanner client with risk only', async () => {
  const policy = anomalyModelSchema.parse({ window: '10s', minRequests: 5, minTrainingVectors: 100, trees: 50 });
  const model = new AnomalyModel(policy);
  const d = new AnomalyDetector(policy, model);
  const T0 = 1_700_000_000_000;
  const rnd = mulberry32(11);
  const run = (ip: string, route: string, at: number, status: number) => {
    const c = new RequestContext({ id: 'r', clientIp: ip, clientKey: ip, peerIp: ip, method: 'GET', target: route, headers: {}, startedAt: at });
    c.route = route;
    const s = d.inspectRequest(c);
    d.observeResponse(c, { status, latencyMs: 2, bytes: 500, byGateway: false });
    return s;
  };
  // 300 benign clients, each ~8 requests per 10 s window over 3 routes with human-like gaps, 3 windows each
  for (let win = 0; win < 3; win++) {
    for (let u = 0; u < 300; u++) {
      let t = T0 + win * 10_000 + u;
      for (let i = 0; i < 6 + (u % 4); i++) {
        t += 200 + rnd() * 1200;
        run(`10.0.${u >> 8}.${u & 255}`, ['/api/balance', '/api/history', '/api/products'][i % 3]!, t, 200);
      }
    }
  }
  // close the windows so they become training vectors, then train
  for (let u = 0; u < 300; u++) run(`10.0.${u >> 8}.${u & 255}`, '/api/balance', T0 + 40_000 + u, 200);
  await model.maybeTrain(T0 + 41_000);
  assert.ok(model.forest, `trained (reservoir ${model.status().reservoir})`);
  // a scanner: 200 requests in 2 s, all distinct paths, all 404
  let flagged: ReturnType<typeof run>;
  for (let i = 0; i < 200; i++) flagged = run('203.0.113.9', `/probe${i}`, T0 + 50_000 + i * 10, 404) ?? flagged;
  assert.ok(flagged, 'scanner client flagged');
  assert.equal(flagged!.ruleId, 'behavior.anomaly.iforest');
  assert.equal(flagged!.score, 0);
  assert.equal(flagged!.action, undefined);
  assert.ok(flagged!.risk! <= policy.maxRisk);
  assert.match(String(flagged!.evidence!.detail!.topFeatures), /rate|notFoundRatio|distinctEndpoints|interArrivalCv/);
  // a benign client in a fresh window is not flagged
  let benign: ReturnType<typeof run>;
  let t = T0 + 60_000;
  for (let i = 0; i < 8; i++) {
    t += 300 + rnd() * 1000;
    benign = run('10.0.0.7', ['/api/balance', '/api/history', '/api/products'][i % 3]!, t, 200) ?? benign;
  }
  assert.equal(benign, undefined);
});

test('64 KiB pathological paths, identities and headers are cheap for the feature tracker', () => {
  const policy = anomalyModelSchema.parse({ maxClients: 100 });
  const model = new AnomalyModel(policy);
  const d = new AnomalyDetector(policy, model);
  const long = '/' + 'a/'.repeat(32768);
  const t = performance.now();
  for (let i = 0; i < 2000; i++) {
    const c = new RequestContext({ id: 'r', clientIp: '198.51.100.1', clientKey: '198.51.100.1', peerIp: '198.51.100.1', method: 'GET', target: long, headers: { 'content-length': '9'.repeat(65536) }, startedAt: 1_700_000_000_000 + i });
    c.apiKey = 'k'.repeat(65536);
    c.identityAccepted = true;
    d.inspectRequest(c);
    d.observeResponse(c, { status: 404, latencyMs: 1, bytes: 1, byGateway: false });
  }
  assert.ok(performance.now() - t < 3000);
  assert.equal(model.tracker.size, 1, 'one (capped) identity');
  assert.equal(model.tracker.peek('k:' + 'k'.repeat(256))!.bytesIn, 0, 'absurd content-length ignored');
});
