import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestContext } from '../../core/context.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { positiveModelSchema } from './schema.ts';
import { PositiveModel } from './model.ts';
import { PositiveDetector } from './detector.ts';
import { bodyParts, queryParts } from './parts.ts';
import type { Signal } from '../../core/types.ts';

const T0 = 1_700_000_000_000;
const policy = (over: Record<string, unknown> = {}) =>
  positiveModelSchema.parse({ learning: { minSamples: 50, period: '1m', minParamSamples: 20 }, ...over });

function req(method: string, target: string, body?: string, contentType?: string, at = T0): RequestContext {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  const c = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target, headers, startedAt: at });
  if (body !== undefined) c.body = { bytes: Buffer.from(body), truncated: false };
  c.route = target.split('?')[0]!.replace(/\/\d+$/, '/{id}');
  return c;
}

function run(d: PositiveDetector, c: RequestContext, status = 200): Signal[] {
  const out: Signal[] = [];
  const a = d.inspectRequest(c);
  if (a) out.push(...a);
  if (c.body) {
    const b = d.inspectBody(c);
    if (b) out.push(...b);
  }
  c.verdict = { action: 'allow', wouldBe: 'allow', monitor: false, anomalyScore: 0, risk: 0, level: 'LOW', status: 0, reasons: [] };
  d.observeResponse(c, { status, latencyMs: 1, bytes: 1, byGateway: false });
  return out;
}

test('extracts query, form, JSON key paths and multipart fields', () => {
  assert.deepEqual(queryParts(req('GET', '/s?q=a+b&page=2&tag=x&tag=y')).map((p) => `${p.loc.name}=${p.value}`), ['q=a b', 'page=2', 'tag=x', 'tag=y']);
  const j = bodyParts(req('POST', '/api/tx', JSON.stringify({ amount: 10.5, to: { iban: 'DE89' }, items: [{ id: 1 }, { id: 2 }], meta: { '123': true } }), 'application/json'));
  assert.deepEqual(j.map((p) => p.loc.name), ['amount', 'to.iban', 'items[].id', 'items[].id', 'meta.{id}']);
  const f = bodyParts(req('POST', '/login', 'user=alice&pass=s%3Dcret', 'application/x-www-form-urlencoded'));
  assert.deepEqual(f.map((p) => [p.loc.kind, p.loc.name, p.value]), [['form', 'user', 'alice'], ['form', 'pass', 's=cret']]);
  const m = bodyParts(req('POST', '/up', '--XX\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n--XX\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\ndata\r\n--XX--\r\n', 'multipart/form-data; boundary=XX'));
  assert.deepEqual(m.map((p) => [p.loc.kind, p.loc.name, p.value]), [['multipart', 'title', 'hello'], ['filename', 'f', '']]);
});

test('learns, then flags unknown params, type, charset and length deviations below the block threshold', () => {
  const model = new PositiveModel(policy());
  const d = new PositiveDetector(policy(), model);
  for (let i = 0; i < 60; i++) {
    const s = run(d, req('GET', `/api/search?q=red+shoes${i % 7}&page=${i % 5}`, undefined, undefined, T0 + i * 1000));
    assert.deepEqual(s, [], 'no signal while learning');
  }
  for (let i = 0; i < 60; i++) run(d, req('POST', '/api/transaction', JSON.stringify({ amount: 10 + i, to: `acct${i}` }), 'application/json', T0 + i * 1000));
  const later = T0 + 120_000;
  assert.equal(model.state('GET /api/search', later), 'enforcing');
  assert.deepEqual(run(d, req('GET', '/api/search?q=boots&page=3', undefined, undefined, later)), []);

  const unknown = run(d, req('GET', '/api/search?q=boots&debug=1', undefined, undefined, later));
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0]!.ruleId, 'behavior.positive.unknown_param');
  assert.equal(unknown[0]!.evidence?.location?.name, 'debug');

  const type = run(d, req('GET', '/api/search?q=boots&page=abc', undefined, undefined, later));
  assert.equal(type[0]!.ruleId, 'behavior.positive.type');
  assert.equal(type[0]!.evidence?.detail?.seen, 'word');

  const charset = run(d, req('GET', "/api/search?q=boots'--&page=1", undefined, undefined, later));
  assert.equal(charset[0]!.ruleId, 'behavior.positive.charset');

  const length = run(d, req('GET', `/api/search?q=${'a'.repeat(200)}&page=1`, undefined, undefined, later));
  assert.equal(length[0]!.ruleId, 'behavior.positive.length');

  const jsonType = run(d, req('POST', '/api/transaction', JSON.stringify({ amount: 'lots', to: 'acct1', admin: true }), 'application/json', later));
  const ids = jsonType.map((s) => s.ruleId).sort();
  assert.deepEqual(ids, ['behavior.positive.type', 'behavior.positive.unknown_param']);
  const total = jsonType.reduce((a, s) => a + s.score, 0);
  assert.ok(total <= 3 && total > 0, `capped below the default anomaly threshold (got ${total})`);
});

test('deviating or failed requests are not learned; learning and frozen modes', () => {
  const model = new PositiveModel(policy());
  const d = new PositiveDetector(policy(), model);
  for (let i = 0; i < 60; i++) run(d, req('GET', `/a?x=${i}`, undefined, undefined, T0 + i));
  run(d, req('GET', '/a?y=1', undefined, undefined, T0 + 3_600_000), 200);
  assert.equal(model.profile('GET /a')?.params['query:y'], undefined, 'a deviating request is not learned');
  run(d, req('GET', '/b?z=1'), 500);
  assert.equal(model.profile('GET /b'), undefined, 'error responses are not learned');

  const learnOnly = new PositiveModel(policy({ mode: 'learning' }));
  const dl = new PositiveDetector(policy({ mode: 'learning' }), learnOnly);
  for (let i = 0; i < 60; i++) run(dl, req('GET', `/a?x=${i}`, undefined, undefined, T0 + i));
  assert.deepEqual(run(dl, req('GET', '/a?evil=1', undefined, undefined, T0 + 3_600_000)), []);

  const exp = model.export(T0 + 3_600_000);
  assert.equal(exp.endpoints['GET /a']!.state, 'enforcing');
  const frozen = new PositiveModel(policy());
  frozen.import(exp);
  frozen.freeze();
  assert.equal(frozen.state('GET /a', T0), 'frozen');
  frozen.learn('GET /a', queryParts(req('GET', '/a?new=1')));
  assert.equal(frozen.profile('GET /a')!.params['query:new'], undefined, 'frozen profiles do not learn');
  assert.throws(() => frozen.import({ version: 2 } as never), TypeError);
});

test('profiles are bounded and persisted to SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-pos-'));
  const db = openDatabase(join(dir, 'p.db'));
  try {
    const model = new PositiveModel(policy({ maxEndpoints: 3, maxParams: 4 }));
    for (let i = 0; i < 10; i++) model.learn(`GET /e${i}`, queryParts(req('GET', '/x?a=1&b=2&c=3&d=4&e=5')));
    assert.equal(model.size, 3);
    assert.equal(model.profile('GET /e0')!.open, true);
    assert.equal(Object.keys(model.profile('GET /e0')!.params).length, 4);
    PositiveModel.migrate(db);
    assert.equal(model.persist(db), 3);
    const again = new PositiveModel(policy({ maxEndpoints: 3 }));
    again.load(db);
    assert.equal(again.size, 3);
    assert.equal(again.profile('GET /e1')!.params['query:a']!.n, 1);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('64 KiB pathological bodies and queries are handled quickly', () => {
  const model = new PositiveModel(policy());
  const d = new PositiveDetector(policy(), model);
  for (let i = 0; i < 60; i++) run(d, req('POST', '/j', JSON.stringify({ a: i }), 'application/json', T0 + i));
  const later = T0 + 3_600_000;
  const inputs: [string, string | undefined, string | undefined][] = [
    ['/j?' + '&'.repeat(65536), undefined, undefined],
    ['/j?' + 'a=%%'.repeat(16384), undefined, undefined],
    ['/j', '['.repeat(65536), 'application/json'],
    ['/j', '['.repeat(30000) + ']'.repeat(30000), 'application/json'],
    ['/j', JSON.stringify({ a: 'x'.repeat(65536) }), 'application/json'],
    ['/j', '='.repeat(65536), 'application/x-www-form-urlencoded'],
    ['/j', '--B\r\n'.repeat(13000), 'multipart/form-data; boundary=B'],
  ];
  const t = performance.now();
  for (const [target, body, ct] of inputs) run(d, req('POST', target, body, ct, later));
  assert.ok(performance.now() - t < 3000);
});
