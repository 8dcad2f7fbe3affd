import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { postgresSchemaProblem, redactRedisUrl, redactUrl } from '../src/app.ts';
import { resolveStartOptions } from '../src/cli/start.ts';
import { ConfigError } from '../src/config/errors.ts';
import { sampleEvent } from '../src/events/testkit.ts';
import { PostgresEventStore } from '../src/events/postgres-store.ts';
import { BatchingEventSink } from '../src/events/sink.ts';
import { startUpstream, startTestBulwark, send, tempDir, modulesLoadedByApp, type TestBulwark, type TestUpstream, captureLogs } from './helpers/index.ts';

const PG = process.env.BULWARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Deny-listed clients get 403 and a `lists.deny` event; X-Forwarded-For is trusted from loopback. */
const policy = { trustedProxies: ['127.0.0.1/32'], rateLimits: [], lists: { deny: { ips: ['203.0.113.0/24'] } } };

/**
 * A unique schema for one test (the events table lives in it), a `pg` client on the test database, and an
 * after-hook that stops the test's gateways and upstreams, then drops the schema. `gateway()` starts a gateway
 * in front of a test upstream with its events in that schema (stopped by the hook).
 */
async function pgScope(t: TestContext): Promise<{ schema: string; db: pg.Client; gateways: TestBulwark[]; upstreams: TestUpstream[]; gateway(): Promise<TestBulwark> }> {
  const schema = `bw_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const db = new pg.Client({ connectionString: PG });
  await db.connect();
  const gateways: TestBulwark[] = [];
  const upstreams: TestUpstream[] = [];
  t.after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(upstreams.map((u) => u.close()));
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.end();
  });
  const gateway = async (): Promise<TestBulwark> => {
    if (upstreams.length === 0) upstreams.push(await startUpstream());
    const gw = await startTestBulwark({ upstream: upstreams[0]!.url, policy, postgresUrl: PG, postgresSchema: schema });
    gateways.push(gw);
    return gw;
  };
  return { schema, db, gateways, upstreams, gateway };
}

/** Status of `GET /api/products?…` from client `ip`. */
async function statusFor(gw: TestBulwark, ip: string, query = ''): Promise<number> {
  return (await send(gw.gatewayUrl, `/api/products${query}`, { headers: { 'x-forwarded-for': ip } })).status;
}

/** Polls `cond` every 20 ms. @throws after `ms`. */
async function waitFor(cond: () => Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > ms) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts a gateway and stops it at once; rejects with the start error. Used for starts that must fail, so
 * that one which starts anyway is stopped (the test then fails instead of hanging on open listeners).
 */
async function startAndStop(opts: Parameters<typeof startTestBulwark>[0]): Promise<void> {
  const bw = await startTestBulwark(opts);
  await bw.stop();
}

test('a blocked request is stored in PostgreSQL, returned by the event store, and not in bulwark.db', async (t) => {
  const { schema, db, gateway } = await pgScope(t);
  const bw = await gateway();

  assert.equal(await statusFor(bw, '203.0.113.9', "?q=1'%20OR%20'1'='1"), 403);
  assert.equal(await statusFor(bw, '192.0.2.10'), 200);
  await bw.services.events.flush();

  const rows = (await db.query(`SELECT id, client_ip, action, status, target, rule_ids FROM "${schema}".events WHERE client_ip = $1`, ['203.0.113.9'])).rows;
  assert.equal(rows.length, 1, 'the block is a row in PostgreSQL');
  assert.equal(rows[0].action, 'block');
  assert.equal(rows[0].status, 403);
  assert.ok((rows[0].rule_ids as string[]).includes('lists.deny'), JSON.stringify(rows[0]));

  // the control plane's query path (list/search/export, incidents) reads the same rows
  const page = await bw.services.eventStore.query({ clientIp: '203.0.113.9' });
  assert.deepEqual(page.events.map((e) => e.id), [rows[0].id]);
  assert.equal((await bw.services.eventStore.query({ ruleId: 'lists.deny' })).events.length, 1);
  // the target as sent (undici percent-encodes the quotes); search is a substring match over it
  assert.equal(rows[0].target, '/api/products?q=1%27%20OR%20%271%27=%271');
  assert.equal((await bw.services.eventStore.query({ text: '%27=%271' })).events[0]?.id, rows[0].id, 'search over the target');

  // bulwark.db still holds decisions, but no events table
  const sqliteEvents = bw.services.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
  assert.equal(sqliteEvents, undefined);
});

test('events carrying NUL or a lone surrogate from the request are stored (U+FFFD), with the rest of their batch', async (t) => {
  const { schema, db, gateway } = await pgScope(t);
  const bw = await gateway();
  // decoded evidence of these holds U+0000 / U+D800, which PostgreSQL text and jsonb reject
  assert.equal(await statusFor(bw, '198.51.100.7', "?q=1'%20OR%20'1'='1%00"), 403);
  assert.equal(await statusFor(bw, '198.51.100.8', "?q=1'%20OR%20'1'='1%uD800"), 403);
  assert.equal(await statusFor(bw, '203.0.113.9'), 403);
  await bw.services.events.flush();
  const rows = (await db.query(`SELECT client_ip, signals::text AS s, search FROM "${schema}".events ORDER BY client_ip`)).rows;
  assert.deepEqual(rows.map((r) => r.client_ip), ['198.51.100.7', '198.51.100.8', '203.0.113.9']);
  assert.ok(rows[0].s.includes('\uFFFD') && !rows[0].s.includes('\\u0000'), rows[0].s);
  assert.ok(rows[1].s.includes('\uFFFD'), rows[1].s);
});

test('a PostgreSQL backend killed in the middle of an event write: no crash, the batch is written on retry', async (t) => {
  const { schema, db } = await pgScope(t);
  const app = `bw_kill_${randomUUID().slice(0, 8)}`;
  const store = new PostgresEventStore(`${PG}?application_name=${app}`, { schema });
  t.after(() => store.close());
  await store.ready();
  const sink = new BatchingEventSink(store, { queueLimit: 100, batchSize: 10, flushIntervalMs: 10, retryBaseMs: 50, maxRetryDelayMs: 100 });
  t.after(() => sink.close());
  // hold the table so the write waits with its pool client checked out, then kill that backend
  const locker = new pg.Client({ connectionString: PG });
  await locker.connect();
  t.after(() => locker.end());
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
  for (let i = 0; i < 5; i++) sink.push(sampleEvent());
  await waitFor(async () => (await db.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [app])).rowCount === 1, 'the write waits on the lock');
  const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [app]);
  assert.ok(killed.rowCount! >= 1);
  await locker.query('ROLLBACK');
  // an unhandled 'error' from the killed client would fail this test as an uncaught exception
  await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM "${schema}".events`)).rows[0].n === 5, 'the batch written after the retry');
  assert.equal(sink.dropped.store_error, 0);
});

test('two gateways with the same PostgreSQL URL see each other\'s events', async (t) => {
  const { schema, gateway } = await pgScope(t);
  const a = await gateway();
  const b = await gateway();

  assert.equal(await statusFor(a, '203.0.113.21'), 403);
  assert.equal(await statusFor(b, '203.0.113.22'), 403);
  await Promise.all([a.services.events.flush(), b.services.events.flush()]);

  for (const [name, gw] of [['A', a], ['B', b]] as const) {
    const ips = (await gw.services.eventStore.query({ ruleId: 'lists.deny' })).events.map((e) => e.clientIp).sort();
    assert.deepEqual(ips, ['203.0.113.21', '203.0.113.22'], `gateway ${name} sees both`);
  }
});

test('retention prune (run at start) deletes old events from PostgreSQL', async (t) => {
  const { schema, db, gateways, upstreams } = await pgScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  const { PostgresEventStore } = await import('../src/events/postgres-store.ts');
  const seed = new PostgresEventStore(PG, { schema });
  const day = 86_400_000;
  // default events.retention is 30 days
  const old = sampleEvent({ time: Date.now() - 40 * day });
  const recent = sampleEvent({ time: Date.now() - day });
  await seed.insertBatch([old, recent]);
  await seed.close();

  const bw = await startTestBulwark({ upstream: up.url, policy, postgresUrl: PG, postgresSchema: schema });
  gateways.push(bw);
  const ids = async (): Promise<string[]> => (await db.query(`SELECT id FROM "${schema}".events ORDER BY time`)).rows.map((r) => r.id as string);
  await waitFor(async () => (await ids()).length === 1, 'old event pruned');
  assert.deepEqual(await ids(), [recent.id]);
});

test('the event store in use is logged at start; the PostgreSQL password is not', async (t) => {
  const { schema, gateways, upstreams } = await pgScope(t);
  const up = await startUpstream();
  upstreams.push(up);
  // A password the test server does not check (trust authentication), or its own.
  const url = new URL(PG);
  if (url.password === '') url.password = `pw-${randomUUID()}`;
  const secret = url.password;
  const { logger, lines } = captureLogs('info');
  const withPg = await startTestBulwark({ upstream: up.url, policy, postgresUrl: url.href, postgresSchema: schema, logger });
  gateways.push(withPg);
  const plain = await startTestBulwark({ upstream: up.url, policy, logger });
  gateways.push(plain);
  const logs = lines.map((l) => JSON.parse(l) as { msg: string; store?: string; postgres?: string; schema?: string; file?: string });
  const stores = logs.filter((l) => l.msg.startsWith('event store'));
  assert.equal(stores.length, 2, lines.join('\n'));
  assert.equal(stores[0]!.store, 'postgres');
  assert.equal(stores[0]!.schema, schema);
  assert.equal(stores[0]!.postgres, redactUrl(url.href));
  assert.match(stores[0]!.postgres!, /:\*\*\*@/);
  assert.equal(stores[1]!.store, 'sqlite');
  assert.equal(stores[1]!.file, `${plain.dataDir}/bulwark.db`);
  assert.ok(!lines.some((l) => l.includes(secret)), 'password never logged');
});

test('/readyz checks PostgreSQL when events live there', async (t) => {
  const { gateways, upstreams, gateway } = await pgScope(t);
  const gw = await gateway();
  const r = await send(gw.adminUrl, '/readyz');
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json().checks.postgres, { ok: true });
  const local = await startTestBulwark({ upstream: upstreams[0]!.url, policy });
  gateways.push(local);
  const l = await send(local.adminUrl, '/readyz');
  assert.equal(l.status, 200);
  assert.equal(l.json().checks.postgres, undefined, 'no such check without PostgreSQL');
});

test('start fails with a clear error when PostgreSQL is unreachable, and the password is not in it', async (t) => {
  const dataDir = await tempDir();
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  // port 1 on loopback: nothing listens, the connection is refused at once
  const bad = 'postgres://bulwark:hunter2-secret@127.0.0.1:1/events';
  await assert.rejects(startAndStop({ dataDir, policy, postgresUrl: bad }), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /^event store: cannot use PostgreSQL at postgres:\/\/bulwark:\*\*\*@127\.0\.0\.1:1\/events \(schema public\): .*ECONNREFUSED/);
    assert.ok(!err.message.includes('hunter2'));
    return true;
  });
  // everything opened was closed: the same data directory starts fine afterwards
  await startAndStop({ dataDir, policy }).catch((err: unknown) => assert.fail(`restart on the same data directory: ${String(err)}`));
});

test('start fails with a clear error when the events table cannot be created (no CREATE privilege)', async (t) => {
  const { schema, db } = await pgScope(t);
  // a role that may log in but not create schemas in the database
  const role = `bw_ro_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const password = randomUUID();
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  t.after(async () => {
    // own client: pgScope's hook (registered first, run first) has ended db by now
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.end();
  });
  const url = new URL(PG);
  url.username = role;
  url.password = password;
  const dataDir = await tempDir();
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await assert.rejects(startAndStop({ dataDir, policy, postgresUrl: url.href, postgresSchema: schema }), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, new RegExp(`^event store: cannot use PostgreSQL at postgres://${role}:\\*\\*\\*@.* \\(schema ${schema}\\): permission denied`));
    assert.ok(!err.message.includes(password));
    return true;
  });
});

test('a start that fails after PostgreSQL was opened (gateway port taken) closes its PostgreSQL connections', async (t) => {
  const { schema, db } = await pgScope(t);
  const appName = `bw_test_${randomUUID().slice(0, 8)}`;
  const url = new URL(PG);
  url.searchParams.set('application_name', appName);
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => taken.close(() => r())));
  const dataDir = await tempDir();
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const sessions = async (): Promise<number> => Number((await db.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [appName])).rows[0].n);
  await assert.rejects(startAndStop({ dataDir, policy, postgresUrl: url.href, postgresSchema: schema, gatewayPort: (taken.address() as AddressInfo).port }), /EADDRINUSE/);
  // the schema was created over the pool's connection, so it existed; the pool keeps idle connections 10 s
  assert.equal((await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount, 1);
  await waitFor(async () => (await sessions()) === 0, 'the failed start closed its PostgreSQL connections', 2000);
});

test('redactUrl masks passwords in PostgreSQL and Redis URLs; redactRedisUrl is the same function', () => {
  assert.equal(redactUrl('postgres://bulwark:s3cret@db.internal:5432/events'), 'postgres://bulwark:***@db.internal:5432/events');
  assert.equal(redactUrl('postgresql://db.internal/events?password=s3cret&sslmode=require'), 'postgresql://db.internal/events?password=***&sslmode=require');
  assert.equal(redactUrl('postgres://127.0.0.1:5432/test'), 'postgres://127.0.0.1:5432/test');
  assert.equal(redactUrl('not a url s3cret'), undefined);
  assert.equal(redactRedisUrl, redactUrl);
  assert.equal(redactRedisUrl('redis://user:s3cret@10.0.0.5:6380/2'), 'redis://user:***@10.0.0.5:6380/2');
});

test('--postgres-url / BULWARK_POSTGRES_URL and --postgres-schema / BULWARK_POSTGRES_SCHEMA: flag wins, validated', async (t) => {
  const url = 'postgres://u:p@127.0.0.1:5432/db';
  assert.equal(resolveStartOptions({}, {}).postgresUrl, undefined, 'events in bulwark.db by default');
  assert.equal(resolveStartOptions({}, { BULWARK_POSTGRES_URL: url }).postgresUrl, url);
  assert.equal(resolveStartOptions({}, { BULWARK_POSTGRES_URL: ' ' }).postgresUrl, undefined, 'blank variable ignored like the others');
  assert.equal(resolveStartOptions({ postgresUrl: 'postgresql://h/x' }, { BULWARK_POSTGRES_URL: url }).postgresUrl, 'postgresql://h/x');
  assert.equal(resolveStartOptions({}, { BULWARK_POSTGRES_SCHEMA: 'bulwark_eu' }).postgresSchema, 'bulwark_eu');
  assert.equal(resolveStartOptions({ postgresSchema: 'a' }, { BULWARK_POSTGRES_SCHEMA: 'b' }).postgresSchema, 'a');
  const rejects = (flags: { postgresUrl?: string; postgresSchema?: string }, env: NodeJS.ProcessEnv, paths: string[]): void => {
    assert.throws(
      () => resolveStartOptions(flags, env),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'BWK_CONFIG_ENV' && JSON.stringify(err.issues.map((i) => i.path)) === JSON.stringify(paths) && !err.message.includes('s3cret'),
      JSON.stringify({ flags, env }),
    );
  };
  rejects({ postgresUrl: 'mysql://u:s3cret@h/db' }, {}, ['--postgres-url']);
  rejects({}, { BULWARK_POSTGRES_URL: 'u:s3cret@localhost/db' }, ['BULWARK_POSTGRES_URL']);
  rejects({ postgresSchema: 'two words' }, {}, ['--postgres-schema']);
  rejects({}, { BULWARK_POSTGRES_SCHEMA: 'pg_events' }, ['BULWARK_POSTGRES_SCHEMA']);
  rejects({}, { BULWARK_POSTGRES_SCHEMA: 'x'.repeat(64) }, ['BULWARK_POSTGRES_SCHEMA']);
  // listed together with the other invalid variables
  rejects({}, { BULWARK_PORT: 'eighty', BULWARK_POSTGRES_URL: 'nope' }, ['BULWARK_PORT', 'BULWARK_POSTGRES_URL']);
  assert.equal(postgresSchemaProblem('public'), undefined);
  // startBulwark checks the schema too (programmatic use), before opening anything
  const dataDir = await tempDir();
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  await assert.rejects(
    startAndStop({ dataDir, policy, postgresUrl: PG, postgresSchema: 'bad"name' }),
    (err: unknown) => err instanceof ConfigError && err.code === 'BWK_CONFIG_INVALID' && err.issues[0]?.path === 'postgresSchema',
  );
});

test('pg is loaded only when PostgreSQL is configured', async (t) => {
  const { schema } = await pgScope(t);
  assert.deepEqual(await modulesLoadedByApp(/node_modules\/pg\//, { postgresSchema: schema }), []);
  // the probe can see it: with PostgreSQL configured it is loaded
  assert.ok((await modulesLoadedByApp(/node_modules\/pg\//, { postgresUrl: PG, postgresSchema: schema })).length > 0);
});

test('a PostgreSQL write that gets no answer fails after queryTimeoutMs and is retried (no hang)', async (t) => {
  const { schema, db } = await pgScope(t);
  const store = new PostgresEventStore(PG, { schema, queryTimeoutMs: 300 });
  t.after(() => store.close());
  await store.ready();
  // a lock held elsewhere: the INSERT waits without an answer, as with a server that stopped responding
  const locker = new pg.Client({ connectionString: PG });
  await locker.connect();
  t.after(() => locker.end());
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
  const t0 = performance.now();
  await assert.rejects(store.insertBatch([sampleEvent()]), /timeout/i);
  assert.ok(performance.now() - t0 < 3000);
  await locker.query('ROLLBACK');
  await store.insertBatch([sampleEvent()]);
  assert.equal((await db.query(`SELECT count(*)::int AS n FROM "${schema}".events`)).rows[0].n, 1);
});
