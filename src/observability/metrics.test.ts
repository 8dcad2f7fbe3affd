import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { BufferedCounter, BufferedHistogram } from './metrics.ts';

const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];

/** The exposition lines of a registry, sorted (series order is first-use order), `_sum` values rounded (summation order differs in the last bits). */
async function exposition(r: Registry): Promise<string[]> {
  return (await r.metrics())
    .split('\n')
    .map((l) => (/_sum/.test(l) ? l.replace(/ ([0-9.e+-]+)$/, (_m, v: string) => ' ' + Number(v).toPrecision(12)) : l))
    .sort();
}

test('BufferedHistogram exposes the same buckets, sum and count as a prom-client Histogram fed the same values', async () => {
  const ra = new Registry();
  const rb = new Registry();
  const plain = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['status_class'] as const, buckets, registers: [ra] });
  const buffered = new BufferedHistogram({ name: 'h_seconds', help: 'h', labelNames: ['status_class'] as const, buckets, registers: [rb] });
  const plainU = new Histogram({ name: 'u_seconds', help: 'u', buckets, registers: [ra] });
  const bufferedU = new BufferedHistogram({ name: 'u_seconds', help: 'u', buckets, registers: [rb] });
  const classes = ['2xx', '4xx', 'error'];
  const children = classes.map((c) => buffered.labels(c));
  let seed = 1;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5000; i++) {
      // bucket bounds themselves, values between them and values above the largest bound
      const v = i % 7 === 0 ? buckets[i % buckets.length]! : i % 11 === 0 ? 0.5 + rnd() : rnd() * 0.12;
      const k = i % 3 === 0 || round === 2 ? 0 : 1 + (i % 2);
      plain.labels(classes[k]!).observe(v);
      children[k]!.observe(v);
      plainU.observe(v / 10);
      bufferedU.observe(v / 10);
    }
    assert.deepEqual(await exposition(rb), await exposition(ra), `round ${round}`);
  }
  assert.throws(() => bufferedU.observe(Number.NaN), TypeError);
});

test('BufferedCounter exposes the same values as a prom-client Counter; unused label sets stay absent', async () => {
  const ra = new Registry();
  const rb = new Registry();
  const plain = new Counter({ name: 'r_total', help: 'r', labelNames: ['action'] as const, registers: [ra] });
  const buffered = new BufferedCounter({ name: 'r_total', help: 'r', labelNames: ['action'] as const, registers: [rb] });
  const actions = ['allow', 'block', 'ban'];
  const children = actions.map((a) => buffered.labels(a));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1000; i++) {
      const k = i % 5 === 0 ? 1 : 0;
      plain.labels(actions[k]!).inc();
      children[k]!.inc();
    }
    assert.deepEqual(await exposition(rb), await exposition(ra));
  }
  assert.doesNotMatch(await rb.metrics(), /ban/);
});
