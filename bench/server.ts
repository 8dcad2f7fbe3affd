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
    // BENCH_REDIS_URL: rate limits and decisions in Redis (a unique key prefix per process), as a scaled-out gateway
    ...(process.env.BENCH_REDIS_URL ? { redisUrl: process.env.BENCH_REDIS_URL, redisPrefix: `bulwark-bench:${process.pid}:` } : {}),
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

// BENCH_ELD=1: event-loop delay of this server process (ns histogram, 1 ms resolution sampling), answered on
// { type: 'eld' } and reset, so added latency can be told apart from blocking. Opt-in: its 1 ms timer wakes the
// process 1,000 times a second, which shows in CPU per request and latency at moderate load.
// BENCH_TRACE_GC=<ms>: print every GC pause longer than <ms> to stderr (kind, duration, heap used)
if (process.env.BENCH_TRACE_GC) {
  const min = Number(process.env.BENCH_TRACE_GC);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration >= min) process.stderr.write(`[gc ${kind}] kind ${((e as unknown as { detail?: { kind?: number } }).detail)?.kind} ${e.duration.toFixed(1)} ms heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
// BENCH_ALLOC_PROF=<dir>: on IPC { type: 'allocprof-start' } (sent after warm-up, so start-up loads such as the ASN
// table are left out), V8's sampling heap profiler over every allocation, including objects garbage collection
// has already freed; written as <dir>/<kind>-<pid>.heapprofile on stop. Shows where each request's short-lived
// allocations come from (`node bench/alloc-report.ts`, or Chrome DevTools).
let stopAllocProf = async (): Promise<void> => {};
if (process.env.BENCH_ALLOC_PROF) {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync, mkdirSync } = await import('node:fs');
  process.on('message', (m: { type?: string }) => {
    if (m?.type !== 'allocprof-start') return;
    const session = new Session();
    session.connect();
    // BENCH_ALLOC_PROF_PROMOTED=1: leave out objects that died young, i.e. profile what got promoted to the old
    // generation (what major collections then have to mark and sweep)
    const promoted = process.env.BENCH_ALLOC_PROF_PROMOTED === '1';
    void session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !promoted }).then(() => process.send?.({ type: 'allocprof-start' }));
    stopAllocProf = async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      mkdirSync(process.env.BENCH_ALLOC_PROF!, { recursive: true });
      writeFileSync(join(process.env.BENCH_ALLOC_PROF!, `${kind}-${process.pid}.heapprofile`), JSON.stringify(profile));
    };
  });
}
const eld = monitorEventLoopDelay({ resolution: 1 });
if (process.env.BENCH_ELD === '1') eld.enable();
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
  if (m?.type === 'stop') void stopAllocProf().then(close).finally(() => process.exit(0));
});
process.on('disconnect', () => void close().finally(() => process.exit(0)));
process.stdout.write(`READY ${url}\n`);
