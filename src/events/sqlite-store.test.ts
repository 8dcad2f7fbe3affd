import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../store/sqlite.ts';
import { SqliteEventStore } from './sqlite-store.ts';
import { checkEventStoreContract, sampleEvent } from './testkit.ts';

test('SQLite event store: filters, cursor, stream, prune (WAL file)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bw-events-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'bulwark.db'));
  t.after(() => db.close());
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const store = new SqliteEventStore(db);
  await checkEventStoreContract(store);
  // Reopening migrates nothing twice.
  new SqliteEventStore(db);
});

test('SQLite event store: a batch is atomic', async (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = new SqliteEventStore(db);
  const good = sampleEvent();
  const bad = sampleEvent({ method: null as unknown as string }); // violates NOT NULL
  await assert.rejects(store.insertBatch([good, bad]));
  assert.equal((await store.query({})).events.length, 0);
  await store.insertBatch([good]);
  assert.equal((await store.query({})).events.length, 1);
});

test('SQLite event store: a malformed cursor reads from the newest; pathological search text is bounded', async (t) => {
  const db = openDatabase(':memory:');
  t.after(() => db.close());
  const store = new SqliteEventStore(db);
  await store.insertBatch([sampleEvent({ target: '/x?' + 'a'.repeat(64 * 1024) })]);
  assert.equal((await store.query({ cursor: '!!not-a-cursor' })).events.length, 1);
  const t0 = performance.now();
  assert.equal((await store.query({ text: '%_\\'.repeat(20_000) })).events.length, 0);
  assert.ok(performance.now() - t0 < 2000);
});

test('SQLite event store writer thread: a failed batch rejects and rolls back; later batches succeed; close is clean', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bw-events-w-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'bulwark.db'));
  t.after(() => db.close());
  const store = new SqliteEventStore(db, { writerThread: true });
  const good = sampleEvent();
  await assert.rejects(store.insertBatch([good, sampleEvent({ method: null as unknown as string })]), /NOT NULL/);
  assert.equal((await store.query({})).events.length, 0);
  await store.insertBatch([good]);
  const page = await store.query({});
  assert.deepEqual(page.events.map((e) => e.id), [good.id], 'written by the thread, visible to the main connection');
  await store.close();
  await assert.rejects(store.insertBatch([sampleEvent()]), /closed/);
});
