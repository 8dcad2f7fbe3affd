/**
 * Rate-limit, decision and event-store figures (`npm run bench ratelimit`, or run this file directly):
 * - bytes per tracked key of the memory rate-limit store (GCRA and sliding window), measured with
 *   `--expose-gc` heap deltas in a child process at 200,000 IPv4 keys;
 * - cost of one limiter hit, of the whole rate-limit detector (default policy: 2 rules) and of a decision
 *   lookup, in ns per request;
 * - SQLite event store write cost per batch of 500 (runs on the event loop, off the request path);
 * - Redis limiter round trip (when Redis answers on 127.0.0.1:6379).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { MemoryRateLimitStore, type RateLimitParams } from '../../src/ratelimit/store.ts';
import { LruMap } from '../../src/core/lru.ts';

const KEYS = 200_000;

function ipOf(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** Child mode: heap bytes per key for one structure. */
async function memoryChild(kind: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) keys.push(ipOf(i)); // keys exist before the baseline: count them separately
  const keyBytes = (() => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const copies: string[] = [];
    for (let i = 0; i < KEYS; i++) copies.push(ipOf(i));
    gc();
    const after = process.memoryUsage().heapUsed;
    const per = (after - before) / KEYS - 8; // minus the array slot
    copies.length = 0;
    return per;
  })();
  gc();
  // Typed arrays live outside the V8 heap: count heap + ArrayBuffers.
  const used = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const now = Date.now();
  let keep: unknown;
  if (kind === 'gcra' || kind === 'sliding-window') {
    const s = new MemoryRateLimitStore(KEYS, { sweepIntervalMs: 0 });
    const p: RateLimitParams = { ruleId: 'r', algorithm: kind, limit: 100, windowMs: 60_000 };
    for (let i = 0; i < KEYS; i++) s.hit(p, keys[i]!, now);
    keep = s;
  } else {
    const m = new LruMap<string, number>(KEYS);
    for (let i = 0; i < KEYS; i++) m.set(keys[i]!, now + i + 0.5);
    keep = m;
  }
  gc();
  const after = used();
  const structure = (after - before) / KEYS;
  console.log(JSON.stringify({ kind, structure, keyBytes, total: structure + keyBytes, keep: keep ? 1 : 0 }));
}

function nsPer(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Runs the section. */
export async function run(): Promise<void> {
  console.log('\n## Rate limiting, decisions, events');
  const self = fileURLToPath(import.meta.url);
  for (const kind of ['gcra', 'sliding-window', 'core-lru-map']) {
    const r = spawnSync(process.execPath, ['--expose-gc', self, '--memory-child', kind], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    try {
      const m = JSON.parse(line) as { structure: number; keyBytes: number; total: number };
      console.log(`memory per tracked key (${kind}, ${KEYS} IPv4 keys): ${m.structure.toFixed(0)} B structure + ${m.keyBytes.toFixed(0)} B key string = ${m.total.toFixed(0)} B/key → ${((m.total * KEYS) / 1e6).toFixed(1)} MB at state.maxKeys=${KEYS} per rule`);
    } catch {
      console.log(`memory measurement ${kind} failed: ${r.stderr.slice(0, 500)}`);
    }
  }

  const { validatePolicy } = await import('../../src/config/load.ts');
  const { rateLimitDetector } = await import('../../src/detectors/ratelimit.ts');
  const { RequestContext } = await import('../../src/core/context.ts');
  const { makeServices } = await import('../../src/detectors/testkit.ts');
  const policy = validatePolicy({});
  const store = new MemoryRateLimitStore(policy.state.maxKeys, { sweepIntervalMs: 0 });
  const p: RateLimitParams = { ruleId: 'default-ip', algorithm: 'gcra', limit: 100, windowMs: 60_000 };
  const now = Date.now();
  const hot = nsPer(1_000_000, (i) => store.hit(p, ipOf(i & 1023), now));
  const flood = nsPer(1_000_000, (i) => store.hit(p, ipOf(i + 5000), now));
  console.log(`memory GCRA hit: ${hot.toFixed(0)} ns (1,024 active keys), ${flood.toFixed(0)} ns (1,000,000 distinct keys, LRU evicting at ${policy.state.maxKeys}); tracked ${store.size}, evicted ${store.evictions}`);

  const services = await makeServices(policy);
  const det = rateLimitDetector(policy, services)!;
  const ctxs = Array.from({ length: 1024 }, (_, i) => new RequestContext({ id: 'b', clientIp: ipOf(i), clientKey: ipOf(i), peerIp: ipOf(i), method: i % 8 ? 'GET' : 'POST', target: i % 8 ? '/api/products?page=2' : '/api/login', headers: {} }));
  const detNs = nsPer(500_000, (i) => {
    const c = ctxs[i & 1023]!;
    c.responseHeaders.length = 0;
    c.scratch.clear();
    c.signals.length = 0;
    det.inspectRequest!(c);
  });
  console.log(`rate-limit detector, default policy (2 rules, path normalization, headers): ${detNs.toFixed(0)} ns/request`);
  for (let i = 0; i < 1000; i++) services.decisions.add({ scope: 'ip', value: ipOf(100_000 + i), type: 'ban', origin: 'manual', source: 'bench', reason: 'x', durationMs: 3_600_000 });
  for (let i = 0; i < 50; i++) services.decisions.add({ scope: 'range', value: `172.${16 + i}.0.0/16`, type: 'ban', origin: 'manual', source: 'bench', reason: 'x', durationMs: 3_600_000 });
  const decNs = nsPer(500_000, (i) => {
    const c = ctxs[i & 1023]!;
    c.scratch.clear();
    services.decisions.match(c);
  });
  console.log(`decision lookup (1,000 ip bans + 50 range bans, miss): ${decNs.toFixed(0)} ns/request`);
  await det.close?.();
  await services.decisions.close();

  const { openDatabase } = await import('../../src/store/sqlite.ts');
  const { SqliteEventStore } = await import('../../src/events/sqlite-store.ts');
  const { sampleEvent } = await import('../../src/events/testkit.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'bw-bench-'));
  try {
    const db = openDatabase(join(dir, 'bulwark.db'));
    const batch = Array.from({ length: 500 }, (_, i) => sampleEvent({ clientIp: ipOf(i) }));
    for (const writerThread of [false, true]) {
      const es = new SqliteEventStore(db, { writerThread });
      const times: number[] = [];
      const loopBlocked: number[] = [];
      for (let r = 0; r < 20; r++) {
        const b = batch.map((e) => ({ ...e, id: randomUUID() }));
        const t0 = performance.now();
        const p = es.insertBatch(b);
        loopBlocked.push(performance.now() - t0); // synchronous part: time the event loop cannot serve requests
        await p;
        times.push(performance.now() - t0);
      }
      await es.close();
      times.sort((a, b) => a - b);
      loopBlocked.sort((a, b) => a - b);
      console.log(`SQLite event store (${writerThread ? 'writer thread' : 'main thread'}): ${times[10]!.toFixed(1)} ms per batch of 500, event loop blocked ${loopBlocked[10]!.toFixed(2)} ms (medians of 20) → ${((500 / times[10]!) * 1000).toFixed(0)} events/s`);
    }
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    const { RedisRateLimitStore } = await import('../../src/ratelimit/redis-store.ts');
    const { Redis } = await import('ioredis');
    const prefix = `bwbench:${randomUUID()}:`;
    const rs = new RedisRateLimitStore('redis://127.0.0.1:6379', { prefix });
    await rs.hit(p, 'warm', Date.now());
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await rs.hit(p, ipOf(i & 255), Date.now());
    const seq = ((performance.now() - t0) * 1000) / n;
    const t1 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => rs.hit(p, ipOf(i & 255), Date.now())));
    const par = ((performance.now() - t1) * 1000) / n;
    console.log(`Redis GCRA (EVALSHA): ${seq.toFixed(0)} µs per sequential hit, ${par.toFixed(1)} µs per hit with 2,000 in flight`);
    await rs.close();
    const admin = new Redis('redis://127.0.0.1:6379');
    const keys = await admin.keys(prefix + '*');
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  } catch (err) {
    console.log(`Redis limiter: skipped (${(err as Error).message})`);
  }
}

if (process.argv[2] === '--memory-child') await memoryChild(process.argv[3]!);
else if (import.meta.url === `file://${process.argv[1]}`) await run();
