/**
 * `String.prototype` must stay in V8's fast-properties mode in the gateway process: in dictionary mode, optimised
 * string code (the payload engine's `charCodeAt` loops) takes a slow path, ~1.4× on the engine. ioredis puts it in
 * dictionary mode on load (`class VerbatimString extends String`); `src/core/redis.ts` undoes that. Each check runs
 * in a child with `--allow-natives-syntax`, so V8's own `%HasFastProperties` answers, and so this test process's
 * imports cannot interfere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runModule, tempDir } from './helpers/index.ts';

const REDIS = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const PG = process.env.BULWARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const src = (p: string): string => pathToFileURL(new URL(`../src/${p}`, import.meta.url).pathname).href;

/** Runs an ES module `body` in a child with natives syntax; returns what it printed on stdout. */
const child = async (body: string): Promise<string> => (await runModule(body, ['--allow-natives-syntax'])).trim();

const FAST = 'process.stdout.write(String(%HasFastProperties(String.prototype)));';

test('loading ioredis puts String.prototype in dictionary mode; src/core/redis.ts restores fast mode', async () => {
  // the canary: if this turns true, ioredis no longer subclasses String and src/core/redis.ts's workaround can go
  assert.equal(await child(`await import('ioredis'); ${FAST}`), 'false', 'raw ioredis leaves String.prototype in dictionary mode');
  assert.equal(await child(`await import(${JSON.stringify(src('core/redis.ts'))}); ${FAST}`), 'true');
  assert.equal(await child(`await import('ioredis'); const { restoreFastStringPrototype } = await import(${JSON.stringify(src('core/redis.ts'))}); restoreFastStringPrototype(); ${FAST}`), 'true');
});

test('Bulwark imports ioredis only through src/core/redis.ts (tests may use it directly)', async () => {
  const root = new URL('../src/', import.meta.url);
  const offenders: string[] = [];
  for (const f of await readdir(root, { recursive: true })) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts') || f === 'core/redis.ts') continue;
    const text = await readFile(new URL(f, root), 'utf8');
    if (/from\s+['"]ioredis['"]|import\(\s*['"]ioredis['"]\s*\)|require\(\s*['"]ioredis['"]\s*\)/.test(text)) offenders.push(f);
  }
  assert.deepEqual(offenders, []);
});

test('String.prototype (and the other built-in prototypes) stay fast in a serving gateway: embedded stores, Redis, PostgreSQL', async (t) => {
  const prefix = `bwtest:${randomUUID()}:`;
  const schema = `bwtest_${randomUUID().replaceAll('-', '')}`;
  const admin = new Redis(REDIS);
  t.after(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
    const db = new pg.Client({ connectionString: PG });
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });
  const setups: { name: string; extra: object }[] = [
    { name: 'memory + SQLite', extra: {} },
    { name: 'rate limits and decisions in Redis', extra: { redisUrl: REDIS, redisPrefix: prefix } },
    { name: 'events in PostgreSQL', extra: { postgresUrl: PG, postgresSchema: schema } },
  ];
  for (const { name, extra } of setups) {
    const dataDir = await tempDir();
    try {
      // the default policy: rate limits (in Redis when configured) and every detector on the request path
      const out = await child(`
        const { startBulwark } = await import(${JSON.stringify(src('app.ts'))});
        const bw = await startBulwark({ dataDir: ${JSON.stringify(dataDir)}, host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0,
          logLevel: 'silent', watch: false, ...${JSON.stringify(extra)} });
        const statuses = [];
        for (let i = 0; i < 30; i++) statuses.push(await fetch(bw.gatewayUrl + '/api/products?q=' + i).then(async (r) => (await r.arrayBuffer(), r.status)));
        // one blocked request, so an event goes through the event store
        statuses.push(await fetch(bw.gatewayUrl + '/api/products?q=' + encodeURIComponent("1' OR '1'='1")).then(async (r) => (await r.arrayBuffer(), r.status)));
        await bw.close();
        // the other built-in prototypes the hot path relies on: no dependency may have left them slow either
        const protos = { String, Array, Object, RegExp, Function, Map, Set, Promise, Number };
        const slow = Object.entries(protos).filter(([, C]) => !%HasFastProperties(C.prototype)).map(([n]) => n);
        process.stdout.write(JSON.stringify({ statuses: [...new Set(statuses)], fast: %HasFastProperties(String.prototype), slow }));
      `);
      assert.deepEqual(JSON.parse(out), { statuses: [200, 403], fast: true, slow: [] }, name);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  // the rate limiter really went through Redis, and the event through PostgreSQL
  assert.ok((await admin.keys(`${prefix}*`)).length > 0);
  const db = new pg.Client({ connectionString: PG });
  await db.connect();
  t.after(() => db.end());
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM "${schema}".events`);
  assert.ok(rows[0].n >= 1, 'the blocked request was recorded in PostgreSQL');
});
