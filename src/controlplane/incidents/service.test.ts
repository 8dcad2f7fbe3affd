import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policySchema, type Policy } from '../../config/schema.ts';
import type { EventSink, SecurityEvent } from '../../events/types.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { createIncidentService } from './service.ts';
import { makeEvent } from './testing.ts';
import type { IncidentChange } from './types.ts';

/** Minimal in-test EventSink: delivers pushes to subscribers synchronously, as the real sink does. */
function memorySink(): EventSink & { pushed: number } {
  const ls = new Set<(e: SecurityEvent) => void>();
  return {
    pushed: 0,
    push(e) {
      this.pushed++;
      for (const l of ls) l(e);
    },
    depth: 0,
    async flush() {},
    subscribe(l) {
      ls.add(l);
      return () => ls.delete(l);
    },
    async close() {},
  };
}

function setup(policyInput: object = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-inc-'));
  const db = openDatabase(join(dir, 'bulwark.db'));
  const policy: Policy = policySchema.parse(policyInput);
  const sink = memorySink();
  let clock = 1_700_000_000_000;
  const svc = createIncidentService({ db, events: sink, policy: () => policy, now: () => clock });
  const changes: IncidentChange[] = [];
  svc.subscribe((c) => changes.push(c));
  return {
    dir, db, sink, svc, changes, policy,
    advance(ms: number) { clock += ms; },
    get now() { return clock; },
    async cleanup() { await svc.close(); db.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

test('events of one actor and scenario within the window become one incident; duplicates do not escalate', async () => {
  const t = setup();
  try {
    const base = t.now;
    for (let i = 0; i < 5; i++) t.sink.push(makeEvent({ time: base + i * 1000 }));
    await t.svc.flush();
    const page = t.svc.list();
    assert.equal(page.items.length, 1);
    const inc = page.items[0]!;
    assert.equal(inc.events, 5);
    assert.equal(inc.blocked, 5);
    assert.equal(inc.severity, 'HIGH');
    assert.deepEqual(inc.actor, { kind: 'ip', value: '203.0.113.7' });
    assert.equal(inc.scenario, 'sqli');
    assert.equal(inc.firstSeen, base);
    assert.equal(inc.lastSeen, base + 4000);
    assert.equal(inc.sampleEventIds.length, 5);
    assert.equal(t.changes.length, 1);
    assert.equal(t.changes[0]!.type, 'opened');

    // Same severity again within a second of the last publication: not even an 'updated' change (rate-limited).
    t.sink.push(makeEvent({ time: base + 4500 }));
    await t.svc.flush();
    assert.equal(t.changes.length, 1);
    // Later: an 'updated' change, never 'escalated'.
    t.advance(1500);
    t.sink.push(makeEvent({ time: base + 5000 }));
    await t.svc.flush();
    assert.equal(t.changes.at(-1)!.type, 'updated');
    assert.equal(t.changes.at(-1)!.incident.events, 7);

    // Severity rises: escalated with the previous severity.
    t.sink.push(makeEvent({ time: base + 6000, level: 'CRITICAL' }));
    await t.svc.flush();
    const esc = t.changes.at(-1)!;
    assert.equal(esc.type, 'escalated');
    assert.equal(esc.previousSeverity, 'HIGH');
    assert.equal(esc.incident.severity, 'CRITICAL');
    assert.equal(t.svc.list().items.length, 1);
  } finally {
    await t.cleanup();
  }
});

test('different scenario or actor opens separate incidents; allowed events are ignored; user beats IP as actor', async () => {
  const t = setup();
  try {
    t.sink.push(makeEvent());
    t.sink.push(makeEvent({ category: 'xss', signals: [{ ruleId: 'xss.941100', detector: 'xss', category: 'xss', score: 5 }] }));
    t.sink.push(makeEvent({ clientIp: '198.51.100.9', clientKey: '198.51.100.9' }));
    t.sink.push(makeEvent({ action: 'allow', wouldBe: 'allow', level: 'LOW' }));
    t.sink.push(makeEvent({ user: 'alice', clientIp: '192.0.2.1', clientKey: '192.0.2.1' }));
    t.sink.push(makeEvent({ user: 'alice', clientIp: '192.0.2.2', clientKey: '192.0.2.2' }));
    await t.svc.flush();
    const items = t.svc.list().items;
    assert.equal(items.length, 4);
    const alice = t.svc.list({ actor: 'user:alice' }).items;
    assert.equal(alice.length, 1);
    assert.equal(alice[0]!.events, 2);
    assert.deepEqual(Object.keys(alice[0]!.stats.ips).sort(), ['192.0.2.1', '192.0.2.2']);
    assert.equal(t.svc.list({ scenario: 'xss' }).items.length, 1);
  } finally {
    await t.cleanup();
  }
});

test('severity floors by action: a LOW-level ban event makes a HIGH incident; monitor uses the would-be action', async () => {
  const t = setup();
  try {
    t.sink.push(makeEvent({ level: 'LOW', action: 'ban', wouldBe: 'ban', category: 'bruteforce' }));
    t.sink.push(makeEvent({ level: 'LOW', action: 'log', wouldBe: 'block', monitor: true, category: 'xss', clientIp: '192.0.2.50', clientKey: '192.0.2.50' }));
    await t.svc.flush();
    assert.equal(t.svc.list({ scenario: 'bruteforce' }).items[0]!.severity, 'HIGH');
    assert.equal(t.svc.list({ scenario: 'xss' }).items[0]!.severity, 'MEDIUM');
    assert.equal(t.svc.list({ severity: 'HIGH' }).items.length, 1);
  } finally {
    await t.cleanup();
  }
});

test('after the window a new incident opens; a resolved incident that recurs within the window re-opens', async () => {
  const t = setup({ controlPlane: { incidents: { window: '10m' } } });
  try {
    const base = t.now;
    t.sink.push(makeEvent({ time: base }));
    await t.svc.flush();
    const first = t.svc.list().items[0]!;
    const resolved = t.svc.resolve(first.id, 'ana');
    assert.equal(resolved?.state, 'resolved');
    assert.equal(t.changes.at(-1)!.type, 'resolved');

    t.sink.push(makeEvent({ time: base + 5 * 60_000 }));
    await t.svc.flush();
    const again = t.svc.get(first.id)!;
    assert.equal(again.state, 'open');
    assert.equal(again.generation, 1);
    assert.equal(again.events, 2);
    assert.equal(t.changes.at(-1)!.type, 'reopened');

    t.sink.push(makeEvent({ time: base + 30 * 60_000 }));
    await t.svc.flush();
    const all = t.svc.list().items;
    assert.equal(all.length, 2);
    assert.equal(t.changes.at(-1)!.type, 'opened');
    assert.notEqual(t.changes.at(-1)!.incident.id, first.id);
  } finally {
    await t.cleanup();
  }
});

test('acknowledge and mute states; mute expires back to open; cursor pagination; persisted across restart', async () => {
  const t = setup();
  try {
    for (let i = 0; i < 7; i++) t.sink.push(makeEvent({ clientIp: `192.0.2.${i + 1}`, clientKey: `192.0.2.${i + 1}`, time: t.now + i }));
    await t.svc.flush();
    const p1 = t.svc.list({ limit: 3 });
    assert.equal(p1.items.length, 3);
    assert.ok(p1.nextCursor);
    const p2 = t.svc.list({ limit: 3, cursor: p1.nextCursor });
    const p3 = t.svc.list({ limit: 3, cursor: p2.nextCursor });
    const ids = [...p1.items, ...p2.items, ...p3.items].map((i) => i.id);
    assert.equal(new Set(ids).size, 7);
    assert.equal(p3.nextCursor, undefined);
    assert.throws(() => t.svc.list({ cursor: 'garbage' }), RangeError);

    const id = p1.items[0]!.id;
    assert.equal(t.svc.acknowledge(id, 'ana')?.state, 'acknowledged');
    assert.throws(() => t.svc.mute(id, t.now - 1, 'ana'), RangeError);
    const muted = t.svc.mute(id, t.now + 60_000, 'ana');
    assert.equal(muted?.state, 'muted');
    assert.equal(t.svc.list({ state: 'muted' }).items.length, 1);
    t.advance(61_000);
    assert.equal(t.svc.get(id)?.state, 'open');
    assert.equal(t.svc.list({ state: 'muted' }).items.length, 0);
    assert.equal(t.svc.acknowledge('nope', 'ana'), undefined);

    // A fresh service over the same file sees the incidents and keeps correlating into them.
    const svc2 = createIncidentService({ db: t.db, policy: () => t.policy, now: () => t.now });
    assert.equal(svc2.list().items.length, 7);
    svc2.ingest(makeEvent({ clientIp: '192.0.2.1', clientKey: '192.0.2.1', time: t.now }));
    await svc2.flush();
    assert.equal(svc2.list().items.length, 7);
    assert.equal(svc2.list({ actor: '192.0.2.1' }).items[0]!.events, 2);
    await svc2.close();
  } finally {
    await t.cleanup();
  }
});

test('bounded: the queue drops past queueLimit, samples and per-incident maps stay bounded', async () => {
  const t = setup({ controlPlane: { incidents: { queueLimit: 100, sampleEvents: 6, actorKeys: ['user', 'ip'] } } });
  try {
    // 1,000 events pushed synchronously: only 100 fit in the queue.
    for (let i = 0; i < 1000; i++) t.sink.push(makeEvent({ user: 'mallory', clientIp: `10.${(i >> 8) & 255}.${i & 255}.1`, clientKey: `10.${(i >> 8) & 255}.${i & 255}.1`, time: t.now + i }));
    assert.equal(t.svc.stats.dropped, 900);
    await t.svc.flush();
    // Then 900 more, flushed as they come.
    for (let i = 0; i < 900; i++) {
      t.svc.ingest(makeEvent({ user: 'mallory', clientIp: `10.9.${i & 255}.${(i >> 8) + 1}`, clientKey: 'x', target: `/p/${i}`, time: t.now + i }));
      if (i % 50 === 0) await t.svc.flush();
    }
    await t.svc.flush();
    const inc = t.svc.list().items[0]!;
    assert.equal(inc.events, 1000);
    assert.equal(inc.sampleEventIds.length, 6);
    assert.ok(Object.keys(inc.stats.ips).length <= 256);
    assert.ok(Object.keys(inc.stats.routes).length <= 64);
    assert.ok(inc.stats.overflow > 0);
  } finally {
    await t.cleanup();
  }
});

test('hostile strings are stored truncated and a 64 KiB target correlates quickly', async () => {
  const t = setup();
  try {
    const long = '/' + 'a{'.repeat(32 * 1024);
    const started = performance.now();
    for (let i = 0; i < 50; i++) t.sink.push(makeEvent({ target: long, user: 'u'.repeat(64 * 1024), category: 'x'.repeat(64 * 1024) }));
    await t.svc.flush();
    assert.ok(performance.now() - started < 5000);
    const inc = t.svc.list().items[0]!;
    assert.ok(inc.actor.value.length <= 256);
    assert.ok(inc.scenario.length <= 256);
    assert.ok(Object.keys(inc.stats.routes)[0]!.length <= 256 + 8);
    assert.ok(t.svc.recommendations(inc.id));
  } finally {
    await t.cleanup();
  }
});

test('memory bound: 20,000 rotating client IPs keep the in-memory index at maxOpen; retention prunes old incidents', async () => {
  const t = setup({ controlPlane: { incidents: { maxOpen: 100, queueLimit: 100_000 } }, events: { retention: '1h' } });
  try {
    for (let i = 0; i < 20_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      t.svc.ingest(makeEvent({ clientIp: ip, clientKey: ip, time: t.now }));
      if (i % 2000 === 1999) await t.svc.flush();
    }
    await t.svc.flush();
    assert.equal(t.svc.stats.opened, 20_000);
    assert.ok(t.svc.stats.indexed <= 100, String(t.svc.stats.indexed));
    // An evicted incident is found again in SQLite and keeps correlating.
    t.svc.ingest(makeEvent({ clientIp: '10.0.0.0', clientKey: '10.0.0.0', time: t.now }));
    await t.svc.flush();
    assert.equal(t.svc.list({ actor: '10.0.0.0' }).items[0]!.events, 2);
    assert.equal(t.svc.stats.opened, 20_000);

    t.advance(2 * 3_600_000);
    t.svc.sweep();
    t.svc.sweep();
    assert.equal(t.svc.list().items.length, 0);
  } finally {
    await t.cleanup();
  }
});
