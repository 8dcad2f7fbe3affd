/**
 * Dev helper (not a bench section): `node bench/fixed-rate.ts` runs (b) the minimal proxy and (c) the gateway at a fixed
 * rate (RATE req/s, default 1000; DUR s per run; ROUNDS) interleaved, printing p50/p99, CPU µs per request and
 * the gateway's own event-loop delay (p99, max) per round, so added latency can be told apart from blocking.
 * GW_ARGS: Node flags of the gateway (e.g. --cpu-prof); SAT=1 adds two saturation runs; BENCH_TRACE_GC=<ms> logs GC pauses.
 */
import autocannon from 'autocannon';
import { startServer, microsecondLatencies, median } from './lib.ts';
const RATE = Number(process.env.RATE ?? 1000), DUR = Number(process.env.DUR ?? 5), ROUNDS = Number(process.env.ROUNDS ?? 3);
let n = 0;
const hdr = (h: any) => { const i = n++; return { ...h, 'x-forwarded-for': `10.${(i >> 8) & 255}.${i & 255}.${(i >> 16) & 255}`, 'user-agent': `FinApp/3.${i & 1023}.${(i >> 10) & 63} (iOS 17.4; iPhone15,2)`, accept: 'application/json', 'accept-language': 'en-GB', 'accept-encoding': 'gzip' }; };
const demo = await startServer('demo');
const pol = JSON.stringify({ trustedProxies: ['127.0.0.1/32'] });
const b = await startServer('minimal', [demo.url]);
const c = await startServer('gateway', [demo.url, pol], (process.env.GW_ARGS ?? '').split(' ').filter(Boolean));
async function load(s: any, rate?: number) {
  const c0 = await s.cpu();
  const r = await autocannon({ histograms: { latencies: microsecondLatencies() }, url: s.url + '/api/products', connections: 10, overallRate: rate, duration: DUR, requests: [{ method: 'GET', path: '/api/products', setupRequest: (q: any) => ({ ...q, headers: hdr(q.headers) }) }] } as any);
  return { rps: r.requests.average, cpu: ((await s.cpu()) - c0) / r.requests.total, p50: r.latency.p50 / 1000, p99: r.latency.p99 / 1000, non2xx: r.non2xx };
}
await load(b, RATE); await load(c, RATE); await c.eld();
const d: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const rb = await load(b, RATE); const rc = await load(c, RATE); const e = await c.eld();
  d.push(rc.p99 - rb.p99);
  console.log(`b p99 ${rb.p99.toFixed(2)} | c p50 ${rc.p50.toFixed(2)} p99 ${rc.p99.toFixed(2)} cpu ${rc.cpu.toFixed(0)}µs non2xx ${rc.non2xx} | gw eld p99 ${e.p99.toFixed(1)} max ${e.max.toFixed(1)}`);
}
console.log(`median added p99 ${median(d).toFixed(2)} ms`);
if (process.env.SAT) { for (let i = 0; i < 2; i++) { const rc = await load(c); console.log(`sat c ${rc.rps.toFixed(0)} rps cpu ${rc.cpu.toFixed(0)} µs`); } }
await Promise.all([c.stop(), b.stop(), demo.stop()]);
process.exit(0);
