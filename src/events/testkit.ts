import assert from 'node:assert/strict';
import type { EventStore, SecurityEvent } from './types.ts';
import { uuidv7 } from './record.ts';

/**
 * Builds a plausible {@link SecurityEvent} for store and sink tests; `over` replaces fields.
 */
export function sampleEvent(over: Partial<SecurityEvent> = {}): SecurityEvent {
  const time = over.time ?? Date.now();
  return {
    id: uuidv7(time),
    time,
    requestId: 'req-1',
    clientIp: '192.0.2.1',
    clientKey: '192.0.2.1',
    method: 'GET',
    target: '/api/search?q=hello',
    route: '/api/search',
    host: 'example.test',
    userAgent: 'curl/8.5',
    status: 429,
    action: 'throttle',
    wouldBe: 'throttle',
    monitor: false,
    anomalyScore: 0,
    risk: 0.6,
    level: 'MEDIUM',
    signals: [{ ruleId: 'ratelimit.default-ip', detector: 'ratelimit', category: 'ratelimit', score: 0, action: 'throttle', evidence: { detail: { limit: 100, windowS: 60, key: '192.0.2.1', retryAfterS: 1 } } }],
    reasons: ['ratelimit.default-ip'],
    latencyMs: 0.12,
    category: 'ratelimit',
    ...over,
  };
}

/**
 * The {@link EventStore} contract, shared by the SQLite and PostgreSQL store tests: filters, newest-first
 * cursor pagination, oldest-first streaming, idempotent batches, prune. Throws an AssertionError on failure.
 */
export async function checkEventStoreContract(store: EventStore): Promise<void> {
  const base = 1_700_000_000_000;
  const events: SecurityEvent[] = [];
  for (let i = 0; i < 250; i++) {
    const blocked = i % 10 === 0;
    events.push(
      sampleEvent({
        time: base + Math.floor(i / 2) * 1000, // pairs share a timestamp: the cursor must break ties
        clientIp: i % 5 === 0 ? '198.51.100.5' : `192.0.2.${i % 250}`,
        clientKey: i % 5 === 0 ? '198.51.100.5' : `192.0.2.${i % 250}`,
        route: i % 2 ? '/api/login' : '/api/search',
        action: blocked ? 'block' : 'throttle',
        wouldBe: blocked ? 'block' : 'throttle',
        level: blocked ? 'CRITICAL' : 'MEDIUM',
        monitor: i % 25 === 0,
        category: blocked ? 'sqli' : 'ratelimit',
        target: blocked ? `/api/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--${i}` : `/api/search?q=item${i}`,
        signals: blocked
          ? [{ ruleId: 'sqli.942100', detector: 'payload', category: 'sqli', score: 5, evidence: { value: "1' UNION SELECT password FROM users--", matched: 'union select' } }]
          : [{ ruleId: 'ratelimit.default-ip', detector: 'ratelimit', category: 'ratelimit', score: 0, action: 'throttle' }],
        reasons: blocked ? ['sqli.942100'] : ['ratelimit.default-ip'],
        apiKey: i === 7 ? 'sk_l…deadbeef' : undefined,
        country: i === 7 ? 'NL' : undefined,
        asn: i === 7 ? 64500 : undefined,
      }),
    );
  }
  // Two batches, the second re-sent (idempotent retry).
  await store.insertBatch(events.slice(0, 100));
  await store.insertBatch(events.slice(100));
  await store.insertBatch(events.slice(100, 110));

  // Round trip of every field.
  const e7 = (await store.query({ clientIp: events[7]!.clientIp, from: events[7]!.time, to: events[7]!.time + 1 })).events.find((e) => e.id === events[7]!.id);
  assert.deepEqual(e7, events[7]);

  // Cursor pagination: newest first, no duplicates, no gaps.
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.query({ limit: 100, cursor });
    pages++;
    for (const e of page.events) seen.push(e.id);
    cursor = page.nextCursor;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.equal(seen.length, 250);
  assert.equal(new Set(seen).size, 250);
  const expectedOrder = [...events].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1)).map((e) => e.time);
  const gotTimes = seen.map((id) => events.find((e) => e.id === id)!.time);
  assert.deepEqual(gotTimes, expectedOrder);

  // Filters.
  const count = async (q: Parameters<typeof store.query>[0]): Promise<number> => {
    let n = 0;
    for await (const _ of store.stream(q)) n++;
    return n;
  };
  assert.equal(await count({ action: 'block' }), 25);
  assert.equal(await count({ ruleId: 'sqli.942100' }), 25);
  assert.equal(await count({ category: 'ratelimit' }), 225);
  assert.equal(await count({ level: 'CRITICAL' }), 25);
  assert.equal(await count({ clientIp: '198.51.100.5' }), 50);
  assert.equal(await count({ route: '/api/login' }), 125);
  assert.equal(await count({ monitor: true }), 10);
  assert.equal(await count({ text: 'union select' }), 25, 'full-text over target and evidence (case-insensitive)');
  assert.equal(await count({ text: '100%' }), 0, 'LIKE wildcards are literal');
  assert.equal(await count({ text: 'item13' }), 10, 'item13 and item131–139 (130 is a blocked one)');
  assert.equal(await count({ from: base + 10_000, to: base + 20_000 }), 20);
  assert.equal(await count({ action: 'block', clientIp: '198.51.100.5' }), 25);
  const page = await store.query({ action: 'block', limit: 10 });
  assert.equal(page.events.length, 10);
  assert.ok(page.nextCursor);
  assert.ok(page.events.every((e) => e.action === 'block'));
  assert.equal((await store.query({ action: 'block', limit: 10, cursor: page.nextCursor })).events.length, 10);

  // Stream: oldest first, everything.
  let prev = -Infinity;
  let n = 0;
  for await (const e of store.stream({})) {
    assert.ok(e.time >= prev);
    prev = e.time;
    n++;
  }
  assert.equal(n, 250);

  // Prune.
  assert.equal(await store.prune(base + 50_000), 100);
  assert.equal(await count({}), 150);
  assert.equal(await count({ ruleId: 'sqli.942100' }), 15);
  assert.equal(await count({ text: 'union select' }), 15);
}
