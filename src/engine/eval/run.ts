import { writeFileSync, appendFileSync } from 'node:fs';
import type { Detector } from '../../core/detector.ts';
import { Pipeline } from '../../core/pipeline.ts';
import { ACTION_RANK, type Verdict } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { createPayloadDetector } from '../detector.ts';
import { listsDetector } from '../../detectors/lists.ts';
import type { Services } from '../../core/services.ts';
import { bodyOf, contextFromRecord, readCorpus, type CorpusRecord } from './corpus.ts';
import { emptyConfusion, percentile, rates, record, type Confusion, type Rates } from './metrics.ts';

/**
 * `bulwark eval` core: runs the real decision pipeline in-process over a labeled corpus, the way the data
 * plane does (request phase, then the body phase with the body prefix when the request has a body, then
 * decide), with `exhaustive: true` so every detector sees every request.
 *
 * Timing is per request (request phase + body phase + decide), in the steady state of a running gateway:
 * first an untimed warm-up pass over the first {@link WARMUP} records through a separate, throw-away
 * pipeline (so V8 has compiled and optimised the inspection code for this kind of traffic), then the timed
 * pass over every record through a fresh pipeline, whose engine starts with empty result caches (no record is
 * answered from a cache filled by the warm-up pass).
 *
 * Detected means the verdict would block (`wouldBe` ≥ block, i.e. monitor mode does not hide a detection):
 * the primary figure. A request with a positive anomaly score below the threshold is "flagged" and counted
 * separately ({@link EvalReport.flagged}); the corpus README accepts "block (4xx) or flag", the targets use
 * would-block.
 */

/**
 * Records run once untimed before measuring (JIT warm-up). 500 was not enough: V8 keeps re-optimising the
 * inspection code for the first few thousand requests of a new traffic mix, and those requests then set the p99
 * (measured on benign-api-dev: 136–153 of the timed records after a 500-record warm-up took over 1 ms). 5,000
 * still left re-optimisation in the timed pass (benign-api-dev, 9,427 records: p99 370 µs after 5,000, 318 µs
 * after all of them, same build and machine); a gateway runs far longer than either.
 */
const WARMUP = 10000;
/** Records read per batch before running them (bounds memory; separates corpus I/O from timing). */
const BATCH = 2000;

/** Options of one evaluation run. */
export interface EvalOptions {
  /** Stop after this many records (0 = all). */
  limit?: number;
  /** Write misclassified records (with their verdict) to this JSONL file. */
  misclassifiedFile?: string;
  /**
   * Detectors run besides the payload engine (hook for extensions such as `--learn`, which trains the positive
   * security model before scoring and passes its detector here).
   */
  extraDetectors?: readonly Detector[];
}

/** Figures of one run, overall and per category (the `--json` shape plus details for the table). */
export interface EvalReport {
  overall: Rates;
  categories: Record<string, Rates>;
  timing_us: { p50: number; p99: number };
  /** Requests with anomaly score > 0 (flagged), as a second detection figure: overall and per category. */
  flagged: { overall: Rates; categories: Record<string, Rates> };
  records: number;
}

/** A policy fit for offline evaluation: rate limits off (one client sends everything), monitor mode off. */
export function evalPolicy(policy: Policy): Policy {
  return { ...policy, mode: 'enforce', rateLimits: [] };
}

/**
 * The detectors eval runs, in pipeline order: the policy's allow/deny lists (stateless, policy-only), the
 * payload engine (if enabled), and the extra ones (extensions). Stateful or per-client detectors — active
 * decisions, rate limits and the behavioural detectors — are off: one offline client replays every record,
 * so their verdicts would measure the corpus order, not the payloads.
 */
export function evalDetectors(policy: Policy, extra: readonly Detector[] = []): Detector[] {
  const out: Detector[] = [];
  // the lists factory reads only the policy; it is given no services
  const lists = listsDetector(policy, {} as Services);
  if (lists) out.push(lists);
  const p = createPayloadDetector(policy);
  if (p) out.push(p);
  out.push(...extra);
  return out;
}

/**
 * Runs one record through a pipeline; returns the verdict and the inspection time in µs (request phase +
 * body phase + decide, measured with `performance.now()`).
 */
export async function evalRecord(pipeline: Pipeline, r: CorpusRecord, seq: number): Promise<{ verdict: Verdict; us: number; signals: string[] }> {
  const ctx = contextFromRecord(r, pipeline.policy.body.inspectLimitBytes, seq);
  const body = bodyOf(r, pipeline.policy.body.inspectLimitBytes);
  const t0 = performance.now();
  const a = pipeline.runRequest(ctx);
  if (a) await a;
  if (body) {
    ctx.body = body;
    const b = pipeline.runBody(ctx);
    if (b) await b;
  }
  const verdict = pipeline.decide(ctx);
  const us = (performance.now() - t0) * 1000;
  return { verdict, us, signals: ctx.signals.filter((s) => s.score > 0).map((s) => s.ruleId) };
}

/** Runs a corpus file; see {@link EvalOptions}. */
export async function runEval(file: string, policy: Policy, opts: EvalOptions = {}): Promise<EvalReport> {
  const p = evalPolicy(policy);
  // the extra detectors are stateful instances owned by the caller: they see only the timed pass
  const warm = new Pipeline({ policy: p, detectors: evalDetectors(p), exhaustive: true });
  {
    let n = 0;
    for await (const r of readCorpus(file, Math.min(WARMUP, opts.limit || WARMUP))) await evalRecord(warm, r, -1 - n++);
  }
  await warm.close();
  const pipeline = new Pipeline({ policy: p, detectors: evalDetectors(p, opts.extraDetectors), exhaustive: true });
  const overall = emptyConfusion();
  const cats = new Map<string, Confusion>();
  const flagOverall = emptyConfusion();
  const flagCats = new Map<string, Confusion>();
  const times: number[] = [];
  if (opts.misclassifiedFile) writeFileSync(opts.misclassifiedFile, '');
  let seq = 0;
  // Records are read in batches and then run back to back, so that decompression and JSON parsing of the
  // corpus do not interleave with (and pollute the timing of) inspection.
  const it = readCorpus(file, opts.limit ?? 0)[Symbol.asyncIterator]();
  const nextBatch = async (): Promise<CorpusRecord[]> => {
    const b: CorpusRecord[] = [];
    while (b.length < BATCH) {
      const x = await it.next();
      if (x.done) break;
      b.push(x.value);
    }
    return b;
  };
  for (let batch = await nextBatch(); batch.length > 0; batch = await nextBatch())
  for (const r of batch) {
    const { verdict, us, signals } = await evalRecord(pipeline, r, seq++);
    times.push(us);
    const attack = r.label === 'attack';
    const detected = ACTION_RANK[verdict.wouldBe] >= ACTION_RANK.block;
    const flagged = detected || signals.length > 0;
    const cat = r.category ?? (attack ? 'uncategorized' : 'benign');
    record(overall, attack, detected);
    record(flagOverall, attack, flagged);
    let c = cats.get(cat);
    if (!c) cats.set(cat, (c = emptyConfusion()));
    record(c, attack, detected);
    let f = flagCats.get(cat);
    if (!f) flagCats.set(cat, (f = emptyConfusion()));
    record(f, attack, flagged);
    if (opts.misclassifiedFile && attack !== detected) {
      appendFileSync(
        opts.misclassifiedFile,
        JSON.stringify({ ...r, _eval: { expected: r.label, wouldBe: verdict.wouldBe, anomalyScore: verdict.anomalyScore, signals } }) + '\n',
      );
    }
  }
  await pipeline.close();
  const sortCats = (m: Map<string, Confusion>) =>
    Object.fromEntries([...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, rates(v)]));
  return {
    overall: rates(overall),
    categories: sortCats(cats),
    timing_us: { p50: round1(percentile(times, 50)), p99: round1(percentile(times, 99)) },
    flagged: { overall: rates(flagOverall), categories: sortCats(flagCats) },
    records: seq,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Formats a report as a fixed-width table (overall, then one row per category). */
export function formatTable(rep: EvalReport, title: string): string {
  const pct = (x: number) => (x * 100).toFixed(2) + '%';
  const head = ['category', 'TP', 'FN', 'FP', 'TN', 'detect', 'FPR', 'F1', 'flag-det', 'flag-FPR'];
  const rows: string[][] = [];
  const row = (name: string, r: Rates, f: Rates) => [name, String(r.tp), String(r.fn), String(r.fp), String(r.tn), pct(r.tpr), pct(r.fpr), r.f1.toFixed(4), pct(f.tpr), pct(f.fpr)];
  rows.push(row('overall', rep.overall, rep.flagged.overall));
  for (const [k, v] of Object.entries(rep.categories)) rows.push(row(k, v, rep.flagged.categories[k] ?? v));
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [
    title,
    fmt(head),
    fmt(w.map((n) => '-'.repeat(n))),
    ...rows.map(fmt),
    '',
    `records ${rep.records}; inspection time per request p50 ${rep.timing_us.p50} µs, p99 ${rep.timing_us.p99} µs`,
    'detected = verdict would block (anomaly score ≥ threshold or a blocking action); flag-* = any scoring signal',
  ].join('\n');
}
