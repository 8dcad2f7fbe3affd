/**
 * Child-process entry for the bench: `node bench/server.ts demo|echo|minimal|gateway|gateway-bare [upstreamUrl] [policyJson]`.
 * Prints one line `READY <url>` when listening; answers IPC `{ type: 'mem' }` with `process.memoryUsage()`,
 * `{ type: 'cpu' }` with `process.cpuUsage()`,
 * and exits on `{ type: 'stop' }`. Servers run in their own processes so the load generator does not share
 * their event loop.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startDemoApi } from '../src/demo/api.ts';
import { startMinimalProxy } from './minimal-proxy.ts';
import { startBulwark } from '../src/app.ts';

const [kind, upstream, policyJson] = process.argv.slice(2);
let close: () => Promise<void> = async () => {};
let url: string;

if (kind === 'demo') {
  const d = await startDemoApi({ port: 0, host: '127.0.0.1' });
  url = d.url;
  close = d.close;
} else if (kind === 'echo') {
  // any path → 200 with a tiny body (replay target)
  const s = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  close = () => new Promise((r) => s.close(() => r()));
} else if (kind === 'minimal') {
  const p = await startMinimalProxy({ upstream: upstream! });
  url = p.url;
  close = p.close;
} else if (kind === 'gateway' || kind === 'gateway-bare') {
  const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  const app = await startBulwark({
    upstream,
    policy: policyJson ? JSON.parse(policyJson) : {},
    host: '127.0.0.1',
    gatewayPort: 0,
    adminPort: 0,
    dataDir,
    logLevel: process.env.BULWARK_BENCH_LOG ?? 'warn',
    watch: false,
    // gateway-bare: the data plane alone (client IP, identity, pipeline with no detectors, forwarding, metrics)
    useRegistry: kind === 'gateway',
  });
  url = app.gatewayUrl;
  close = async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'metrics') void app.admin.inject({ method: 'GET', url: '/metrics' }).then((r) => process.send?.({ type: 'metrics', text: r.body }));
  });
} else {
  console.error('usage: node bench/server.ts demo|echo|minimal|gateway|gateway-bare [upstreamUrl] [policyJson]');
  process.exit(2);
}

// event-loop delay of this server process (ns histogram, 1 ms resolution sampling): answered on { type: 'eld' }
// and reset, so a bench section can attribute added latency to blocking vs queueing
// BENCH_TRACE_GC=<ms>: print every GC pause longer than <ms> to stderr (kind, duration, heap used)
if (process.env.BENCH_TRACE_GC) {
  const min = Number(process.env.BENCH_TRACE_GC);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration >= min) process.stderr.write(`[gc ${kind}] kind ${((e as unknown as { detail?: { kind?: number } }).detail)?.kind} ${e.duration.toFixed(1)} ms heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
const eld = monitorEventLoopDelay({ resolution: 1 });
eld.enable();
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'eld') {
    process.send?.({ type: 'eld', eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 } });
    eld.reset();
  }
  if (m?.type === 'mem') process.send?.({ type: 'mem', mem: process.memoryUsage() });
  if (m?.type === 'cpu') process.send?.({ type: 'cpu', cpu: process.cpuUsage() });
  if (m?.type === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'gc' });
  }
  if (m?.type === 'stop') void close().finally(() => process.exit(0));
});
process.on('disconnect', () => void close().finally(() => process.exit(0)));
process.stdout.write(`READY ${url}\n`);
