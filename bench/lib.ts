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
