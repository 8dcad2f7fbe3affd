/**
 * Dev helper: `node bench/alloc-report.ts <file.heapprofile> [requests] [filterRegex] [rows]` prints the bytes a
 * V8 sampling heap profile (bench/server.ts with BENCH_ALLOC_PROF=<dir>) attributes to each function, self and
 * inclusive, as a share of all sampled bytes and, given the number of requests served while sampling, as bytes
 * per request. Sampled, so small figures are estimates (one sample per ~4 KiB allocated).
 */
import { readFileSync } from 'node:fs';
interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
const [file, reqArg, filter, rowsArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file!, 'utf8')) as { head: Node; samples: { size: number; nodeId: number }[] };
const key = (n: Node): string => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const bytes = new Map<number, number>();
for (const s of p.samples) bytes.set(s.nodeId, (bytes.get(s.nodeId) ?? 0) + s.size);
const self = new Map<string, number>(), incl = new Map<string, number>();
let total = 0;
const walk = (n: Node, path: Set<string>): number => {
  const k = key(n);
  const own = bytes.get(n.id) ?? 0;
  total += own;
  self.set(k, (self.get(k) ?? 0) + own);
  const fresh = !path.has(k);
  if (fresh) path.add(k);
  let sum = own;
  for (const c of n.children) sum += walk(c, path);
  if (fresh) {
    path.delete(k);
    incl.set(k, (incl.get(k) ?? 0) + sum);
  }
  return sum;
};
walk(p.head, new Set());
const requests = Number(reqArg ?? 0);
const re = new RegExp(filter ?? '.');
const rows = Number(rowsArg ?? 40);
const fmt = (v: number): string => `${((100 * v) / total).toFixed(1).padStart(5)}%${requests ? `  ${(v / requests).toFixed(0).padStart(6)} B/req` : ''}`;
const show = (m: Map<string, number>): string => [...m].filter(([k]) => re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, rows).map(([k, v]) => `${fmt(v)}  ${k}`).join('\n');
console.log(`sampled ${(total / 1048576).toFixed(1)} MiB${requests ? `, ${(total / requests).toFixed(0)} B per request over ${requests} requests` : ''}\n--- self\n${show(self)}\n--- inclusive\n${show(incl)}`);
