/**
 * Dev helper: `node bench/profile-report.ts <file.cpuprofile> [lastSeconds] [filterRegex] [rows]` prints the busy
 * (non-idle) CPU of a V8 profile by function, self and inclusive, optionally only over its last N seconds.
 */
import { readFileSync } from 'node:fs';
const [file, lastS, filter, rowsArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file!, 'utf8')) as { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]; samples: number[]; timeDeltas: number[]; endTime: number; startTime: number };
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const parent = new Map<number, number>();
for (const x of p.nodes) for (const ch of x.children ?? []) parent.set(ch, x.id);
const from = lastS ? p.endTime - Number(lastS) * 1e6 : 0;
const self = new Map<number, number>();
let busy = 0, t = p.startTime;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i] ?? 0; t += dt;
  if (t < from) continue;
  const x = byId.get(p.samples[i]!)!;
  if (x.callFrame.functionName === '(idle)') continue;
  self.set(x.id, (self.get(x.id) ?? 0) + dt); busy += dt;
}
const key = (id: number) => { const cf = byId.get(id)!.callFrame; return `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`; };
const selfBy = new Map<string, number>(), incl = new Map<string, number>();
for (const [id, v] of self) {
  selfBy.set(key(id), (selfBy.get(key(id)) ?? 0) + v);
  const seen = new Set<string>();
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) { const k = key(x); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + v); } }
}
const re = new RegExp(filter ?? '.');
const rows = Number(rowsArg ?? 40);
const show = (m: Map<string, number>) => [...m].filter(([k]) => re.test(k)).sort((a, b) => b[1] - a[1]).slice(0, rows).map(([k, v]) => `${(100 * v / busy).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`busy ${(busy / 1000).toFixed(0)} ms`);
console.log('--- self'); console.log(show(selfBy));
console.log('--- inclusive'); console.log(show(incl));
