/**
 * Dev helper (not a bench section): `node bench/profile-sat.ts` profiles the gateway (default policy, the bench's
 * client mix) at saturation. Warms up WARM s (JIT, the ASN table load), then loads it for DUR s; the gateway runs
 * with --cpu-prof into PROF_DIR (default /tmp/prof). Print the last DUR s of the profile with
 * `node bench/profile-report.ts <file> DUR`. BENCH_ALLOC_PROF=<dir> also samples the measured run's allocations
 * (`node bench/alloc-report.ts <dir>/<file> <requests>`).
 */
import autocannon from 'autocannon';
import { startServer, nextClient } from './lib.ts';
const WARM = Number(process.env.WARM ?? 8), DUR = Number(process.env.DUR ?? 8);
const demo = await startServer('demo');
// KIND=bare: no detectors; KIND=engine: behavioural detection off (the bench's c1); default: every detector
const kind = process.env.KIND === 'bare' ? 'gateway-bare' : 'gateway';
const policy = { trustedProxies: ['127.0.0.1/32'], ...(process.env.KIND === 'engine' ? { behavior: { enabled: false } } : {}) };
const c = await startServer(kind, [demo.url, JSON.stringify(policy)], [`--cpu-prof`, `--cpu-prof-dir=${process.env.PROF_DIR ?? '/tmp/prof'}`, '--cpu-prof-interval=100', ...(process.env.GW_ARGS ?? '').split(' ').filter(Boolean)]);
const load = async (d: number) => {
  const c0 = await c.cpu();
  const r = await autocannon({ url: c.url + '/api/products', connections: 50, duration: d, requests: [{ method: 'GET', path: '/api/products', setupRequest: (q: any) => ({ ...q, headers: nextClient(q.headers) }) }] } as any);
  return { requests: r.requests.total, rps: r.requests.average, cpu: ((await c.cpu()) - c0) / r.requests.total, non2xx: r.non2xx };
};
console.log('warm', await load(WARM));
// BENCH_ALLOC_PROF=<dir>: sample allocations over the measured run only (report: node bench/alloc-report.ts <file> <requests>)
if (process.env.BENCH_ALLOC_PROF) await c.allocProfStart();
console.log('measured', await load(DUR));
await Promise.all([c.stop(), demo.stop()]);
process.exit(0);
