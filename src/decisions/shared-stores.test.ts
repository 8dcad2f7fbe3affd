import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RequestContext } from '../core/context.ts';
import { validatePolicy } from '../config/load.ts';
import { createDecisionService } from './service.ts';
import { RedisDecisionStore } from './redis-store.ts';
import { PostgresDecisionStore } from './postgres-store.ts';

const REDIS = process.env.BULWARK_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const PG = process.env.BULWARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const policy = validatePolicy({});

function ctx(ip: string): RequestContext {
  return new RequestContext({ id: 'r', clientIp: ip, clientKey: ip, peerIp: ip, method: 'GET', target: '/', headers: {} });
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('Redis store: a ban on one instance applies on the other; unban too; restart restores', async (t) => {
  const prefix = `bwtest:${randomUUID()}:`;
  const admin = new Redis(REDIS);
  const sa = new RedisDecisionStore(REDIS, { prefix });
  const sb = new RedisDecisionStore(REDIS, { prefix });
  const a = await createDecisionService({ store: sa, policy: () => policy, sweepIntervalMs: 0 });
  const b = await createDecisionService({ store: sb, policy: () => policy, sweepIntervalMs: 0 });
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    const keys = await admin.keys(prefix + '*');
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });
  await Promise.all([sa.ready(), sb.ready()]);
  const d = a.add({ scope: 'ip', value: '192.0.2.10', type: 'ban', origin: 'rule', source: 'ratelimit.x', reason: 'flood', durationMs: 60_000 });
  await until(() => b.match(ctx('192.0.2.10')) !== undefined);
  assert.equal(b.match(ctx('192.0.2.10'))?.id, d.id);
  // Offences counted across instances: the second ban from instance b escalates.
  await a.flush();
  const d2 = b.add({ scope: 'ip', value: '192.0.2.10', type: 'ban', origin: 'rule', source: 'ratelimit.x', reason: 'flood', durationMs: 60_000 });
  await b.flush();
  await until(() => d2.offence === 2);
  assert.equal(d2.expiresAt - d2.createdAt, 120_000);
  await b.remove(d.id);
  await b.remove(d2.id);
  await until(() => a.match(ctx('192.0.2.10')) === undefined);
  // A third instance starting later loads the active decisions.
  const keep = a.add({ scope: 'range', value: '198.51.100.0/24', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  await a.flush();
  const c = await createDecisionService({ store: new RedisDecisionStore(REDIS, { prefix }), policy: () => policy, sweepIntervalMs: 0 });
  t.after(() => c.close());
  assert.equal(c.match(ctx('198.51.100.3'))?.id, keep.id);
  assert.equal(await sa.prune(Date.now() + 120_000), 1);
});

test('PostgreSQL store: persistence, offences, prune and LISTEN/NOTIFY between instances', async (t) => {
  const schema = `bw_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const sa = new PostgresDecisionStore(PG, { schema });
  const sb = new PostgresDecisionStore(PG, { schema });
  const a = await createDecisionService({ store: sa, policy: () => policy, sweepIntervalMs: 0 });
  const b = await createDecisionService({ store: sb, policy: () => policy, sweepIntervalMs: 0 });
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });
  await Promise.all([sa.listenReady(), sb.listenReady()]);
  const now = Date.now();
  const d = a.add({ scope: 'ip', value: '192.0.2.20', type: 'ban', origin: 'rule', source: 'r', reason: 'x', durationMs: 60_000 }, now);
  await a.flush();
  await until(() => b.match(ctx('192.0.2.20')) !== undefined);
  assert.equal((await sb.loadActive(now)).length, 1);
  assert.equal(await sb.countOffences('ip', '192.0.2.20', 'r', now - 1000), 1);
  assert.equal(await sb.countOffences('ip', '192.0.2.20', 'r', now + 1), 0);
  await b.remove(d.id);
  await b.flush();
  await until(() => a.match(ctx('192.0.2.20')) === undefined);
  a.add({ scope: 'ip', value: '192.0.2.21', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 10 }, now);
  await a.flush();
  assert.equal(await sa.prune(now + 1000), 1);
});

test('PostgreSQL store: a dropped LISTEN connection is re-established and what was missed meanwhile is applied', async (t) => {
  const schema = `bw_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const app = `bw_listen_${randomUUID().slice(0, 8)}`;
  const sa = new PostgresDecisionStore(PG, { schema });
  const sb = new PostgresDecisionStore(`${PG}?application_name=${app}`, { schema });
  const a = await createDecisionService({ store: sa, policy: () => policy, sweepIntervalMs: 0 });
  const b = await createDecisionService({ store: sb, policy: () => policy, sweepIntervalMs: 0 });
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });
  await Promise.all([sa.listenReady(), sb.listenReady()]);
  const gone = a.add({ scope: 'ip', value: '192.0.2.30', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  await a.flush();
  await until(() => b.match(ctx('192.0.2.30')) !== undefined);
  // B's LISTEN backend is killed (restart, failover, idle kill); A unbans and bans while B hears nothing
  const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'`, [app]);
  assert.equal(killed.rowCount, 1);
  await a.remove(gone.id);
  a.add({ scope: 'ip', value: '192.0.2.31', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  await a.flush();
  await until(() => b.match(ctx('192.0.2.31')) !== undefined && b.match(ctx('192.0.2.30')) === undefined, 5000);
  // and it listens again: a later ban arrives by notification
  a.add({ scope: 'ip', value: '192.0.2.32', type: 'ban', origin: 'manual', source: 'op', reason: 'x', durationMs: 60_000 });
  await a.flush();
  await until(() => b.match(ctx('192.0.2.32')) !== undefined);
});

test('Redis store: offence history older than the retention is trimmed on each new decision', async (t) => {
  const prefix = `bwtest:${randomUUID()}:`;
  const admin = new Redis(REDIS);
  const store = new RedisDecisionStore(REDIS, { prefix, offenceRetentionMs: 60_000 });
  t.after(async () => {
    await store.close();
    const keys = await admin.keys(prefix + '*');
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });
  const now = Date.now();
  const d = (id: string, createdAt: number) => ({ id, scope: 'ip' as const, value: '192.0.2.77', type: 'ban' as const, origin: 'rule' as const, source: 'test.trim', reason: 'r', createdAt, expiresAt: createdAt + 1000, offence: 1 });
  // a repeat offender: three old decisions, then a new one; only entries within 60 s of the newest stay
  await store.put(d('a', now - 180_000));
  await store.put(d('b', now - 120_000));
  await store.put(d('c', now - 30_000));
  await store.put(d('e', now));
  const offKeys = await admin.keys(prefix + 'dec:off:*');
  assert.equal(offKeys.length, 1);
  assert.deepEqual(await admin.zrange(offKeys[0]!, '0', '-1'), ['c', 'e']);
  assert.equal(await store.countOffences('ip', '192.0.2.77', 'test.trim', 0), 2);
  await store.ping();
});
