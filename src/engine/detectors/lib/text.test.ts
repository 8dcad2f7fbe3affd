import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NeedleSet, needsFrom } from './text.ts';

/** Reference: the first position (and first needle in declaration order there) by trying every position. */
function naive(needles: readonly string[], s: string, from = 0, accept?: (s: string, i: number, n: string) => boolean, after?: (p: number) => boolean) {
  for (let i = Math.max(from, 0); i < s.length; i++) {
    if (after !== undefined && !after(i === 0 ? -1 : s.charCodeAt(i - 1))) continue;
    for (const n of needles) if (s.startsWith(n, i) && (accept === undefined || accept(s, i, n))) return { needle: n, index: i };
  }
  return null;
}

/** Small deterministic PRNG (tests must be reproducible). */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('NeedleSet.find equals a scan of every position (windows 1–8, random text built from needle pieces, with and without filters)', () => {
  const r = rng(7);
  const alphabet = 'abcde_./(#$ xyzé€';
  const sets = [
    ['a', 'bc', 'cde'],
    ['abc', 'b_c', 'e./'],
    ['abcd', 'bcd(', '_.de', 'de#$'],
    ['abcde', 'e.x/(', '(#$ab', 'yzabc', 'cdeab', 'zz(é'],
    ['abcdexyz', 'bcdexy.z', 'x_yzabcd'],
    ['__class__', '_module.', '.getclass()', 'getattr(', '#set(', '{php}', 'self.', 'ognl.', '%{(#'],
  ];
  for (const needles of sets) {
    const set = new NeedleSet(needles);
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const len = Math.floor(r() * 60);
      while (s.length < len) s += r() < 0.3 ? needles[Math.floor(r() * needles.length)]!.slice(Math.floor(r() * 3)) : alphabet[Math.floor(r() * alphabet.length)];
      const from = Math.floor(r() * 4);
      assert.deepEqual(set.find(s, undefined, from), naive(needles, s, from), `${JSON.stringify(needles)} in ${JSON.stringify(s)} from ${from}`);
      const acc = (v: string, i: number) => i % 2 === 0;
      const aft = (p: number) => p !== 0x5f;
      assert.deepEqual(set.find(s, acc, 0, aft), naive(needles, s, 0, acc, aft), `${JSON.stringify(needles)} in ${JSON.stringify(s)} (filters)`);
    }
  }
});

test('NeedleSet.find stays linear on 64 KiB of needle-prefix repetitions', () => {
  const set = new NeedleSet(['__class__', '__init__', '_module.', 'self.attr.', 'getattr(']);
  const s = '__clas_modul self.att getatt'.repeat(2400);
  const t = performance.now();
  for (let k = 0; k < 10; k++) assert.equal(set.find(s), null);
  assert.ok(performance.now() - t < 500, `took ${performance.now() - t} ms`);
});

test('needsFrom returns the characters when every needle has one of them, and names a needle without', () => {
  assert.equal(needsFrom(['<?php', '$_get[', 'php://input'], '<$:'), '<$:');
  assert.throws(() => needsFrom(['<?php', 'phpinfo'], '<$:'), /"phpinfo"/);
});

test('NeedleSet.find on long values (trigram pre-check) equals a scan of every position, across sets and repeated values', () => {
  const r = rng(11);
  const sets = [
    ['__class__', '_module.', '.getclass()', 'getattr(', '#set(', '{php}', 'self.', 'x'],
    ['etc/passwd', 'boot.ini', 'web.config', 'sysprep', 'unattend'],
    ['cmd', 'iex', 'powershell', '%comspec%'],
    ['ab', 'xé€', 'zz'],
  ].map((n) => [n, new NeedleSet(n)] as const);
  const alphabet = 'abcdefgz_./(#$ ,é€';
  const values: string[] = [];
  for (let k = 0; k < 400; k++) {
    let s = '';
    const len = 256 + Math.floor(r() * 1500);
    const all = sets.flatMap(([n]) => n);
    while (s.length < len) s += r() < 0.02 ? all[Math.floor(r() * all.length)]! : alphabet[Math.floor(r() * alphabet.length)];
    values.push(s);
    // same length, different content (the value cache compares contents)
    values.push(s.slice(0, -1) + (s.endsWith('a') ? 'b' : 'a'));
  }
  for (let round = 0; round < 2; round++) {
    for (const s of values) {
      for (const [needles, set] of sets) assert.deepEqual(set.find(s), naive(needles, s), `${JSON.stringify(needles)} in ${JSON.stringify(s.slice(0, 80))}…`);
    }
  }
});
