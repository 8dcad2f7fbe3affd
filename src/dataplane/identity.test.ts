import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { validatePolicy } from '../config/load.ts';
import { extractIdentity, fingerprintOf, hash53, jwtSubject } from './identity.ts';

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
  extractIdentity(b, policy.identity, true);
  assert.equal(b.user, 'hdr-user', 'configured header from a trusted proxy wins over the JWT');
  assert.equal(b.userVerified, true);
  assert.equal(a.userVerified, false, 'a JWT sub is not verified');
  const spoofed = ctxOf({ 'x-user': 'hdr-user', authorization: `Bearer ${b64({})}.${b64({ sub: 'jwt-user' })}.s` });
  extractIdentity(spoofed, policy.identity, false);
  assert.equal(spoofed.user, 'jwt-user', 'the user header from an untrusted peer is ignored');
  assert.equal(spoofed.userVerified, false);
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

/** The string-building implementation the streaming fingerprint replaced: values must not change (bans and events hold them). */
function referenceHash53(s: string, seed = 0): string {
  let a = 0xdeadbeef ^ seed;
  let b = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    a = Math.imul(a ^ ch, 2654435761);
    b = Math.imul(b ^ ch, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return (4294967296 * (2097151 & b) + (a >>> 0)).toString(16).padStart(14, '0');
}

function referenceFingerprint(ctx: RequestContext): string {
  let s = ctx.header('user-agent');
  if (s.length > 512) s = s.slice(0, 512);
  s += '\n';
  const raw = ctx.rawHeaders;
  for (let i = 0; i < raw.length && s.length < 4096; i += 2) s += raw[i]!.toLowerCase() + ',';
  s += '\n' + ctx.header('accept').slice(0, 256) + '\n' + ctx.header('accept-language').slice(0, 128) + '\n' + ctx.header('accept-encoding').slice(0, 128);
  return referenceHash53(s);
}

test('hash53 and the streaming fingerprint give the values of the string-building implementation', () => {
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const alphabet = ['a', 'Z', '-', '/', ' ', '\u00c9', '\u0130', '\ud83d\ude00', '\u212a', ',', '\n'];
  const str = (max: number): string => {
    let s = '';
    const n = rnd(max);
    for (let i = 0; i < n; i++) s += alphabet[rnd(alphabet.length)]!;
    return s;
  };
  for (let k = 0; k < 3000; k++) {
    const text = str(40);
    assert.equal(hash53(text, k), referenceHash53(text, k));
    const headers: Record<string, string> = {};
    const raw: string[] = [];
    const names = rnd(8) === 0 ? 1500 : rnd(12);
    for (let i = 0; i < names; i++) raw.push(i % 3 === 0 ? str(12) || 'X' : `X-Hdr-${i}`, 'v');
    if (rnd(4) > 0) headers['user-agent'] = rnd(10) === 0 ? str(2000) : str(60);
    if (rnd(3) > 0) headers.accept = rnd(10) === 0 ? str(700) : str(30);
    if (rnd(3) > 0) headers['accept-language'] = str(300);
    if (rnd(3) > 0) headers['accept-encoding'] = str(300);
    const c = ctxOf(headers, raw);
    assert.equal(fingerprintOf(c), referenceFingerprint(c));
  }
});
