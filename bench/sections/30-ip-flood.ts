/**
 * Bench section: a flood of 1,000,000 distinct client IPs through the gateway (default policy, trusted proxy
 * 127.0.0.1 so X-Forwarded-For names the client), each with its own User-Agent too (so per-fingerprint state
 * rotates as well — the worst case for per-client state). Raw keep-alive sockets send minimal pipelined GET
 * requests to a loopback echo upstream. Prints the gateway's RSS before, during (peak of 1 s samples) and
 * after; the bound to hold is < 300 MB. Bounded in time (BENCH_FLOOD_MAX_S, default 240 s): if the machine
 * is too slow to send every IP, it reports how many it sent.
 *
 * The gateway runs with the Node flags `bulwark start` gives itself by default (`boundedHeapFlags` in
 * src/cli/start.ts: `--max-old-space-size` derived from `state.maxKeys`), so the bench measures what users get
 * (override with BENCH_FLOOD_NODE_OPTIONS; `none` for V8's defaults). Why a bound: live state after GC stays
 * small (~85 MB of heap at 800k IPs: per-client stores are bounded), but under a flood V8's default
 * heap-growing policy lets old space fill with garbage up to ~4x the live size before a full GC, and never
 * returns the pages — RSS then reaches ~650 MB although nothing leaks.
 */
import { connect, type Socket } from 'node:net';
import { startServer, mib } from '../lib.ts';
import { boundedHeapFlags } from '../../src/cli/start.ts';

const TOTAL = Number(process.env.BENCH_FLOOD_IPS ?? 1_000_000);
const MAX_S = Number(process.env.BENCH_FLOOD_MAX_S ?? 240);
/** Connections and pipelined requests per connection (BENCH_FLOOD_SOCKETS, BENCH_FLOOD_WINDOW). */
const SOCKETS = Number(process.env.BENCH_FLOOD_SOCKETS ?? 16);
const WINDOW = Number(process.env.BENCH_FLOOD_WINDOW ?? 64);
/** The bound of the issue: 300 MB (decimal megabytes, 300,000,000 bytes; ≈ 286.1 MiB). */
const LIMIT_MB = 300;

function ipOf(i: number): string {
  // 11.0.0.0 upwards: public-looking, distinct for every i < 2^24
  return `${11 + ((i >> 24) & 127)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Runs the section. */
export async function run(): Promise<void> {
  console.log(`\n## distinct-client flood: ${TOTAL.toLocaleString('en')} client IPs via X-Forwarded-For (max ${MAX_S} s), ${SOCKETS} sockets x ${WINDOW} pipelined`);
  const echo = await startServer('echo');
  const opt = process.env.BENCH_FLOOD_NODE_OPTIONS;
  // default: exactly what `bulwark start` re-executes itself with (default policy, no user heap flags)
  const execArgv = opt === undefined ? (boundedHeapFlags(undefined, [], {}) ?? []) : opt === 'none' ? [] : opt.split(' ').filter(Boolean);
  const gw = await startServer((process.env.BENCH_FLOOD_KIND as 'gateway') ?? 'gateway', [echo.url, JSON.stringify({ trustedProxies: ['127.0.0.1/32'] })], execArgv);
  console.log(`  gateway node options: ${execArgv.length ? execArgv.join(' ') : '(V8 defaults)'}${opt === undefined ? ' (the default of `bulwark start`)' : ''}`);
  try {
    const port = Number(new URL(gw.url).port);
    await gw.gc();
    const before = await gw.mem();
    console.log(`  gateway RSS before: ${mib(before.rss)} (heap ${mib(before.heapUsed)})`);
    let next = 0;
    let done = 0;
    const statuses = new Map<string, number>();
    let peak = before.rss;
    const sampler = setInterval(() => {
      void gw.mem().then((m) => (peak = Math.max(peak, m.rss)), () => {});
    }, 1000);
    const deadline = Date.now() + MAX_S * 1000;
    const t0 = performance.now();

    await Promise.all(
      Array.from({ length: SOCKETS }, () =>
        new Promise<void>((resolve) => {
          const s: Socket = connect({ port, host: '127.0.0.1' });
          s.setNoDelay(true);
          let inflight = 0;
          let tail = '';
          const pump = (): void => {
            let out = '';
            while (inflight < WINDOW && next < TOTAL && Date.now() < deadline) {
              const i = next++;
              out += `GET /flood HTTP/1.1\r\nHost: f\r\nX-Forwarded-For: ${ipOf(i)}\r\nUser-Agent: flood/${i}\r\n\r\n`;
              inflight++;
            }
            if (out) s.write(out);
            if (inflight === 0) s.end();
          };
          s.on('connect', pump);
          s.on('data', (c: Buffer) => {
            const text = tail + c.toString('latin1');
            let idx = 0;
            for (;;) {
              const k = text.indexOf('HTTP/1.1 ', idx);
              if (k === -1 || k + 12 > text.length) break;
              const code = text.slice(k + 9, k + 12);
              statuses.set(code, (statuses.get(code) ?? 0) + 1);
              inflight--;
              done++;
              idx = k + 12;
            }
            tail = text.slice(Math.max(idx, text.length - 12));
            pump();
          });
          s.on('error', () => resolve());
          s.on('close', () => resolve());
        }),
      ),
    );
    clearInterval(sampler);
    const secs = (performance.now() - t0) / 1000;
    const after = await gw.mem();
    peak = Math.max(peak, after.rss);
    await gw.gc();
    const afterGc = await gw.mem();
    const metrics = await gw.metrics();
    const tracked = metrics
      .split('\n')
      .filter((l) => l.startsWith('bulwark_tracked_keys{'))
      .map((l) => l.replace('bulwark_tracked_keys', '').trim())
      .join(', ');
    console.log(`  sent ${next.toLocaleString('en')} requests from distinct IPs, ${done.toLocaleString('en')} answered in ${secs.toFixed(1)} s (${(done / secs).toFixed(0)} req/s)`);
    console.log(`  statuses: ${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    if (tracked) console.log(`  tracked keys: ${tracked}`);
    console.log(`  gateway RSS after: ${mib(after.rss)} (heap used ${mib(after.heapUsed)} of ${mib(after.heapTotal)}, external ${mib(after.external)})`);
    console.log(`  after a forced GC: RSS ${mib(afterGc.rss)}, heap used ${mib(afterGc.heapUsed)} of ${mib(afterGc.heapTotal)}, external ${mib(afterGc.external)}`);
    console.log(`  peak RSS sampled ${mib(peak)} = ${(peak / 1e6).toFixed(1)} MB — bound ${LIMIT_MB} MB: ${peak < LIMIT_MB * 1e6 ? 'OK' : 'EXCEEDED'}`);
    if (next < TOTAL) console.log(`  NOTE: stopped after ${MAX_S} s with ${next.toLocaleString('en')} of ${TOTAL.toLocaleString('en')} IPs sent (raise BENCH_FLOOD_MAX_S)`);
  } finally {
    await Promise.all([gw.stop(), echo.stop()]);
  }
}
