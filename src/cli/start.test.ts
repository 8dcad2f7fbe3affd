import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundedHeapFlags, heapLimitMb } from './start.ts';

test('heapLimitMb: at least 144 MiB, grows with state.maxKeys', () => {
  assert.equal(heapLimitMb(200_000), 144);
  assert.equal(heapLimitMb(1_000), 144);
  assert.equal(heapLimitMb(1_000_000), Math.ceil(40 + 500_000_000 / 1048576));
  assert.ok(heapLimitMb(2_000_000) > heapLimitMb(1_000_000));
});

test('boundedHeapFlags: default bound, user flags and opt-out win', () => {
  assert.deepEqual(boundedHeapFlags(undefined, [], {}), ['--max-old-space-size=144', '--max-semi-space-size=2']);
  assert.deepEqual(boundedHeapFlags(undefined, ['--max-semi-space-size=8'], {}), ['--max-old-space-size=144']);
  assert.equal(boundedHeapFlags(undefined, ['--max-old-space-size=4096'], {}), null);
  assert.equal(boundedHeapFlags(undefined, ['--max_old_space_size=512'], {}), null);
  assert.equal(boundedHeapFlags(undefined, [], { NODE_OPTIONS: '--max-old-space-size=300' }), null);
  assert.equal(boundedHeapFlags(undefined, [], { BULWARK_HEAP_MB: '0' }), null);
  assert.deepEqual(boundedHeapFlags(undefined, [], { BULWARK_HEAP_MB: '512' }), ['--max-old-space-size=512', '--max-semi-space-size=2']);
});

test('boundedHeapFlags: derived from the policy file state.maxKeys; a broken file falls back to the default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-start-'));
  try {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'state:\n  maxKeys: 1000000\n');
    assert.deepEqual(boundedHeapFlags(big, [], {}), [`--max-old-space-size=${heapLimitMb(1_000_000)}`, '--max-semi-space-size=2']);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'state: [unclosed\n');
    assert.deepEqual(boundedHeapFlags(bad, [], {}), ['--max-old-space-size=144', '--max-semi-space-size=2']);
    assert.deepEqual(boundedHeapFlags(join(dir, 'missing.yaml'), [], {}), ['--max-old-space-size=144', '--max-semi-space-size=2']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
