import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { send, tempDir, getText } from './helpers/index.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('check-config: ok / errors with code and path, exit codes', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  await writeFile(good, 'mode: monitor\nrateLimits:\n  - id: api\n    limit: 50\n    window: 10s\n');
  const r1 = run(['check-config', good]);
  assert.equal(r1.status, 0);
  assert.equal(r1.stdout.trim(), 'ok');

  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, 'rateLimits:\n  - id: a\n    limit: 1\n  - id: b\n    limit: 2\n  - id: c\n    limit: -1\nmode: sometimes\n');
  const r2 = run(['check-config', bad]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /^BWK_CONFIG_INVALID rateLimits\[2\]\.limit: expected positive integer$/m);
  assert.match(r2.stderr, /^BWK_CONFIG_INVALID mode: /m);

  const syntax = join(dir, 'syntax.yaml');
  await writeFile(syntax, 'mode: [unclosed\n');
  const r3 = run(['check-config', syntax]);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /^BWK_CONFIG_PARSE line \d+:\d+: /m);

  const r4 = run(['check-config', join(dir, 'missing.yaml')]);
  assert.equal(r4.status, 1);
  assert.match(r4.stderr, /^BWK_CONFIG_READ /m);

  const help = run(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /start/);
  assert.match(help.stdout, /check-config/);
  assert.match(run(['start', '--help']).stdout, /--upstream <url>/);
});

test('start: runs the demo API behind the gateway, env overrides, graceful SIGTERM', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--log-level', 'warn'], {
    env: { ...process.env, BULWARK_DATA_DIR: join(dir, 'data'), BULWARK_DEMO_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const t0 = Date.now();
  while (!/admin\s+http/.test(out)) {
    if (Date.now() - t0 > 20_000 || child.exitCode !== null) assert.fail(`did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const gateway = /gateway\s+(http:\/\/\S+)/.exec(out)![1]!;
  const admin = /admin\s+(http:\/\/\S+)/.exec(out)![1]!;
  assert.match(out, /demo API\s+http:\/\/127\.0\.0\.1:\d+/);
  const products = await send(gateway, '/api/products');
  assert.equal(products.status, 200);
  assert.ok(Array.isArray(products.json().products));
  const login = await send(gateway, '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'wonderland' }) });
  assert.equal(login.status, 200);
  assert.equal((await getText(admin + '/readyz')).status, 200);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'graceful shutdown exits 0');
});

test('start: invalid environment override fails with BWK_CONFIG_ENV', () => {
  const r = run(['start'], { BULWARK_PORT: 'eighty', BULWARK_DATA_DIR: '/nonexistent-not-used' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /BWK_CONFIG_ENV/);
  assert.match(r.stderr, /BULWARK_PORT/);
});
