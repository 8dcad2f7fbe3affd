/**
 * Payload engine inspection cost per request (issue 3 target: p50 ≤ 50 µs, p99 ≤ 250 µs on benign traffic).
 *
 * Runs the payload engine in-process (no network) on a built-in benign sample (API-style GET/POST requests
 * with JSON, forms and free text) and, when present, on the benign dev corpora in `../shared/corpora/`.
 * Prints wall-clock p50/p99/mean µs per request and the process CPU time per request (less sensitive to
 * other load on a shared machine), after one warm-up pass. Knob: BENCH_ENGINE_ROUNDS (default 3 timed passes).
 */
import { existsSync } from 'node:fs';
import { validatePolicy } from '../../src/config/load.ts';
import { PayloadEngine } from '../../src/engine/engine.ts';
import { ruleRegistry } from '../../src/engine/registry.ts';
import { bodyOf, contextFromRecord, readCorpus, type CorpusRecord } from '../../src/engine/eval/corpus.ts';
import { percentile } from '../../src/engine/eval/metrics.ts';

const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

/** A small benign sample in the shape of real API traffic (written for this bench; no corpus strings). */
export function builtinSample(): CorpusRecord[] {
  const out: CorpusRecord[] = [];
  const texts = [
    "O'Brien's order arrived late; please select another carrier or drop it.", 'Bonjour ! Où est la gare ?',
    'Status=="ACTIVE" AND Type=="BANK"', '<p>Thanks for your message</p>', 'Meeting at 10:30 — room #4 (2nd floor)',
    'Zahlung über 1.250,00 € erhalten', '请在周五之前回复', 'Use `npm ci` then `npm test`', 'name eq "Alice" and active eq true',
  ];
  for (let i = 0; i < 200; i++) {
    const t = texts[i % texts.length]!;
    const base = { id: `b${i}`, label: 'benign' as const, category: null };
    const headers: [string, string][] = [['Host', 'api.example.test'], ['User-Agent', UA], ['Accept', 'application/json'], ['Cookie', `sid=${(i * 7919).toString(36)}; theme=dark`]];
    if (i % 3 === 0) {
      out.push({ ...base, method: 'GET', target: `/api/v2/users/${1000 + i}/orders?page=${i % 5}&sort=created_at&q=${encodeURIComponent(t)}`, headers, body: '' });
    } else if (i % 3 === 1) {
      const body = JSON.stringify({ user: { id: i, email: `u${i}@example.test`, name: 'Jane Doe' }, note: t, items: [{ sku: `SKU-${i}`, qty: 2 }, { sku: 'X-1', qty: 1 }], tags: ['a', 'b'] });
      out.push({ ...base, method: 'POST', target: '/api/v2/orders', headers: [...headers, ['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]], body });
    } else {
      const body = `channel=C${i}&text=${encodeURIComponent(t)}&as_user=true`;
      out.push({ ...base, method: 'POST', target: '/api/chat.postMessage', headers: [...headers, ['Content-Type', 'application/x-www-form-urlencoded']], body });
    }
  }
  return out;
}

/** Measures one record set; returns the printed line. */
export function measure(name: string, recs: readonly CorpusRecord[], engine: PayloadEngine, rounds: number): string {
  // the request context and body prefix are what the data plane hands the engine: built outside the timed
  // region (as `bulwark eval` does), so the figure is inspection only and not the harness's header parsing
  const prepare = (r: CorpusRecord) => ({ ctx: contextFromRecord(r, 65536), body: bodyOf(r, 65536) });
  const inspect = ({ ctx, body }: ReturnType<typeof prepare>) => {
    engine.inspectRequest(ctx);
    if (body) {
      ctx.body = body;
      engine.inspectBody(ctx);
    }
  };
  for (const r of recs) inspect(prepare(r)); // warm-up
  const wall: number[] = [];
  let cpuUs = 0;
  for (let k = 0; k < rounds; k++) {
    for (const r of recs) {
      const x = prepare(r);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      inspect(x);
      wall.push((performance.now() - t0) * 1000);
      const c = process.cpuUsage(cpu0);
      cpuUs += c.user + c.system;
    }
  }
  const n = wall.length;
  const mean = wall.reduce((a, b) => a + b, 0) / n;
  const cpuPer = cpuUs / n;
  return `${name.padEnd(28)} n=${String(n).padStart(6)}  p50 ${percentile(wall, 50).toFixed(1).padStart(6)} µs  p99 ${percentile(wall, 99).toFixed(1).padStart(7)} µs  mean ${mean.toFixed(1).padStart(6)} µs  cpu/req ${cpuPer.toFixed(1).padStart(6)} µs`;
}

/** Bench section entry point (`npm run bench engine`): prints one line per sample / corpus. */
export async function run(): Promise<void> {
  const rounds = Number(process.env.BENCH_ENGINE_ROUNDS ?? 3);
  const policy = validatePolicy({});
  const engine = new PayloadEngine(policy.detection, ruleRegistry());
  console.log(`\n## payload engine inspection cost (${engine.activeRules} rules at paranoia ${policy.detection.paranoiaLevel}; targets p50 ≤ 50 µs, p99 ≤ 250 µs)`);
  console.log(measure('built-in benign sample', builtinSample(), engine, rounds * 5));
  const dir = new URL('../../../shared/corpora/', import.meta.url);
  for (const f of ['csic-train-benign.jsonl.gz', 'benign-api-dev.jsonl.gz', 'payloads-dev.jsonl.gz']) {
    const path = new URL(f, dir).pathname;
    if (!existsSync(path)) {
      console.log(`${f.padEnd(28)} (not present, skipped)`);
      continue;
    }
    const recs: CorpusRecord[] = [];
    for await (const r of readCorpus(path)) recs.push(r);
    console.log(measure(f.replace('.jsonl.gz', ''), recs, engine, rounds));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
