import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyValue, segmentPlaceholder, charClasses } from './classify.ts';
import { Inventory, queryParamNames } from './inventory.ts';
import { DiscoveryDetector, loadOpenApi } from './detector.ts';
import { discoverySchema } from './schema.ts';
import { RequestContext } from '../../core/context.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { ConfigError } from '../../config/errors.ts';

const policy = (over: Record<string, unknown> = {}) => discoverySchema.parse(over);

function ctx(method: string, target: string, startedAt = Date.now()): RequestContext {
  return new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target, headers: {}, startedAt });
}

test('classifies values and path segments', () => {
  assert.equal(classifyValue('123'), 'int');
  assert.equal(classifyValue('-1.5e3'), 'float');
  assert.equal(classifyValue('TRUE'), 'bool');
  assert.equal(classifyValue('3f2504e0-4f89-11d3-9a0c-0305e82c3301'), 'uuid');
  assert.equal(classifyValue('d41d8cd98f00b204e9800998ecf8427e'), 'hex');
  assert.equal(classifyValue('2024-02-29'), 'date');
  assert.equal(classifyValue('2024-02-29T10:00:00Z'), 'date');
  assert.equal(classifyValue('a.b@example.com'), 'email');
  assert.equal(classifyValue('sk_live_4eC39HqLyjWDarjtT1zdp7dc'), 'token');
  assert.equal(classifyValue('products'), 'word');
  assert.equal(classifyValue("it's free text"), 'text');
  assert.equal(segmentPlaceholder('42'), '{id}');
  assert.equal(segmentPlaceholder('users'), undefined);
  assert.equal(segmentPlaceholder('5f1d7a3b9c2e4a6b8d0f1e2a'), '{hash}');
  assert.equal(charClasses('ab1'), 1 | 4);
  assert.ok(charClasses("a'<") & 64);
});

test('templates ids, uuids, hashes, dates, emails and tokens', () => {
  const inv = new Inventory(policy());
  assert.equal(inv.observe('GET', '/api/users/123', 200, []), '/api/users/{id}');
  assert.equal(inv.observe('GET', '/api/users/456', 200, []), '/api/users/{id}');
  assert.equal(inv.observe('GET', '/api/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301/items', 200, []), '/api/orders/{uuid}/items');
  assert.equal(inv.observe('GET', '/files/d41d8cd98f00b204e9800998ecf8427e', 200, []), '/files/{hash}');
  assert.equal(inv.observe('GET', '/reports/2024-01-31', 200, []), '/reports/{date}');
  assert.equal(inv.observe('GET', '/u/a.b@example.com', 200, []), '/u/{email}');
  assert.equal(inv.resolve('GET', '/api/users/789').route, '/api/users/{id}');
  assert.ok(inv.resolve('GET', '/api/users/789').endpoint);
  assert.equal(inv.get('GET', '/api/users/{id}')?.count, 2);
  assert.equal(inv.resolve('GET', '/api/users/me').route, '/api/users/me');
  assert.equal(inv.resolve('GET', '/api/users/me').endpoint, undefined);
});

test('collapses a position with many distinct literals into {var}, but not from 404s', () => {
  const inv = new Inventory(policy({ variableThreshold: 10 }));
  for (let i = 0; i < 50; i++) inv.observe('GET', `/scan-${i}/x`, 404, []);
  assert.equal(inv.size, 0, '404 probes are not learned');
  for (let i = 0; i < 9; i++) inv.observe('GET', `/api/products/name${String.fromCharCode(97 + i)}`, 200, []);
  assert.equal(inv.size, 9);
  const r = inv.observe('GET', '/api/products/namej', 200, []);
  assert.equal(r, '/api/products/{var}');
  assert.equal(inv.resolve('GET', '/api/products/anything').route, '/api/products/{var}');
  assert.equal(inv.size, 1, 'literal endpoints under the collapsed position are replaced');
});

test('inventory is bounded by maxEndpoints and params per endpoint', () => {
  const inv = new Inventory(policy({ maxEndpoints: 5, maxParamsPerEndpoint: 3, variableThreshold: 1000 }));
  for (let i = 0; i < 20; i++) inv.observe('GET', `/a${i}`, 200, ['p1', 'p2', 'p3', 'p4', `x${i}`]);
  assert.equal(inv.size, 5);
  assert.ok(inv.dropped >= 15);
  const ep = inv.export().endpoints[0]!;
  assert.equal(Object.keys(ep.params).length, 3);
});

test('query parameter names are decoded and bounded', () => {
  assert.deepEqual(queryParamNames('a=1&b%5B%5D=2&a=3&c'), ['a', 'b[]', 'c']);
  assert.equal(queryParamNames(Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&')).length, 64);
});

test('OpenAPI seed: parameters match any segment, shadow endpoints are flagged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-disc-'));
  try {
    const file = join(dir, 'api.yaml');
    writeFileSync(file, 'openapi: 3.0.0\nservers:\n  - url: https://api.example.test/v1\npaths:\n  /users/{userId}:\n    get: {}\n    delete: {}\n  /health:\n    get: {}\n');
    const inv = new Inventory(policy());
    const n = inv.seedOpenApi(loadOpenApi(file));
    assert.equal(n, 3);
    const d = new DiscoveryDetector(policy({ openapi: file }), inv);
    const c1 = ctx('GET', '/v1/users/alice');
    assert.equal(d.inspectRequest(c1), undefined);
    assert.equal(c1.route, '/v1/users/{userId}');
    const c2 = ctx('GET', '/v1/internal/debug');
    const s = d.inspectRequest(c2);
    assert.equal(s?.ruleId, 'behavior.discovery.shadow');
    assert.equal(s?.score, 1);
    assert.equal(c2.route, '/v1/internal/debug');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'just: text\n');
    assert.throws(() => loadOpenApi(bad), (e: unknown) => e instanceof ConfigError && e.code === 'BWK_CONFIG_PARSE');
    assert.throws(() => loadOpenApi(join(dir, 'missing.yaml')), (e: unknown) => e instanceof ConfigError && e.code === 'BWK_CONFIG_READ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown endpoints are flagged only after the learning period', () => {
  const t0 = 1_700_000_000_000;
  const inv = new Inventory(policy({ learningPeriod: '1m' }), t0);
  const d = new DiscoveryDetector(policy({ learningPeriod: '1m' }), inv);
  const a = ctx('GET', '/api/known/1', t0 + 1000);
  assert.equal(d.inspectRequest(a), undefined);
  d.observeResponse(a, { status: 200, latencyMs: 1, bytes: 10, byGateway: false });
  assert.equal(d.inspectRequest(ctx('GET', '/api/known/2', t0 + 120_000)), undefined);
  const s = d.inspectRequest(ctx('GET', '/api/new', t0 + 120_000));
  assert.equal(s?.ruleId, 'behavior.discovery.unknown');
  assert.equal(d.inspectRequest(ctx('GET', '/api/new2', t0 + 30_000)), undefined, 'still learning');
});

test('persists to SQLite and loads on start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-disc-'));
  const db = openDatabase(join(dir, 'b.db'));
  try {
    Inventory.migrate(db);
    const inv = new Inventory(policy());
    inv.observe('POST', '/api/login', 200, ['next']);
    inv.observe('GET', '/api/users/5', 200, []);
    assert.equal(inv.persist(db), 2);
    const inv2 = new Inventory(policy());
    inv2.load(db);
    assert.equal(inv2.size, 2);
    assert.equal(inv2.get('POST', '/api/login')?.params.next, 1);
    assert.equal(inv2.resolve('GET', '/api/users/77').route, '/api/users/{id}');
    assert.equal(inv2.createdAt, inv.createdAt);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('64 KiB pathological paths and queries resolve quickly', () => {
  const inv = new Inventory(policy());
  const d = new DiscoveryDetector(policy(), inv);
  const nasty = ['/'.repeat(65536), '/' + 'a'.repeat(65535), '/' + '1/'.repeat(32768), '/x?' + '&'.repeat(65536), '/x?' + 'a=%'.repeat(21845), '/' + '%40.'.repeat(16384)];
  const t = performance.now();
  for (const p of nasty) {
    const c = ctx('GET', p);
    d.inspectRequest(c);
    d.observeResponse(c, { status: 200, latencyMs: 1, bytes: 1, byGateway: false });
    assert.ok(c.route!.length < 2048);
  }
  assert.ok(performance.now() - t < 2000, 'linear-time handling');
});

test('the response phase reusing the request-phase resolution learns exactly what learning from scratch does', () => {
  // Interleaved requests (responses arrive after other requests learned, collapsed or reloaded the policy):
  // one inventory gets the request phase's resolution, the other none; routes and exports must agree.
  let seed = 11;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed / 2 ** 32);
  const p = policy({ variableThreshold: 6, maxEndpoints: 40 });
  const withPrior = new Inventory(p, 0);
  const plain = new Inventory(p, 0);
  const pending: { method: string; path: string; prior: ReturnType<Inventory['resolve']> }[] = [];
  for (let i = 0; i < 4000; i++) {
    const k = rnd();
    const path = k < 0.3 ? `/api/users/${Math.floor(rnd() * 50)}` : k < 0.6 ? `/api/items/n${Math.floor(rnd() * 12)}/x` : k < 0.8 ? `/api/${Math.floor(rnd() * 30) === 0 ? 'v' + i : 'list'}` : `/s${Math.floor(rnd() * 70)}`;
    const method = rnd() < 0.8 ? 'GET' : 'POST';
    pending.push({ method, path, prior: withPrior.resolve(method, path) });
    if (i === 2000) withPrior.policy = plain.policy = policy({ variableThreshold: 6, maxEndpoints: 40, maxDepth: 2 });
    while (pending.length > 0 && rnd() < 0.55) {
      const q = pending.splice(Math.floor(rnd() * pending.length), 1)[0]!;
      const status = [200, 404, 401, 500, 403][Math.floor(rnd() * 5)]!;
      assert.equal(withPrior.observe(q.method, q.path, status, ['a'], i, q.prior), plain.observe(q.method, q.path, status, ['a'], i), q.path);
    }
  }
  assert.deepEqual(withPrior.export(), plain.export());
  assert.ok(plain.size > 5);
});
