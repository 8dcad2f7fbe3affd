import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../observability/metrics.ts';
import { BatchingEventSink } from './sink.ts';
import type { EventPage, EventStore, SecurityEvent } from './types.ts';
import { sampleEvent } from './testkit.ts';

/** A store whose writes can be failed or delayed on demand. */
class ControlledStore implements EventStore {
  rows: SecurityEvent[] = [];
  batches: number[] = [];
  fail = false;
  delayMs = 0;
  async insertBatch(events: readonly SecurityEvent[]): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error('store down');
    this.batches.push(events.length);
    this.rows.push(...events);
  }
  async query(): Promise<EventPage> {
    return { events: [] };
  }
  async *stream(): AsyncIterable<SecurityEvent> {}
  async prune(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}

test('batches by size and by interval; flush drains; push never writes synchronously', async (t) => {
  const store = new ControlledStore();
  const sink = new BatchingEventSink(store, { queueLimit: 1000, batchSize: 10, flushIntervalMs: 50 });
  t.after(() => sink.close());
  for (let i = 0; i < 25; i++) sink.push(sampleEvent());
  assert.equal(store.rows.length, 0, 'nothing written inside push');
  assert.equal(sink.depth, 25);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(store.rows.length, 25);
  assert.deepEqual(store.batches, [10, 10, 5]);
  sink.push(sampleEvent());
  await sink.flush();
  assert.equal(store.rows.length, 26);
  assert.equal(sink.depth, 0);
});

test('queue bound: drops counted in metrics, push stays fast with a slow store', async (t) => {
  const store = new ControlledStore();
  store.delayMs = 200;
  const metrics = new Metrics(false);
  const sink = new BatchingEventSink(store, { queueLimit: 100, batchSize: 50, flushIntervalMs: 10, metrics });
  t.after(() => sink.close(1000));
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) sink.push(sampleEvent());
  const pushMs = performance.now() - t0;
  assert.ok(pushMs < 200, `1000 pushes took ${pushMs} ms`);
  assert.equal(sink.depth, 100);
  assert.equal(sink.dropped.queue_full, 900);
  const dropped = await metrics.registry.getSingleMetricAsString('bulwark_events_dropped_total');
  assert.match(dropped, /reason="queue_full"} 900/);
  const depth = await metrics.registry.getSingleMetricAsString('bulwark_event_queue_depth');
  assert.match(depth, /bulwark_event_queue_depth 100/);
});

test('no event lost when the store recovers within the bound', async (t) => {
  const store = new ControlledStore();
  store.fail = true;
  const sink = new BatchingEventSink(store, { queueLimit: 500, batchSize: 20, flushIntervalMs: 10, retryBaseMs: 10, maxRetryDelayMs: 40 });
  t.after(() => sink.close());
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) {
    const e = sampleEvent();
    ids.push(e.id);
    sink.push(e);
    if (i % 50 === 0) await new Promise((r) => setTimeout(r, 15));
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(store.rows.length, 0);
  assert.equal(sink.depth, 300);
  await assert.rejects(sink.flush(), /store down/);
  store.fail = false;
  const end = Date.now() + 3000;
  while (sink.depth > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(store.rows.map((e) => e.id), ids, 'all events, in order');
  assert.equal(sink.dropped.queue_full + sink.dropped.store_error, 0);
});

test('a poison batch is given up after maxBatchAttempts and counted as store_error', async (t) => {
  const store = new ControlledStore();
  store.fail = true;
  const sink = new BatchingEventSink(store, { queueLimit: 100, batchSize: 5, flushIntervalMs: 5, retryBaseMs: 1, maxRetryDelayMs: 2, maxBatchAttempts: 3 });
  t.after(() => sink.close(10));
  for (let i = 0; i < 5; i++) sink.push(sampleEvent());
  const end = Date.now() + 2000;
  while (sink.depth > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.equal(sink.dropped.store_error, 5);
});

test('subscribe receives pushed events; a throwing listener does not break push', async (t) => {
  const store = new ControlledStore();
  const sink = new BatchingEventSink(store, { queueLimit: 10, batchSize: 5, flushIntervalMs: 1000 });
  t.after(() => sink.close());
  const seen: string[] = [];
  sink.subscribe(() => {
    throw new Error('bad listener');
  });
  const off = sink.subscribe((e) => seen.push(e.id));
  const e = sampleEvent();
  sink.push(e);
  off();
  sink.push(sampleEvent());
  assert.deepEqual(seen, [e.id]);
  await sink.close();
  sink.push(sampleEvent());
  assert.equal(sink.dropped.closed, 1);
  assert.equal(store.rows.length, 2);
});
