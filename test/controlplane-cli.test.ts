import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from '../src/controlplane/testing.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function cli(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('bulwark users / tokens: accounts and tokens created offline work over the API', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bulwark-cli-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  let r = cli(['users', 'add', 'alice', '--role', 'analyst', '--data-dir', dataDir], { BULWARK_NEW_PASSWORD: 'alice-password-123' });
  assert.equal(r.code, 0, r.err);
  r = cli(['users', 'add', 'bob', '--role', 'admin', '--data-dir', dataDir], {}, 'bob-password-12345\n');
  assert.equal(r.code, 0, r.err);
  r = cli(['users', 'add', 'carol', '--data-dir', dataDir], { BULWARK_NEW_PASSWORD: 'short' });
  assert.equal(r.code, 1);
  assert.match(r.err, /12–1024/);
  r = cli(['users', 'list', '--data-dir', dataDir]);
  assert.equal(r.out, 'alice\tanalyst\nbob\tadmin\n');
  r = cli(['tokens', 'create', '--user', 'bob', '--name', 'deploy', '--role', 'viewer', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.err);
  const token = r.out.trim();
  assert.match(token, /^bwk_[A-Za-z0-9_-]{43}$/);

  const cp = await startControlPlane({ dataDir });
  t.after(() => cp.stop());
  const alice = await cp.login('alice', 'alice-password-123');
  assert.equal((await alice.req('GET', '/api/v1/auth/session')).json.user.role, 'analyst');
  assert.equal((await cp.withToken(token).req('GET', '/api/v1/events')).status, 200);
  // password reset while running (recovery): old sessions end, the new password works
  r = cli(['users', 'passwd', 'alice', '--data-dir', dataDir], { BULWARK_NEW_PASSWORD: 'alice-password-456' });
  assert.equal(r.code, 0, r.err);
  assert.equal((await alice.req('GET', '/api/v1/events')).status, 401);
  await cp.login('alice', 'alice-password-456');
  const id = cli(['tokens', 'list', '--data-dir', dataDir]).out.split('\t')[0]!;
  assert.equal(cli(['tokens', 'revoke', id, '--data-dir', dataDir]).code, 0);
  assert.equal((await cp.withToken(token).req('GET', '/api/v1/events')).status, 401);
  const bob = await cp.login('bob', 'bob-password-12345');
  const audit = await bob.req('GET', '/api/v1/audit?actor=cli');
  assert.deepEqual(audit.json.items.map((e: { action: string }) => e.action).reverse(), ['user.create', 'user.create', 'token.create', 'user.password', 'token.revoke']);
});
