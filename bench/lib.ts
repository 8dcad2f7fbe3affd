import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { appendFileSync, existsSync } from 'node:fs';

/** A bench server running in its own process. */
export interface BenchServer {
  url: string;
  child: ChildProcess;
  /** `process.memoryUsage()` of the child. */
  mem(): Promise<NodeJS.MemoryUsage>;
  /** Forces a full garbage collection in the child (it runs with --expose-gc). */
  gc(): Promise<void>;
  /** CPU time used by the child so far, µs (user + system). */
  cpu(): Promise<number>;
  /** Event-loop delay of the child since the last call, ms (p50, p99, max); resets the histogram. */
  eld(): Promise<{ p50: number; p99: number; max: number }>;
  /** Starts allocation sampling in the child (it must run with BENCH_ALLOC_PROF=<dir>; see bench/server.ts). */
  allocProfStart(): Promise<void>;
  /** Prometheus text of the gateway's /metrics (gateway only). */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The server entry: the compiled `dist/bench/server.js` when it exists (what production runs: `bulwark start`
 * runs `dist/`; Node's TypeScript stripping adds ~35 MB RSS and startup cost), unless BENCH_SOURCE=1.
 * `npm run bench` builds first so dist is current.
 */
const DIST_SERVER = fileURLToPath(new URL('../dist/bench/server.js', import.meta.url));
const SERVER = process.env.BENCH_SOURCE !== '1' && existsSync(DIST_SERVER) ? DIST_SERVER : fileURLToPath(new URL('./server.ts', import.meta.url));

/** Which server entry the bench uses (printed in the header). */
export const SERVER_ENTRY = SERVER;

function request<T>(child: ChildProcess, msg: object, type: string, pick: (m: any) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${type} answer`)), 30_000);
    const on = (m: any): void => {
      if (m?.type !== type) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(pick(m));
    };
    child.on('message', on);
    child.send(msg);
  });
}

/**
 * Starts `bench/server.ts <kind>` in a child process and waits for its `READY <url>` line.
 * @param args - upstream URL and, for the gateway, the policy as JSON.
 */
export function startServer(kind: 'demo' | 'echo' | 'minimal' | 'gateway' | 'gateway-bare', args: string[] = [], execArgv: string[] = []): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    const child = fork(SERVER, [kind, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv: ['--expose-gc', ...execArgv] });
    let out = '';
    const t = setTimeout(() => reject(new Error(`${kind} did not start`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m && out.includes('\n')) {
        clearTimeout(t);
        child.stdout!.removeAllListeners('data');
        // BENCH_CHILD_STDOUT=<file>: keep the servers' stdout (e.g. V8's --trace-gc lines) instead of discarding it
        if (process.env.BENCH_CHILD_STDOUT) child.stdout!.on('data', (c: Buffer) => appendFileSync(process.env.BENCH_CHILD_STDOUT!, `[${kind}] ${c.toString()}`));
        else child.stdout!.resume();
        resolve({
          url: m[1]!,
          child,
          mem: () => request(child, { type: 'mem' }, 'mem', (x) => x.mem as NodeJS.MemoryUsage),
          gc: () => request(child, { type: 'gc' }, 'gc', () => undefined),
          cpu: () => request(child, { type: 'cpu' }, 'cpu', (x) => (x.cpu.user as number) + (x.cpu.system as number)),
          eld: () => request(child, { type: 'eld' }, 'eld', (x) => x.eld as { p50: number; p99: number; max: number }),
          allocProfStart: () => request(child, { type: 'allocprof-start' }, 'allocprof-start', () => undefined),
          metrics: () => request(child, { type: 'metrics' }, 'metrics', (x) => x.text as string),
          stop: () =>
            new Promise<void>((res) => {
              if (child.exitCode !== null) return res();
              child.once('exit', () => res());
              child.send({ type: 'stop' });
              setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Formats bytes as MiB with one decimal. */
export function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * An HDR latency histogram for autocannon's `histograms.latencies` that records microseconds instead of
 * autocannon's whole milliseconds (sub-ms differences are what the proxy bench measures). Read results as
 * `result.latency.p99 / 1000` ms. Loaded from autocannon's own dependency (hdr-histogram-js).
 */
export function microsecondLatencies(): unknown {
  const req = createRequire(createRequire(import.meta.url).resolve('autocannon'));
  const hdr = req('hdr-histogram-js') as {
    build(o: object): { recordValue(v: number): void; recordValueWithExpectedInterval(v: number, interval: number): void };
  };
  const h = hdr.build({ useWebAssembly: true, bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const rec = h.recordValue.bind(h);
  h.recordValue = (v: number) => rec(Math.max(1, Math.round(v * 1000)));
  // used with a fixed request rate (coordinated-omission correction): both arguments in µs
  const recInterval = h.recordValueWithExpectedInterval.bind(h);
  h.recordValueWithExpectedInterval = (v: number, interval: number) => recInterval(Math.max(1, Math.round(v * 1000)), Math.max(1, Math.round(interval * 1000)));
  return h;
}

let clientCounter = 0;
/**
 * Headers of the next simulated API client: `X-Forwarded-For` from 10.0.0.0/8 and a mobile-app User-Agent with
 * a per-client build number, both unique per 2^16 requests (cycling), plus normal Accept headers; `headers`
 * are kept. The gateway must trust 127.0.0.1 as a proxy for the IPs to count. Distinct clients exercise
 * per-client state and stay under the default per-IP limits; one shared fingerprint from thousands of IPs
 * would rightly look like a distributed flood to the behaviour detectors.
 */
export function nextClient(headers?: Record<string, string>): Record<string, string> {
  const n = clientCounter++;
  return {
    ...headers,
    'x-forwarded-for': `10.${(n >> 8) & 255}.${n & 255}.${(n >> 16) & 255}`,
    'user-agent': `FinApp/3.${n & 1023}.${(n >> 10) & 63} (iOS 17.4; iPhone15,2)`,
    accept: 'application/json',
    'accept-language': 'en-GB',
    'accept-encoding': 'gzip',
  };
}

/** Result of {@link fixedRateLoad}: counts and latency percentiles in ms. */
export interface FixedRateResult {
  /** Requests sent and answered with 2xx / other status / a transport error. */
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Achieved request rate, requests per second (sent / wall time of the run). */
  rps: number;
  /** Response latency from the moment a request was dispatched to the end of its body, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** How late the pacer dispatched requests against their schedule, p99, ms (the loader's own jitter). */
  lagP99: number;
  /** Every request's latency, ms, sorted ascending (for percentiles pooled over several runs). */
  latencies: Float64Array;
}

/** The `q` quantile (0–1) of ascending-sorted values (nearest rank). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Latencies of several {@link fixedRateLoad} runs merged into one ascending array. */
export function pooledLatencies(runs: readonly FixedRateResult[]): Float64Array {
  const all = new Float64Array(runs.reduce((n, r) => n + r.latencies.length, 0));
  let o = 0;
  for (const r of runs) {
    all.set(r.latencies, o);
    o += r.latencies.length;
  }
  return all.sort();
}

/**
 * Open-loop load at a fixed, evenly spaced request rate (one request every 1000/rate ms, wrk2-style), for
 * "latency at moderate load". autocannon's `overallRate` is not that: each connection fires its whole
 * per-second quota back to back at the start of every second and then idles, so a "1,000 req/s" run is
 * a burst at saturation speed every second, and its latencies are queueing inside that burst.
 *
 * Requests go through an undici Pool with enough connections that a slow response never holds back the
 * next scheduled request (so pauses of the target show up in the latencies, not as missing requests).
 * Latency is measured per request from dispatch to the end of the response body; `lagP99` reports how
 * late the pacer itself ran (timer granularity, the loader's own GC), which adds to neither side. Bounded:
 * `rate × durationS` requests, each failing after 10 s without a response.
 * @param url - origin and path, e.g. `http://127.0.0.1:8080/api/products`; loopback only.
 * @param opts.rate - requests per second; `durationS` seconds; `headers()` gives each request's headers.
 */
export async function fixedRateLoad(url: string, opts: { rate: number; durationS: number; connections?: number; headers?: () => Record<string, string> }): Promise<FixedRateResult> {
  const { Pool } = await import('undici');
  const u = new URL(url);
  // a stuck target fails its requests after 10 s instead of holding the run open (undici's default is 300 s)
  const pool = new Pool(u.origin, { connections: opts.connections ?? 64, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const total = Math.round(opts.rate * opts.durationS);
  const intervalMs = 1000 / opts.rate;
  const lat = new Float64Array(total);
  const lag = new Float64Array(total);
  let sent = 0, done = 0, ok = 0, non2xx = 0, errors = 0;
  const path = u.pathname + u.search;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const fire = (i: number): void => {
      const start = performance.now();
      lag[i] = start - (t0 + i * intervalMs);
      pool.request({ method: 'GET', path, headers: opts.headers?.() }).then(
        async (res) => {
          await res.body.dump();
          lat[i] = performance.now() - start;
          if (res.statusCode >= 200 && res.statusCode < 300) ok++;
          else non2xx++;
        },
        () => {
          lat[i] = performance.now() - start;
          errors++;
        },
      ).finally(() => {
        if (++done === total) resolve();
      });
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / intervalMs) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * intervalMs - performance.now()));
    };
    tick();
  });
  const wall = (performance.now() - t0) / 1000;
  await pool.close();
  lat.sort();
  lag.sort();
  const q = quantileSorted;
  return { sent, ok, non2xx, errors, rps: sent / wall, p50: q(lat, 0.5), p99: q(lat, 0.99), p999: q(lat, 0.999), max: q(lat, 1), lagP99: q(lag, 0.99), latencies: lat };
}
