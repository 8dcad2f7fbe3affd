import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, findCrlfHeader } from './protocol.ts';
import { detectionSchema } from '../schema.ts';
import type { InspectionScope, Part } from '../types.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testContext, testScope } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

const H: [string, string][] = [['Host', 'api.example.test'], ['User-Agent', 'test']];

/** Request-rule findings (`id: hit`) for a request. */
function check(method: string, target: string, headers: [string, string][], opts: { parts?: Part[]; pl?: number; body?: InspectionScope['body']; phase?: 'request' | 'body'; detection?: InspectionScope['detection'] } = {}): string[] {
  const ctx = testContext(method, target, headers);
  const base = testScope(opts.parts ?? [], ctx);
  const scope: InspectionScope = { ...base, phase: opts.phase ?? 'request', body: opts.body, detection: opts.detection };
  const phase = opts.phase ?? 'request';
  return checkAll(rules.filter((r) => r.kind === 'request' && (r.phase ?? 'request') === phase), scope, opts.pl ?? 1);
}

const ids = (xs: string[]) => xs.map((x) => x.slice(0, 6)).sort();

test('clean requests raise nothing', () => {
  assert.deepEqual(check('GET', '/api/v1/users?page=2', H), []);
  assert.deepEqual(check('POST', '/api/items', [...H, ['Content-Type', 'application/json'], ['Content-Length', '12']]), []);
  assert.deepEqual(check('POST', '/upload', [...H, ['Transfer-Encoding', 'chunked']]), []);
  assert.deepEqual(check('POST', '/upload', [...H, ['Transfer-Encoding', 'gzip, chunked']]), []);
});

test('request-target and header characters', () => {
  assert.deepEqual(ids(check('GET', '/a\r\nb', H)), ['920100']);
  assert.deepEqual(ids(check('GET', '/a\u0000', H)), ['920100']);
  assert.deepEqual(check('GET', '/a|b', H), []);
  assert.deepEqual(ids(check('GET', '/a|b', H, { pl: 2 })), ['920101']);
  assert.deepEqual(ids(check('GET', '/', [...H, ['X-A', 'a\u0001b']])), ['920120']);
  assert.deepEqual(ids(check('GET', '/', [...H, ['X A', 'b']])), ['920120']);
  assert.deepEqual(check('GET', '/', [...H, ['X-A', 'tab\tok']]), []);
});

test('Host, Content-Length and Transfer-Encoding anomalies (RFC 9112)', () => {
  assert.deepEqual(ids(check('GET', '/', [['User-Agent', 'x']])), ['920140']);
  assert.deepEqual(ids(check('GET', '/', [...H, ['Host', 'evil.example']])), ['920141']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Content-Length', '5'], ['Content-Length', '7']])), ['920150']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Content-Length', '5, 7']])), ['920150']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Content-Length', '+5']])), ['920150']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Content-Length', '5'], ['Transfer-Encoding', 'chunked']])), ['920160']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Transfer-Encoding', 'xchunked']])), ['920161']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Transfer-Encoding', 'chunked\t']])), ['920161']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Transfer-Encoding', 'chunked, gzip']])), ['920161']);
  assert.deepEqual(ids(check('POST', '/', [...H, ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']])), ['920161']);
  assert.deepEqual(ids(check('GET', '/', [...H, ['Content-Length', '10']])), ['920170']);
});

test('body parse errors are reported in the body phase', () => {
  const body = { kind: 'json' as const, contentType: 'application/json', parseError: "json: unexpected '}' at 3", truncated: false, limited: false, text: '{"a"}' };
  assert.deepEqual(ids(check('POST', '/', H, { phase: 'body', body })), ['920130']);
  assert.deepEqual(check('POST', '/', H, { phase: 'body', body: { ...body, truncated: true } }), []);
});

test('limits come from detection.protocol (defaults without a policy)', () => {
  const many: [string, string][] = [...H];
  for (let i = 0; i < 120; i++) many.push([`X-H${i}`, 'v']);
  assert.deepEqual(ids(check('GET', '/', many)), ['920300']);
  const detection = detectionSchema.parse({ protocol: { maxHeaders: 200, maxArgs: 3, maxArgValueLength: 5 } });
  assert.deepEqual(check('GET', '/', many, { detection }), []);
  const parts: Part[] = [];
  for (const n of ['a', 'b', 'c', 'd']) parts.push({ loc: { kind: 'query_name', name: n }, value: n }, { loc: { kind: 'query', name: n }, value: 'long value' });
  assert.deepEqual(ids(check('GET', '/?a&b&c&d', H, { parts, detection })), ['920330', '920350']);
  assert.deepEqual(ids(check('GET', '/', [...H, ['Referer', 'x'.repeat(9000)]])), ['920310']);
  assert.deepEqual(ids(check('GET', '/' + 'a'.repeat(9000), H)), ['920320']);
});

test('method override abuse', () => {
  assert.deepEqual(ids(check('POST', '/', [...H, ['X-HTTP-Method-Override', 'TRACE']])), ['921100']);
  assert.deepEqual(ids(check('GET', '/items/1', [...H, ['X-HTTP-Method-Override', 'DELETE']])), ['921100']);
  const parts: Part[] = [{ loc: { kind: 'query', name: '_method' }, value: 'connect' }];
  assert.deepEqual(ids(check('GET', '/?_method=connect', H, { parts })), ['921100']);
  assert.deepEqual(check('POST', '/items/1', [...H, ['X-HTTP-Method-Override', 'PATCH']]), []);
  assert.deepEqual(ids(check('POST', '/items/1', [...H, ['X-HTTP-Method-Override', 'PATCH']], { pl: 2 })), ['921101']);
});

test('CRLF header injection in parameters', () => {
  const attacks = ['/%0d%0aSet-Cookie:a=b', 'x%0aLocation: http://evil.example', '%250d%250aX-Injected:1', '%%0a0aSet-Cookie:a', '%u000aSet-Cookie:a', 'a\r\n\r\nHTTP/1.1 200 OK'];
  for (const a of attacks) assert.ok(matchAll(rules, a, 'query').includes('921110'), `missed ${a}`);
  assert.ok(matchAll(rules, '/%0d%0aSet-Cookie:a', 'path').includes('921110'));
  // body text: only known header names count
  assert.ok(matchAll(rules, 'hello\r\nSet-Cookie: sid=1', 'json').includes('921110'));
  assert.deepEqual(matchAll(rules, 'Dear team,\nSubject: the plan\nNote: see below', 'json'), []);
  assert.deepEqual(matchAll(rules, 'Offsite day\nLocation: Berlin\nHost: Anna', 'json'), []);
  assert.deepEqual(matchAll(rules, 'line one\nline two', 'query'), []);
  assert.equal(findCrlfHeader('a\nb', false), null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['\n'.repeat(65536), '\na'.repeat(32768), '\r\n' + 'a'.repeat(65530), '%0a'.repeat(21845)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['query', 'json', 'path']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
  const t0 = performance.now();
  check('GET', '/' + '\u0001'.repeat(65536), [...H, ['X-A', 'chunked,'.repeat(8192)], ['Transfer-Encoding', ' ,'.repeat(32768)]]);
  assert.ok(performance.now() - t0 < 2000);
});
