import type { Command } from 'commander';
import { loadPolicy } from '../config/load.ts';
import type { Detector } from '../core/detector.ts';
import type { Policy } from '../config/schema.ts';
import { formatTable, runEval } from '../engine/eval/run.ts';
import { learnEvalExtension } from '../behavior/positive/eval-learn.ts';

/**
 * An eval extension (e.g. the behaviour engineer's `--learn BENIGN.jsonl[.gz]`): adds options to the command
 * and, before scoring, returns detectors to run with the payload engine (e.g. a positive security model
 * trained on the given benign corpus).
 */
export interface EvalExtension {
  options(cmd: Command): void;
  setup(opts: Record<string, unknown>, policy: Policy): Promise<readonly Detector[]>;
}

/** Registered eval extensions; add with {@link addEvalExtension} before `register` runs. */
const extensions: EvalExtension[] = [];

/** Registers an eval extension (see {@link EvalExtension}). */
export function addEvalExtension(e: EvalExtension): void {
  extensions.push(e);
}

// `--learn`: train API discovery and the positive security model on a benign corpus before scoring (behaviour module)
addEvalExtension(learnEvalExtension);

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: expected an integer ${min}–${max}, got ${v}`);
    return n;
  };
}

/**
 * `bulwark eval --corpus FILE.jsonl[.gz] [--paranoia N] [--policy FILE] [--json] [--misclassified OUT.jsonl]
 * [--limit N]`: runs the real pipeline in-process over a labeled corpus and prints TP/FN/FP/TN, detection
 * rate, FPR, F1 overall and per category, and inspection time p50/p99 (µs). Exit code 0; 2 on bad input.
 */
export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate detection on a labeled corpus in-process (no network)')
    .requiredOption('--corpus <file>', 'labeled corpus, JSONL or JSONL.gz (format: shared corpora README)')
    .option('--paranoia <n>', 'paranoia level 1-4 (overrides the policy)', int('--paranoia', 1, 4))
    .option('--policy <file>', 'policy file (YAML); defaults apply without it')
    .option('--json', 'print one JSON object {overall, categories, timing_us}')
    .option('--misclassified <file>', 'write misclassified records (JSONL) here')
    .option('--limit <n>', 'stop after N records', int('--limit', 1, Number.MAX_SAFE_INTEGER));
  for (const e of extensions) e.options(cmd);
  cmd.action(async (opts: Record<string, unknown>) => {
    try {
      let policy = loadPolicy(opts.policy as string | undefined);
      if (opts.paranoia !== undefined) policy = { ...policy, detection: { ...policy.detection, paranoiaLevel: opts.paranoia as number } };
      const extra: Detector[] = [];
      for (const e of extensions) extra.push(...(await e.setup(opts, policy)));
      const rep = await runEval(opts.corpus as string, policy, {
        limit: opts.limit as number | undefined,
        misclassifiedFile: opts.misclassified as string | undefined,
        extraDetectors: extra,
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ overall: rep.overall, categories: rep.categories, timing_us: rep.timing_us }) + '\n');
      } else {
        process.stdout.write(formatTable(rep, `bulwark eval ${opts.corpus as string} (paranoia ${policy.detection.paranoiaLevel})`) + '\n');
      }
    } catch (err) {
      process.stderr.write(`bulwark eval: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });
}
