import { createWriteStream, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import type { EvalExtension } from '../../cli/eval.ts';
import { bodyOf, contextFromRecord, readCorpus, type CorpusRecord } from '../../engine/eval/corpus.ts';
import { Inventory, queryParamNames } from '../discovery/inventory.ts';
import { DiscoveryDetector } from '../discovery/detector.ts';
import { discoverySchema } from '../discovery/schema.ts';
import { PositiveModel } from './model.ts';
import { PositiveDetector, endpointKey } from './detector.ts';
import { bodyParts, queryParts } from './parts.ts';
import { positiveModelSchema, type PositiveModelPolicy } from './schema.ts';

/**
 * Deterministic split of a corpus: FNV-1a hash of the record id (its target when it has none) mapped to [0, 1).
 * The same record always falls on the same side, so `--learn X --corpus X --learn-split 0.5` learns from one
 * half and scores the other, reproducibly.
 */
export function splitValue(r: Pick<CorpusRecord, 'id' | 'target'>): number {
  const s = r.id || r.target;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // final avalanche (murmur3 fmix32) so consecutive ids spread evenly
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The positive detector as eval runs it, counting each record once (by request id) even when eval runs a record
 * twice (its untimed JIT warm-up pass).
 */
export class EvalPositiveDetector extends PositiveDetector {
  private readonly seen = new Map<string, { enforced: boolean; flagged: boolean }>();

  private note(ctx: RequestContext, flagged: boolean): void {
    const cur = this.seen.get(ctx.id);
    const enforced = this.model.state(endpointKey(ctx), ctx.startedAt) !== 'learning';
    this.seen.set(ctx.id, { enforced: enforced || (cur?.enforced ?? false), flagged: flagged || (cur?.flagged ?? false) });
  }

  override inspectRequest(ctx: RequestContext): Signal[] | undefined {
    const r = super.inspectRequest(ctx);
    this.note(ctx, r !== undefined);
    return r;
  }

  override inspectBody(ctx: RequestContext): Signal[] | undefined {
    const r = super.inspectBody(ctx);
    this.note(ctx, r !== undefined);
    return r;
  }

  /** Distinct scored requests whose endpoint profile was enforced, and how many of them were flagged. */
  summary(): { enforced: number; flagged: number } {
    let enforced = 0;
    let flagged = 0;
    for (const v of this.seen.values()) {
      if (v.enforced) enforced++;
      if (v.flagged) flagged++;
    }
    return { enforced, flagged };
  }
}

/** What {@link learnFromCorpus} produced. */
export interface Learned {
  inventory: Inventory;
  model: PositiveModel;
  /** Records learned from, and records of the learn corpus left out by the split. */
  learned: number;
  heldOut: number;
}

/**
 * Trains API discovery and the positive model offline from a benign corpus (no network): every record with
 * `splitValue < split` is templated by discovery (as a 200 response) and its parameters learned.
 * @param heldOutFile - when set, the other records are written there (JSONL) for scoring.
 * @throws {CorpusError} on an unreadable or malformed corpus.
 */
export async function learnFromCorpus(file: string, policy: Policy, model: PositiveModel, split = 1, heldOutFile?: string): Promise<Learned> {
  const inventory = new Inventory(discoverySchema.parse({ learningPeriod: 0, unknownScore: 0, unknownRisk: 0 }), 0);
  const out = heldOutFile ? createWriteStream(heldOutFile) : undefined;
  let learned = 0;
  let heldOut = 0;
  const limit = policy.body.inspectLimitBytes;
  for await (const r of readCorpus(file)) {
    if (splitValue(r) >= split) {
      heldOut++;
      if (out && !out.write(JSON.stringify(r) + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
      continue;
    }
    const ctx = contextFromRecord(r, limit, learned);
    ctx.route = inventory.observe(ctx.method, ctx.path, 200, queryParamNames(ctx.rawQuery), 0);
    const parts = queryParts(ctx);
    const body = bodyOf(r, limit);
    if (body) {
      ctx.body = body;
      parts.push(...bodyParts(ctx));
    }
    model.learn(endpointKey(ctx), parts, 0);
    learned++;
  }
  if (out) await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  return { inventory, model, learned, heldOut };
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new Error(`--learn-split: expected a fraction between 0 and 1 (exclusive), got ${v}`);
  return n;
}

function posInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--learn-min-samples: expected a positive integer, got ${v}`);
  return n;
}

/**
 * `bulwark eval --learn BENIGN.jsonl[.gz] [--learn-split F] [--learn-min-samples N] [--learn-export FILE]
 * --corpus TEST.jsonl[.gz]`: trains API discovery and the positive security model on the benign corpus, then
 * the eval scores `--corpus` with the payload engine plus the trained positive model (which no longer learns).
 * With `--learn-split F` only the records whose {@link splitValue} is below F are learned; when `--corpus` is
 * the same file, the other records are scored (held out), so the false-positive rate is measured on traffic
 * the model never saw. Positive-model signals are counted in the `flag-*` columns (their points stay below the
 * blocking threshold alone). `--learn-min-samples` overrides `learning.minSamples` (endpoints with fewer
 * learned requests stay in learning and are not enforced); the learning period counts as elapsed.
 */
export const learnEvalExtension: EvalExtension = {
  options(cmd: Command): void {
    cmd
      .option('--learn <file>', 'benign corpus to train API discovery and the positive security model on (JSONL or JSONL.gz)')
      .option('--learn-split <fraction>', 'learn only this deterministic share of --learn; if --corpus is the same file, score the rest', fraction)
      .option('--learn-min-samples <n>', 'requests an endpoint needs before its profile is enforced (default: the policy, 200)', posInt)
      .option('--learn-export <file>', 'write the learned positive model (JSON) for review');
  },
  async setup(opts: Record<string, unknown>, policy: Policy): Promise<readonly Detector[]> {
    const file = opts.learn as string | undefined;
    if (!file) return [];
    const base = (policy.behavior as { positiveModel?: PositiveModelPolicy }).positiveModel ?? positiveModelSchema.parse({});
    const pm: PositiveModelPolicy = {
      ...base,
      enabled: true,
      mode: 'auto',
      learning: { ...base.learning, period: 0, minSamples: (opts.learnMinSamples as number | undefined) ?? base.learning.minSamples },
    };
    const split = (opts.learnSplit as number | undefined) ?? 1;
    const same = opts.corpus !== undefined && resolve(String(opts.corpus)) === resolve(file);
    let heldOutFile: string | undefined;
    if (same && split < 1) heldOutFile = join(mkdtempSync(join(tmpdir(), 'bulwark-learn-')), 'held-out.jsonl');
    const model = new PositiveModel(pm);
    const t0 = performance.now();
    const res = await learnFromCorpus(file, policy, model, split, heldOutFile);
    if (heldOutFile) opts.corpus = heldOutFile; // score the held-out records only
    const enforcing = Object.values(model.export().endpoints).filter((e) => e.state === 'enforcing').length;
    process.stderr.write(
      `bulwark eval --learn: learned ${res.learned} requests (${model.size} endpoint profiles, ${enforcing} enforcing at minSamples ${pm.learning.minSamples}; ` +
        `${res.inventory.size} templated endpoints) in ${Math.round(performance.now() - t0)} ms` +
        (heldOutFile ? `; scoring the ${res.heldOut} held-out records of the same corpus` : split < 1 ? `; ${res.heldOut} records of --learn left out` : '') +
        '\n',
    );
    if (opts.learnExport) writeFileSync(String(opts.learnExport), JSON.stringify(model.export(), null, 1));
    const disc = discoverySchema.parse({ learningPeriod: 0, unknownScore: 0, unknownRisk: 0 });
    // discovery only templates routes here (no unknown-endpoint signals): the figure is the positive model's
    const det = new EvalPositiveDetector(pm, model);
    process.once('beforeExit', () => {
      const st = det.summary();
      const pct = st.enforced ? ((100 * st.flagged) / st.enforced).toFixed(2) : '0.00';
      process.stderr.write(`bulwark eval --learn: positive model enforced on ${st.enforced} scored requests, flagged ${st.flagged} (${pct}%); deviations ${JSON.stringify(det.stats.kinds)}\n`);
    });
    return [new DiscoveryDetector(disc, res.inventory), det];
  },
};
