/**
 * Bench section: the behaviour models (GeoIP/ASN, API discovery, baselines, positive model, Isolation Forest
 * feature tracking) and the risk decide step, in-process with the default policy:
 * 1. µs per request of each model detector and of the risk step over synthetic benign API traffic
 *    (rotating clients, GET with queries, POST with JSON), after the positive model and the forest trained;
 * 2. Isolation Forest training time (t = 100, ψ = 256) and scoring cost;
 * 3. RSS and heap after a flood of BENCH_FLOOD_IPS (default 1,000,000) distinct client IPs through the same
 *    detectors and the risk step (bounded per-client state: LRU caches and windows), time-bounded by
 *    BENCH_FLOOD_MAX_S (default 180 s).
 * Run alone: `node --expose-gc bench/run.ts behavior-models`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { policySchema } from '../../src/config/schema.ts';
import { RequestContext } from '../../src/core/context.ts';
import type { Detector } from '../../src/core/detector.ts';
import type { Services } from '../../src/core/services.ts';
import { openDatabase } from '../../src/store/sqlite.ts';
import { geoDetector } from '../../src/behavior/geo/detector.ts';
import { discoveryDetector } from '../../src/behavior/discovery/detector.ts';
import { baselineDetector } from '../../src/behavior/baseline/detector.ts';
import { positiveDetector } from '../../src/behavior/positive/detector.ts';
import { anomalyDetector, type AnomalyDetector } from '../../src/behavior/iforest/detector.ts';
import { IsolationForest, mulberry32 } from '../../src/behavior/iforest/forest.ts';
import { createRiskDecide } from '../../src/behavior/risk/decide.ts';

const FLOOD = Number(process.env.BENCH_FLOOD_IPS ?? 1_000_000);
const FLOOD_MAX_S = Number(process.env.BENCH_FLOOD_MAX_S ?? 180);
const N = Number(process.env.BENCH_DETECTOR_REQUESTS ?? 20_000);

function request(i: number, ip: string, at: number): { ctx: RequestContext; body?: Buffer } {
  const post = i % 4 === 0;
  const target = post ? '/api/transaction' : i % 4 === 1 ? `/api/search?q=savings+account+${i % 97}&page=${i % 5}` : i % 4 === 2 ? `/api/users/${(i % 50) + 1}` : '/api/products';
  const headers: Record<string, string> = { host: 'api.example', 'user-agent': 'FinApp/3.1 (iOS 17.4)', accept: 'application/json' };
  let body: Buffer | undefined;
  if (post) {
    body = Buffer.from(JSON.stringify({ to: 'bob', amountCents: 1000 + (i % 500), memo: 'rent share' }));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const ctx = new RequestContext({ id: String(i), clientIp: ip, clientKey: ip, peerIp: ip, method: post ? 'POST' : 'GET', target, headers, startedAt: at });
  return { ctx, body };
}

function ipOf(i: number): string {
  return `${11 + ((i >> 24) & 63)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Runs the section. */
export async function run(): Promise<void> {
  console.log('\n## behaviour models: per-request cost, Isolation Forest, memory under rotating IPs');
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-models-'));
  const db = openDatabase(join(dataDir, 'bulwark.db'));
  const services = { logger: pino({ level: 'silent' }), db, dataDir } as unknown as Services;
  const policy = policySchema.parse({ behavior: { positiveModel: { learning: { minSamples: 200, period: 0 } }, anomalyModel: { minTrainingVectors: 256 } } });
  const dets = [geoDetector, discoveryDetector, baselineDetector, positiveDetector, anomalyDetector].map((f) => f(policy, services)).filter((d): d is Detector => d !== undefined);
  const decide = createRiskDecide(services);
  // let the ASN table load (asynchronous CSV parse)
  await new Promise((r) => setTimeout(r, 3000));
  const cost = new Map<string, number>();
  const add = (k: string, ms: number): void => void cost.set(k, (cost.get(k) ?? 0) + ms);
  const one = async (i: number, ip: string, at: number, measure: boolean): Promise<void> => {
    const { ctx, body } = request(i, ip, at);
    for (const d of dets) {
      if (!d.inspectRequest) continue;
      const t0 = performance.now();
      ctx.add(await d.inspectRequest(ctx));
      if (measure) add(d.name, performance.now() - t0);
    }
    if (body) {
      ctx.body = { bytes: body, truncated: false, declaredLength: body.length };
      for (const d of dets) {
        if (!d.inspectBody) continue;
        const t0 = performance.now();
        ctx.add(await d.inspectBody(ctx));
        if (measure) add(d.name, performance.now() - t0);
      }
    }
    const t1 = performance.now();
    ctx.verdict = decide(ctx, policy);
    if (measure) add('risk (decide)', performance.now() - t1);
    const res = { status: 200, latencyMs: 3, bytes: 400, byGateway: false };
    for (const d of dets) {
      if (!d.observeResponse) continue;
      const t0 = performance.now();
      ctx.add(await d.observeResponse(ctx, res));
      if (measure) add(d.name, performance.now() - t0);
    }
  };
  try {
    // warm-up / learning: 500 benign clients, one request each every 5 s of simulated time for ~7 minutes
    // (trains the positive model, and the forest on the closed 1-minute client windows)
    const T0 = Date.now() - 3_600_000;
    for (let i = 0; i < 40_000; i++) await one(i, `10.0.${(i % 500) >> 8}.${i % 500}`, T0 + i * 10, false);
    const anomaly = dets.find((d) => d.name === 'anomaly') as AnomalyDetector | undefined;
    if (anomaly) await anomaly.model.maybeTrain(T0 + 40_000 * 10);
    console.log(`  forest trained: ${anomaly?.model.status().trained ?? false} (reservoir ${anomaly?.model.status().reservoir ?? 0} vectors)`);
    const T1 = T0 + 40_000 * 10;
    for (let i = 0; i < N; i++) await one(i, `10.0.${(i % 500) >> 8}.${i % 500}`, T1 + i * 10, true);
    console.log(`  per request over ${N.toLocaleString('en')} benign requests (µs, all phases):`);
    let total = 0;
    for (const [k, ms] of [...cost.entries()].sort((a, b) => b[1] - a[1])) {
      total += ms;
      console.log(`    ${k.padEnd(16)} ${((ms * 1000) / N).toFixed(2).padStart(8)}`);
    }
    console.log(`    ${'total'.padEnd(16)} ${((total * 1000) / N).toFixed(2).padStart(8)}`);

    // Isolation Forest alone
    const rnd = mulberry32(1);
    const data = Array.from({ length: 4096 }, () => Float64Array.from({ length: 8 }, () => rnd()));
    let t = performance.now();
    const forest = IsolationForest.train(data, { trees: 100, sampleSize: 256, seed: 1 });
    const trainMs = performance.now() - t;
    t = performance.now();
    let acc = 0;
    for (let i = 0; i < 20_000; i++) acc += forest.score(data[i % data.length]!);
    const scoreUs = ((performance.now() - t) * 1000) / 20_000;
    t = performance.now();
    for (let i = 0; i < 2_000; i++) acc += forest.explain(data[i]!).score;
    const explainUs = ((performance.now() - t) * 1000) / 2_000;
    console.log(`  isolation forest (t=100, ψ=256, 8 features): train ${trainMs.toFixed(1)} ms on 4,096 vectors; score ${scoreUs.toFixed(2)} µs; score+explain ${explainUs.toFixed(2)} µs${acc < 0 ? '!' : ''}`);

    // flood of distinct client IPs
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rss0 = process.memoryUsage().rss;
    const start = performance.now();
    let sent = 0;
    const T2 = Date.now();
    for (let i = 0; i < FLOOD; i++) {
      await one(i, ipOf(i), T2 + Math.floor(i / 20), false);
      sent++;
      if ((i & 4095) === 0 && performance.now() - start > FLOOD_MAX_S * 1000) break;
    }
    const secs = (performance.now() - start) / 1000;
    gc?.();
    const m = process.memoryUsage();
    console.log(
      `  flood: ${sent.toLocaleString('en')} distinct client IPs in ${secs.toFixed(1)} s (${Math.round(sent / secs).toLocaleString('en')} req/s through the models); ` +
        `RSS ${(m.rss / 1048576).toFixed(0)} MB (before the flood ${(rss0 / 1048576).toFixed(0)} MB), heap used ${(m.heapUsed / 1048576).toFixed(0)} MB of ${(m.heapTotal / 1048576).toFixed(0)} MB committed, external ${(m.external / 1048576).toFixed(0)} MB${gc ? '' : ' (no --expose-gc: heap not collected first)'}`,
    );
  } finally {
    for (const d of dets) await d.close?.();
    db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
