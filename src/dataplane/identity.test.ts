import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { validatePolicy } from '../config/load.ts';
import { extractIdentity, fingerprintOf, jwtSubject } from './identity.ts';

function ctxOf(headers: Record<string, string>, raw?: string[]): RequestContext {
  const rawHeaders = raw ?? Object.entries(headers).flat();
  return new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target: '/', headers, rawHeaders });
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

test('jwtSubject decodes the payload sub only', () => {
  assert.equal(jwtSubject(`Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'user-42' })}.sig`), 'user-42');
  assert.equal(jwtSubject(`bearer ${b64({})}.${b64({ sub: 7 })}.x`), '7');
  assert.equal(jwtSubject(`Bearer ${b64({})}.${b64({ nosub: 1 })}.x`), undefined);
  assert.equal(jwtSubject('Bearer not-a-jwt'), undefined);
  assert.equal(jwtSubject('Bearer a.%%%%.c'), undefined);
  assert.equal(jwtSubject('Basic dXNlcjpwYXNz'), undefined);
  assert.equal(jwtSubject(`Bearer x.${b64('just a string')}.y`), undefined);
  assert.equal(jwtSubject(`Bearer x.${'A'.repeat(100_000)}.y`), undefined, 'oversized payload ignored');
});

test('extractIdentity: API key header, user header, JWT sub, fingerprint', () => {
  const policy = validatePolicy({ identity: { apiKeyHeaders: ['x-api-key', 'x-key'], userHeader: 'x-user' } });
  const a = ctxOf({ 'x-key': 'k-123', authorization: `Bearer ${b64({})}.${b64({ sub: 'jwt-user' })}.s` });
  extractIdentity(a, policy.identity);
  assert.equal(a.apiKey, 'k-123');
  assert.equal(a.user, 'jwt-user');
  assert.match(a.fingerprint!, /^[0-9a-f]{14}$/);
  const b = ctxOf({ 'x-user': 'hdr-user', authorization: `Bearer ${b64({})}.${b64({ sub: 'jwt-user' })}.s` });
  extractIdentity(b, policy.identity);
  assert.equal(b.user, 'hdr-user', 'configured header wins over the JWT');
  const off = validatePolicy({ identity: { jwtSubject: false } });
  const c = ctxOf({ authorization: `Bearer ${b64({})}.${b64({ sub: 'jwt-user' })}.s` });
  extractIdentity(c, off.identity);
  assert.equal(c.user, undefined);
});

test('fingerprint depends on UA, header order and Accept headers', () => {
  const base = { 'user-agent': 'curl/8', accept: '*/*' };
  const f1 = fingerprintOf(ctxOf(base, ['User-Agent', 'curl/8', 'Accept', '*/*']));
  const f2 = fingerprintOf(ctxOf(base, ['Accept', '*/*', 'User-Agent', 'curl/8']));
  const f3 = fingerprintOf(ctxOf({ ...base, 'user-agent': 'Mozilla/5.0' }, ['User-Agent', 'Mozilla/5.0', 'Accept', '*/*']));
  const f1b = fingerprintOf(ctxOf(base, ['user-agent', 'curl/8', 'accept', '*/*']));
  assert.notEqual(f1, f2);
  assert.notEqual(f1, f3);
  assert.equal(f1, f1b, 'header name case does not matter');
});

test('64 KiB pathological identity input is handled in bounded time', () => {
  const policy = validatePolicy({});
  const big = 'a'.repeat(65536);
  const t0 = performance.now();
  const cases: Record<string, string>[] = [{ authorization: 'Bearer ' + big }, { authorization: 'Bearer ' + '.'.repeat(65536) }, { 'user-agent': big, 'x-api-key': big }];
  for (const h of cases) {
    const raw: string[] = [];
    for (let i = 0; i < 2000; i++) raw.push('x-h' + i, 'v');
    const c = ctxOf(h, raw);
    extractIdentity(c, policy.identity);
    if (c.apiKey) assert.ok(c.apiKey.length <= 256);
  }
  assert.ok(performance.now() - t0 < 500);
});
