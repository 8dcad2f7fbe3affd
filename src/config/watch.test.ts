import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envOverrides, PolicyWatcher } from './watch.ts';
import { ConfigError } from './errors.ts';

test('envOverrides reads BULWARK_* variables', () => {
  assert.deepEqual(envOverrides({}), {});
  assert.deepEqual(
    envOverrides({
      BULWARK_UPSTREAM: 'http://127.0.0.1:3000',
      BULWARK_POLICY: '/etc/bulwark.yaml',
      BULWARK_DATA_DIR: '/var/lib/bulwark',
      BULWARK_LISTEN: '127.0.0.1:8081',
      BULWARK_ADMIN_PORT: '9091',
      BULWARK_DEMO_PORT: '3002',
      BULWARK_REDIS_URL: 'redis://127.0.0.1:6379',
    }),
    {
      upstream: 'http://127.0.0.1:3000',
      policyFile: '/etc/bulwark.yaml',
      dataDir: '/var/lib/bulwark',
      host: '127.0.0.1',
      gatewayPort: 8081,
      adminPort: 9091,
      demoPort: 3002,
      redisUrl: 'redis://127.0.0.1:6379',
    },
  );
  assert.deepEqual(envOverrides({ BULWARK_LISTEN: '[::1]:8080', BULWARK_PORT: '8082' }), { host: '::1', gatewayPort: 8082 });
  assert.deepEqual(envOverrides({ BULWARK_LISTEN: '8083', BULWARK_HOST: '0.0.0.0' }), { gatewayPort: 8083, host: '0.0.0.0' });
  assert.deepEqual(envOverrides({ BULWARK_PORT: '  ' }), {}, 'empty values are ignored');
});

test('envOverrides rejects invalid values with BWK_CONFIG_ENV and every variable named', () => {
  assert.throws(
    () => envOverrides({ BULWARK_PORT: '99999', BULWARK_UPSTREAM: 'ftp://x', BULWARK_HOST: 'not a host', BULWARK_LISTEN: 'x:y' }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'BWK_CONFIG_ENV');
      assert.deepEqual(e.issues.map((i) => i.path).sort(), ['BULWARK_HOST', 'BULWARK_LISTEN', 'BULWARK_PORT', 'BULWARK_UPSTREAM']);
      return true;
    },
  );
});

test('PolicyWatcher debounces a burst of writes into one notification', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'p.yaml');
  await writeFile(file, 'a: 1\n');
  let calls = 0;
  const w = new PolicyWatcher(file, () => calls++, 150);
  w.start();
  t.after(() => w.close());
  for (let i = 0; i < 5; i++) await writeFile(file, `a: ${i}\n`);
  await writeFile(join(dir, 'other.yaml'), 'x');
  const t0 = Date.now();
  while (calls === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls, 1);
});
