/**
 * Dev helper: in-process A/B of two checkouts' inspection pipelines on one labeled corpus.
 * `node bench/ab-engine.ts <checkoutA> <checkoutB> <corpus.jsonl.gz> [passes=6]` loads both pipelines (the
 * eval's `evalPolicy` / `evalDetectors`, default policy) into one process, runs them pass by pass in alternation
 * over every record, and prints per build the median over passes (the first pass is warm-up) of p50, p99 and
 * mean µs per request, and the p50/p99 of each record's fastest time. One process and alternation keep the
 * shared machine's drift out of the comparison; run it in both orders. A checkout needs `node_modules` (a
 * `git worktree` with a symlink to this one's will do).
 */
const [dirA, dirB, file, passesArg] = process.argv.slice(2);
const passes = Number(passesArg ?? 6);
async function load(dir: string) {
  const { Pipeline } = await import(`${dir}/src/core/pipeline.ts`);
  const { loadPolicy } = await import(`${dir}/src/config/load.ts`);
  const run = await import(`${dir}/src/engine/eval/run.ts`);
  const corpus = await import(`${dir}/src/engine/eval/corpus.ts`);
  const p = run.evalPolicy(loadPolicy());
  return { pl: new Pipeline({ policy: p, detectors: run.evalDetectors(p), exhaustive: true }), evalRecord: run.evalRecord, readCorpus: corpus.readCorpus };
}
const A = await load(dirA!), B = await load(dirB!);
const recs: any[] = [];
for await (const r of A.readCorpus(file, 0)) recs.push(r);
const pct = (a: number[], q: number) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor((q / 100) * s.length))]!; };
const minA = new Array(recs.length).fill(Infinity), minB = new Array(recs.length).fill(Infinity);
const rows: Record<string, number[][]> = { A: [], B: [] };
for (let k = 0; k < passes; k++) {
  for (const [name, X, mins] of [['A', A, minA], ['B', B, minB]] as const) {
    const t: number[] = [];
    for (let i = 0; i < recs.length; i++) { const { us } = await X.evalRecord(X.pl, recs[i], i + k * 1e6); t.push(us); if (us < mins[i]) mins[i] = us; }
    if (k > 0) rows[name]!.push([pct(t, 50), pct(t, 99), t.reduce((a, b) => a + b, 0) / t.length]);
  }
}
for (const name of ['A', 'B']) {
  const r = rows[name]!;
  const med = (j: number) => pct(r.map((x) => x[j]!), 50);
  console.log(name, 'median of passes: p50', med(0).toFixed(1), 'p99', med(1).toFixed(1), 'mean', med(2).toFixed(1), '| per-record min p50', pct(name === 'A' ? minA : minB, 50).toFixed(1), 'p99', pct(name === 'A' ? minA : minB, 99).toFixed(1));
}
