/**
 * Bench section: CPU cost per request of each registered detector with the default policy, measured
 * in-process (no HTTP) over 20,000 synthetic benign API requests from rotating clients (GET with a query,
 * POST with a JSON body). Shows where the gateway's time goes beyond the data plane itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBulwark } from '../../src/app.ts';
import { RequestContext } from '../../src/core/context.ts';
import { extractIdentity } from '../../src/dataplane/identity.ts';
import type { Detector } from '../../src/core/detector.ts';

const N = Number(process.env.BENCH_DETECTOR_REQUESTS ?? 20_000);

function requestOf(i: number): { ctx: RequestContext; body?: Buffer } {
  const ip = `10.${(i >> 8) & 255}.${i & 255}.7`;
  const post = i % 4 === 0;
  const target = post ? '/api/transaction' : i % 4 === 1 ? `/api/search?q=savings+account+${i % 97}&page=${i % 5}` : i % 4 === 2 ? `/api/users/${(i % 50) + 1}` : '/api/products';
  const headers: Record<string, string> = {
    host: 'api.example',
    'user-agent': `FinApp/3.${i & 1023}.1 (iOS 17.4; iPhone15,2)`,
    accept: 'application/json',
    'accept-language': 'en-GB',
    'accept-encoding': 'gzip',
    authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.sig',
  };
  let body: Buffer | undefined;
  if (post) {
    body = Buffer.from(JSON.stringify({ to: 'bob', amountCents: 1000 + (i % 500), memo: 'rent share for March' }));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const ctx = new RequestContext({ id: String(i), clientIp: ip, clientKey: ip, peerIp: ip, method: post ? 'POST' : 'GET', target, headers, rawHeaders: Object.entries(headers).flat() });
  return { ctx, body };
}

/** Runs the section: prints µs per request per detector and phase, most expensive first. */
export async function run(): Promise<void> {
  console.log(`\n## detector cost: ${N} synthetic benign requests, default policy, in-process`);
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-det-'));
  const app = await startBulwark({ host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, dataDir, logLevel: 'silent', watch: false });
  try {
    const p = app.pipeline();
    const dets = p.detectors as Detector[];
    const cost = new Map<string, number>();
    const add = (k: string, ms: number): void => void cost.set(k, (cost.get(k) ?? 0) + ms);
    let blocked = 0;
    const run1 = async (i: number, measure: boolean): Promise<void> => {
      const { ctx, body } = requestOf(i);
      extractIdentity(ctx, p.policy.identity);
      for (const d of dets) {
        if (!d.inspectRequest) continue;
        const t0 = performance.now();
        ctx.add(await d.inspectRequest(ctx));
        if (measure) add(`${d.name} request`, performance.now() - t0);
      }
      if (body) {
        ctx.body = { bytes: body, truncated: false, declaredLength: body.length };
        for (const d of dets) {
          if (!d.inspectBody || !d.needsBody) continue;
          const t0 = performance.now();
          ctx.add(await d.inspectBody(ctx));
          if (measure) add(`${d.name} body`, performance.now() - t0);
        }
      }
      const v = p.decide(ctx);
      if (v.action !== 'allow') blocked++;
      const res = { status: 200, latencyMs: 1, bytes: 300, byGateway: false };
      for (const d of dets) {
        if (!d.observeResponse) continue;
        const t0 = performance.now();
        ctx.add(await d.observeResponse(ctx, res));
        if (measure) add(`${d.name} response`, performance.now() - t0);
      }
    };
    for (let i = 0; i < 2000; i++) await run1(i + 1_000_000, false); // warm-up
    blocked = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await run1(i, true);
    const total = performance.now() - t0;
    const rows = [...cost].sort((a, b) => b[1] - a[1]);
    const sum = rows.reduce((s, r) => s + r[1], 0);
    for (const [k, ms] of rows) console.log(`  ${k.padEnd(34)} ${((ms * 1000) / N).toFixed(2).padStart(8)} µs/req`);
    console.log(`  ${'all detectors'.padEnd(34)} ${((sum * 1000) / N).toFixed(2).padStart(8)} µs/req   (loop total ${((total * 1000) / N).toFixed(2)} µs/req; ${blocked} of ${N} not allowed)`);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
