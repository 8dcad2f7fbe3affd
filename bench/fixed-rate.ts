/**
 * Dev helper (not a bench section): `node bench/fixed-rate.ts` runs (b) the minimal proxy, (c0) the gateway without
 * detectors and (c) the gateway with the default policy at a fixed, evenly spaced request rate (RATE req/s, default
 * 1000; DUR s per run, default 15; ROUNDS, default 3) interleaved, printing p50/p99/p99.9, CPU µs per request and
 * each gateway's event-loop delay (p99, max) per round, so added latency can be told apart from blocking.
 * GW_ARGS: Node flags of the gateways (e.g. --cpu-prof); BENCH_TRACE_GC=<ms> logs GC pauses.
 */
import { startServer, fixedRateLoad, median, nextClient, type BenchServer } from './lib.ts';
import { boundedHeapFlags } from '../src/cli/start.ts';
const RATE = Number(process.env.RATE ?? 1000), DUR = Number(process.env.DUR ?? 15), ROUNDS = Number(process.env.ROUNDS ?? 3);
process.env.BENCH_ELD = '1'; // the children's event-loop delay histograms
const demo = await startServer('demo');
const policy = JSON.stringify({ trustedProxies: ['127.0.0.1/32'] });
const flags = [...(boundedHeapFlags(undefined, [], {}) ?? []), ...(process.env.GW_ARGS ?? '').split(' ').filter(Boolean)];
const servers: Record<'b' | 'c0' | 'c', BenchServer> = {
  b: await startServer('minimal', [demo.url]),
  c0: await startServer('gateway-bare', [demo.url, policy], flags),
  c: await startServer('gateway', [demo.url, policy], flags),
};
const load = async (s: BenchServer) => {
  const cpu0 = await s.cpu();
  const r = await fixedRateLoad(s.url + '/api/products', { rate: RATE, durationS: DUR, headers: () => nextClient() });
  return { ...r, cpu: ((await s.cpu()) - cpu0) / r.sent, eld: await s.eld() };
};
for (const s of Object.values(servers)) await load(s); // warm-up
const rows: Record<string, Awaited<ReturnType<typeof load>>>[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const row: Record<string, Awaited<ReturnType<typeof load>>> = {};
  for (const [k, s] of Object.entries(servers)) row[k] = await load(s);
  rows.push(row);
  console.log(Object.entries(row).map(([k, r]) => `${k} p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r.p999.toFixed(2)} cpu ${r.cpu.toFixed(0)}µs eld p99 ${r.eld.p99.toFixed(1)} max ${r.eld.max.toFixed(1)}${r.non2xx + r.errors ? ` non2xx ${r.non2xx} err ${r.errors}` : ''}`).join(' | '));
}
for (const k of ['c0', 'c']) console.log(`median added p99 ${k} - b ${median(rows.map((r) => r[k]!.p99 - r.b!.p99)).toFixed(2)} ms, added p50 ${median(rows.map((r) => r[k]!.p50 - r.b!.p50)).toFixed(2)} ms`);
await Promise.all([...Object.values(servers).map((s) => s.stop()), demo.stop()]);
process.exit(0);
