import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boundedHeapFlags, heapLimitMb } from './start.ts';

test('heapLimitMb: at least 112 MiB, grows with state.maxKeys', () => {
  assert.equal(heapLimitMb(200_000), 117);
  assert.equal(heapLimitMb(1_000), 112);
  assert.equal(heapLimitMb(1_000_000), Math.ceil(40 + 400_000_000 / 1048576));
  assert.ok(heapLimitMb(2_000_000) > heapLimitMb(1_000_000));
});

test('boundedHeapFlags: default bound, user flags and opt-out win', () => {
  assert.deepEqual(boundedHeapFlags(undefined, [], {}), ['--max-old-space-size=117', '--max-semi-space-size=8']);
  assert.deepEqual(boundedHeapFlags(undefined, ['--max-semi-space-size=16'], {}), ['--max-old-space-size=117']);
  assert.equal(boundedHeapFlags(undefined, ['--max-old-space-size=4096'], {}), null);
  assert.equal(boundedHeapFlags(undefined, ['--max_old_space_size=512'], {}), null);
  assert.equal(boundedHeapFlags(undefined, [], { NODE_OPTIONS: '--max-old-space-size=300' }), null);
  assert.equal(boundedHeapFlags(undefined, [], { BULWARK_HEAP_MB: '0' }), null);
  assert.deepEqual(boundedHeapFlags(undefined, [], { BULWARK_HEAP_MB: '512' }), ['--max-old-space-size=512', '--max-semi-space-size=8']);
});

test('boundedHeapFlags: derived from the policy file state.maxKeys; a broken file falls back to the default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-start-'));
  try {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'state:\n  maxKeys: 1000000\n');
    assert.deepEqual(boundedHeapFlags(big, [], {}), [`--max-old-space-size=${heapLimitMb(1_000_000)}`, '--max-semi-space-size=8']);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'state: [unclosed\n');
    assert.deepEqual(boundedHeapFlags(bad, [], {}), ['--max-old-space-size=117', '--max-semi-space-size=8']);
    assert.deepEqual(boundedHeapFlags(join(dir, 'missing.yaml'), [], {}), ['--max-old-space-size=117', '--max-semi-space-size=8']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bulwark start re-executes itself in place (same PID) with the bounded heap and serves traffic', { skip: process.platform !== 'linux' || typeof (process as { execve?: unknown }).execve !== 'function' }, async (t) => {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-start-'));
  const env: NodeJS.ProcessEnv = { ...process.env, BULWARK_DATA_DIR: join(dir, 'data'), BULWARK_DEMO_PORT: '0' };
  delete env.NODE_OPTIONS;
  delete env.BULWARK_HEAP_MB;
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const t0 = Date.now();
  while (!/admin\s+http/.test(out)) {
    if (Date.now() - t0 > 30_000 || child.exitCode !== null) assert.fail(`did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // the process we spawned (same PID) now runs with the flags; argv after them is unchanged
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  assert.ok(argv.includes('--max-old-space-size=117'), argv.join(' '));
  assert.ok(argv.includes('--max-semi-space-size=8'), argv.join(' '));
  assert.equal(argv.filter((a) => a.startsWith('--max-old-space-size')).length, 1, 'exactly one re-exec');
  const gateway = /gateway\s+(http:\/\/\S+)/.exec(out)![1]!;
  const res = await fetch(gateway + '/api/products');
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'SIGTERM reaches the re-executed gateway: graceful exit 0');
});
