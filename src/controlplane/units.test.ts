import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { lineDiff } from './diff.ts';
import { hashPassword, verifyPassword, safeEqual } from './crypto.ts';
import { csvCell, serialize } from './export.ts';
import { SseConnection, SSE_MAX_QUEUED, StreamHub } from './stream.ts';
import { escapeHtml } from './report.ts';
import { mergePatch, policyToDocument, policyToYaml, samePolicy } from './policy.ts';
import { redact } from './audit.ts';
import { validatePolicy, parsePolicy } from '../config/load.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../store/sqlite.ts';
import { SqliteControlPlaneStore } from './store.ts';

test('lineDiff: unified hunks, counts, identical input, cap on hostile input', () => {
  const d = lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n', ['v1', 'v2']);
  assert.equal(d.text, '--- v1\n+++ v2\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n');
  assert.deepEqual([d.added, d.removed], [2, 1]);
  assert.equal(lineDiff('x\n', 'x\n').text, '');
  // 20,000 entirely different lines: capped edit distance keeps it fast and still correct
  const a = Array.from({ length: 20_000 }, (_, i) => `a${i}`).join('\n');
  const b = Array.from({ length: 20_000 }, (_, i) => `b${i}`).join('\n');
  const t0 = performance.now();
  const big = lineDiff(a, b);
  assert.ok(performance.now() - t0 < 5000);
  assert.deepEqual([big.added, big.removed], [20_000, 20_000]);
});

test('scrypt password hashes: parameters stored, verify, wrong password, malformed hash', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]{44}\$[A-Za-z0-9+/=]{88}$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterx', h), false);
  assert.equal(await verifyPassword('x', 'scrypt$99$8$1$AA$AA'), false);
  assert.equal(await verifyPassword('x', 'plain'), false);
  assert.notEqual(await hashPassword('same'), await hashPassword('same'), 'salted');
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abcd'), false);
});

test('CSV cells: RFC 4180 quoting and formula neutralisation; 64 KiB pathological cell is linear', async () => {
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('=1+1'), "'=1+1");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell(-5), '-5', 'numbers are not formulas');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(['a', 'b']), 'a b');
  const hostile = '"\n,'.repeat(22_000).slice(0, 65_536);
  const t0 = performance.now();
  const out = csvCell(hostile);
  assert.ok(performance.now() - t0 < 500);
  assert.ok(out.startsWith('"') && out.endsWith('"'));
  let text = '';
  for await (const chunk of serialize([{ a: 1, b: 'x' }, { a: 2, b: 'y' }], 'json', [])) text += chunk;
  assert.deepEqual(JSON.parse(text), [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
  text = '';
  for await (const chunk of serialize([], 'json', [])) text += chunk;
  assert.deepEqual(JSON.parse(text), []);
});

test('escapeHtml: every HTML-significant character; 64 KiB payload', () => {
  assert.equal(escapeHtml(`<img src=x onerror="a('b')">&`), '&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;');
  const t0 = performance.now();
  const out = escapeHtml('<'.repeat(65_536));
  assert.ok(performance.now() - t0 < 500);
  assert.equal(out.length, 65_536 * 4);
});

test('audit redaction: secret-named fields and API keys never stored in clear', () => {
  const r = redact({ password: 'p', nested: { webhookUrl: 'https://hooks/x', token: 't', ok: 1 }, lists: { apiKeys: ['secret-key-1'] } }) as any;
  assert.equal(r.password, '[redacted]');
  assert.equal(r.nested.webhookUrl, '[redacted]');
  assert.equal(r.nested.token, '[redacted]');
  assert.equal(r.nested.ok, 1);
  assert.match(r.lists.apiKeys[0], /^secr…[0-9a-f]{8}$/);
});

test('JSON merge patch (RFC 7396) and policy documents that round-trip to the same policy', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] }), { a: 1, b: { d: 3, e: 4 }, f: [1] });
  assert.deepEqual(mergePatch({ a: 1 }, { __proto__: { x: 1 } } as unknown), { a: 1 });
  assert.deepEqual(mergePatch({ a: 1 }, 'x'), 'x');
  assert.equal(policyToYaml(validatePolicy({})), '');
  const p = validatePolicy({ mode: 'monitor', decisions: { defaultBanDuration: '10m' }, events: { sampleAllowed: 0 }, rateLimits: [{ id: 'x', limit: 5, window: '2s', banDuration: '1h', action: 'ban' }] });
  const doc = policyToDocument(p);
  assert.equal((doc.decisions as Record<string, unknown>).defaultBanDuration, '600000ms');
  assert.ok(samePolicy(validatePolicy(doc), p));
  assert.ok(samePolicy(parsePolicy(policyToYaml(p)), p));
});

function fakeRes() {
  const em = new EventEmitter() as EventEmitter & { written: string[]; full: boolean; write(s: string): boolean; end(): void };
  em.written = [];
  em.full = false;
  em.write = (s: string) => {
    em.written.push(s);
    return !em.full;
  };
  em.end = () => {};
  return em;
}

test('SSE connection: slow consumer gets a bounded queue, drops are counted and reported after drain', () => {
  const res = fakeRes();
  const c = new SseConnection(res as unknown as ServerResponse);
  res.full = true;
  c.send('event', { n: 0 }); // accepted by the socket, which now reports congestion
  for (let i = 1; i <= SSE_MAX_QUEUED + 500; i++) c.send('event', { n: i });
  assert.equal(res.written.length, 1);
  assert.equal(c.dropped, 500);
  res.full = false;
  res.emit('drain');
  assert.equal(res.written.length, 1 + SSE_MAX_QUEUED + 1);
  assert.equal(res.written.at(-1), 'event: dropped\ndata: {"count":500}\n\n');
  assert.equal(c.dropped, 0);
  assert.equal(c.droppedTotal, 500);
  const res2 = fakeRes();
  const filtered = new SseConnection(res2 as unknown as ServerResponse, new Set(['decision']));
  filtered.send('event', {});
  filtered.send('decision', { op: 'delete', id: 'x' });
  assert.deepEqual(res2.written, ['event: decision\ndata: {"op":"delete","id":"x"}\n\n']);
});

test('SSE hub: heartbeats re-check credentials and end streams whose credential was revoked', async () => {
  const hub = new StreamHub(() => {}, 20);
  let valid = true;
  const res = fakeRes();
  let ended = false;
  res.end = () => {
    ended = true;
  };
  const c = new SseConnection(res as unknown as ServerResponse, undefined, async () => valid);
  hub.add(c, res as unknown as ServerResponse);
  await new Promise((r) => setTimeout(r, 70));
  assert.ok(res.written.includes(': ping\n\n'), 'heartbeat sent while valid');
  assert.equal(ended, false);
  valid = false;
  await new Promise((r) => setTimeout(r, 70));
  assert.equal(ended, true, 'stream ended after revocation');
  hub.close();
});

test('policy version listings carry no YAML or diff, and filter by creation time in SQL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-cpstore-'));
  const db = openDatabase(join(dir, 'cp.db'));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const store = new SqliteControlPlaneStore(db);
  const big = 'x: ' + 'y'.repeat(100_000);
  for (let v = 1; v <= 5; v++) await store.insertPolicyVersion({ version: v, author: 'admin', createdAt: v * 1000, yaml: big, diff: big, linesAdded: v, linesRemoved: 0 });
  const all = await store.listPolicyVersions(undefined, 10);
  assert.deepEqual(all.map((v) => v.version), [5, 4, 3, 2, 1]);
  assert.ok(all.every((v) => !('yaml' in v) && !('diff' in v)));
  assert.deepEqual((await store.listPolicyVersions(5, 2)).map((v) => v.version), [4, 3], 'cursor and limit');
  assert.deepEqual((await store.listPolicyVersions(undefined, 10, { from: 2000, to: 4000 })).map((v) => v.version), [3, 2]);
  assert.equal((await store.getPolicyVersion(3))?.yaml, big, 'one version still has its YAML');
});
