import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policySchema } from '../../config/schema.ts';
import { runEval } from '../../engine/eval/run.ts';
import { EvalPositiveDetector, learnEvalExtension, splitValue } from './eval-learn.ts';


function rec(id: number, target: string) {
  return { id: `t-${id}`, label: 'benign', category: null, method: 'GET', target, headers: [['Host', 'api.example.test']] };
}

test('deterministic split and --learn: learns one part, scores the held-out part of the same corpus', async () => {
  const a = splitValue({ id: 'x-1', target: '/' });
  assert.equal(a, splitValue({ id: 'x-1', target: '/' }));
  const vals = Array.from({ length: 1000 }, (_, i) => splitValue({ id: `r${i}`, target: '/' }));
  const low = vals.filter((v) => v < 0.5).length;
  assert.ok(low > 420 && low < 580, `balanced split (${low})`);

  const dir = mkdtempSync(join(tmpdir(), 'bwk-learn-'));
  try {
    const file = join(dir, 'benign.jsonl');
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify(rec(i, `/api/items/${i}?page=${i % 7}&sort=name`)));
    writeFileSync(file, lines.join('\n') + '\n');
    const policy = policySchema.parse({});
    const opts: Record<string, unknown> = { learn: file, corpus: file, learnSplit: 0.5, learnMinSamples: 20 };
    const dets = await learnEvalExtension.setup(opts, policy);
    assert.equal(dets.length, 2);
    assert.notEqual(opts.corpus, file, 'the held-out part is scored');
    const held = readFileSync(String(opts.corpus), 'utf8').trim().split('\n');
    assert.ok(held.length > 150 && held.length < 250, `held out ${held.length}`);
    const rep = await runEval(String(opts.corpus), policy, { extraDetectors: dets });
    assert.equal(rep.overall.fp, 0);
    const pos = dets[1] as EvalPositiveDetector;
    assert.equal(pos.summary().enforced, held.length, 'every held-out request hit an enforced profile (counted once)');
    assert.equal(pos.summary().flagged, 0, 'held-out benign requests of the same shape are not flagged');
    // a deviating request is flagged
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify(rec(9999, '/api/items/5?page=abc&sort=name&admin=1')) + '\n');
    const rep2 = await runEval(bad, policy, { extraDetectors: dets });
    assert.equal(rep2.flagged.overall.fp, 1, 'flagged (a scoring signal), not blocked');
    assert.equal(rep2.overall.fp, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
