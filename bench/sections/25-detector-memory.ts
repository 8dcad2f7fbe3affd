/**
 * Bench section: heap retained per distinct client by each registered detector (default policy), measured
 * in-process: 50,000 requests from distinct IPs and User-Agents go through one detector at a time, then a
 * forced GC; the heap growth divided by the client count is that detector's per-client state cost. Tells
 * which per-client state dominates the 1,000,000-IP flood. Run with `node --expose-gc bench/run.ts memory`
 * (without it the section says so and skips).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBulwark } from '../../src/app.ts';
import { RequestContext } from '../../src/core/context.ts';
import { extractIdentity } from '../../src/dataplane/identity.ts';

const N = Number(process.env.BENCH_MEMORY_CLIENTS ?? 50_000);

/** Runs the section. */
export async function run(): Promise<void> {
  console.log(`\n## detector memory: heap retained per distinct client (${N.toLocaleString('en')} clients, one detector at a time)`);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('  skipped: run with node --expose-gc (npm run bench does)');
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-mem-'));
  const app = await startBulwark({ host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, dataDir, logLevel: 'silent', watch: false });
  try {
    const p = app.pipeline();
    for (const d of p.detectors) {
      gc();
      const h0 = process.memoryUsage().heapUsed;
      for (let i = 0; i < N; i++) {
        const ip = `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const headers = { host: 'f', 'user-agent': `flood/${i}` };
        const ctx = new RequestContext({ id: String(i), clientIp: ip, clientKey: ip, peerIp: '127.0.0.1', method: 'GET', target: '/flood', headers, rawHeaders: ['Host', 'f', 'User-Agent', `flood/${i}`] });
        extractIdentity(ctx, p.policy.identity);
        try {
          if (d.inspectRequest) ctx.add(await d.inspectRequest(ctx));
          ctx.verdict = p.decide(ctx);
          if (d.observeResponse) ctx.add(await d.observeResponse(ctx, { status: 200, latencyMs: 1, bytes: 2, byGateway: false }));
        } catch {
          /* counted by the pipeline in production; irrelevant here */
        }
      }
      gc();
      const grown = process.memoryUsage().heapUsed - h0;
      console.log(`  ${d.name.padEnd(16)} ${(grown / 1024 / 1024).toFixed(1).padStart(7)} MiB   ${(grown / N).toFixed(0).padStart(6)} bytes/client`);
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
