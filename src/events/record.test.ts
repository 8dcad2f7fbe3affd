import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RequestContext } from '../core/context.ts';
import { isSecretName, maskApiKey, toSecurityEvent, uuidv7 } from './record.ts';

test('toSecurityEvent masks the API key, truncates request strings and evidence, picks the deciding category', () => {
  const ctx = new RequestContext({
    id: 'req-9',
    clientIp: '2001:db8::1',
    clientKey: '2001:db8::/64',
    peerIp: '127.0.0.1',
    method: 'POST',
    target: '/api/login?x=' + 'a'.repeat(5000),
    headers: { 'user-agent': 'U'.repeat(2000), host: 'shop.test' },
    startedAt: 1_700_000_000_000,
  });
  ctx.apiKey = 'sk_live_0123456789abcdef';
  ctx.user = 'alice';
  ctx.add([
    { ruleId: 'sqli.942100', detector: 'payload', category: 'sqli', score: 5, monitor: true, evidence: { value: 'v'.repeat(1000), location: { kind: 'query', name: 'x' } } },
    { ruleId: 'ratelimit.login-ip', detector: 'ratelimit', category: 'ratelimit', score: 0, action: 'throttle', evidence: { detail: { limit: 10, windowS: 60, key: 'k', retryAfterS: 6, long: 'z'.repeat(999) } } },
  ]);
  ctx.verdict = { action: 'throttle', wouldBe: 'throttle', monitor: false, anomalyScore: 0, risk: 0.6, level: 'MEDIUM', status: 429, reasons: ['ratelimit.login-ip'], retryAfterS: 6 };
  const e = toSecurityEvent(ctx, 429, 0.25);
  assert.equal(e.apiKey, 'sk_l…' + createHash('sha256').update('sk_live_0123456789abcdef').digest('hex').slice(0, 8));
  assert.ok(!JSON.stringify(e).includes('sk_live_0123456789abcdef'));
  assert.equal(e.target.length, 2048);
  assert.equal(e.userAgent?.length, 512);
  assert.equal(e.signals[0]!.evidence?.value?.length, 256);
  assert.equal((e.signals[1]!.evidence?.detail?.long as string).length, 256);
  assert.equal(e.category, 'ratelimit', 'first deciding signal, not the first signal');
  assert.equal(e.time, 1_700_000_000_000);
  assert.equal(e.status, 429);
  assert.equal(e.action, 'throttle');
  assert.equal(e.clientKey, '2001:db8::/64');
  assert.equal(e.host, 'shop.test');
  assert.equal(e.user, 'alice');
  assert.deepEqual(e.reasons, ['ratelimit.login-ip']);
  // ctx.signals are not modified
  assert.equal(ctx.signals[0]!.evidence?.value?.length, 1000);
});

test('maskApiKey hides short keys entirely; uuidv7 ids sort by time', () => {
  assert.match(maskApiKey('abc'), /^…[0-9a-f]{8}$/);
  const a = uuidv7(1000);
  const b = uuidv7(1000);
  const c = uuidv7(2000);
  assert.ok(a < b && b < c);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('64 KiB request strings and evidence are truncated in bounded time', () => {
  const big = '\u{1F600}'.repeat(16 * 1024) + '%'.repeat(1024);
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    const ctx = new RequestContext({ id: big, clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: big, target: big, headers: { 'user-agent': big, host: big } });
    ctx.apiKey = big;
    ctx.user = big;
    ctx.add({ ruleId: 'x', detector: 'x', category: 'x', score: 1, message: big, evidence: { value: big, matched: big, transformed: big, location: { kind: 'header', name: big }, detail: { a: big } } });
    const e = toSecurityEvent(ctx, 403, 1);
    assert.ok(JSON.stringify(e).length < 8000);
    assert.ok(e.target.isWellFormed() && e.userAgent!.isWellFormed(), 'no split surrogate pairs');
  }
  assert.ok(performance.now() - t0 < 2000);
});

test('credential values and API-key ban values never reach an event in clear', () => {
  const ctx = new RequestContext({ id: 'r', clientIp: '192.0.2.9', clientKey: '192.0.2.9', peerIp: '192.0.2.9', method: 'POST', target: '/api/login', headers: {} });
  const pw = "hunter2' OR '1'='1";
  ctx.add([
    { ruleId: 'sqli.942100', detector: 'payload', category: 'sqli', score: 5, evidence: { location: { kind: 'json', name: 'user.newPassword' }, value: pw, transformed: pw.toLowerCase(), matched: pw } },
    { ruleId: 'xss.941100', detector: 'payload', category: 'xss', score: 5, evidence: { location: { kind: 'cookie', name: 'sid' }, value: 'sess-abcdef<script>', matched: '<script>' } },
    { ruleId: 'xss.941100', detector: 'payload', category: 'xss', score: 5, evidence: { location: { kind: 'query', name: 'q' }, value: '<script>alert(1)</script>', matched: '<script>' } },
    { ruleId: 'behavior.risk.critical', detector: 'risk', category: 'risk', score: 0, action: 'ban', ban: { scope: 'api_key', value: 'sk_live_0123456789abcdef' } },
  ]);
  ctx.verdict = { action: 'ban', wouldBe: 'ban', monitor: false, anomalyScore: 15, risk: 1, level: 'CRITICAL', status: 403, reasons: ['sqli.942100'] };
  const e = toSecurityEvent(ctx, 403, 1);
  const text = JSON.stringify(e);
  assert.ok(!text.includes('hunter2'), 'password value redacted');
  assert.ok(!text.includes('sess-abcdef'), 'cookie value redacted');
  assert.ok(!text.includes('sk_live_0123456789abcdef'), 'API key in a ban is masked');
  assert.equal(e.signals[0]!.evidence?.value, `[redacted: ${pw.length} chars]`);
  assert.equal(e.signals[0]!.evidence?.location?.name, 'user.newPassword', 'the location stays visible');
  assert.equal(e.signals[2]!.evidence?.value, '<script>alert(1)</script>', 'ordinary parameters keep their evidence');
  assert.equal(e.signals[3]!.ban?.value, maskApiKey('sk_live_0123456789abcdef'));
  assert.equal(isSecretName('refresh_token'), true);
  assert.equal(isSecretName('X-API-Key'), true);
  assert.equal(isSecretName('q'), false);
});

test('uuidv7 layout: big-endian 48-bit ms timestamp, version 7, 12-bit sequence, variant 10, random tail', () => {
  for (const now of [0, 1, 0xffffff, 0x1000000, 1_700_000_000_123, 2 ** 48 - 1]) {
    const id = uuidv7(now);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const hex = id.replaceAll('-', '');
    assert.equal(parseInt(hex.slice(0, 12), 16), now);
  }
  const ids = Array.from({ length: 600 }, () => uuidv7(1_700_000_000_000));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]! || ids[i]!.slice(14, 18) === '7000', 'sequence increases within a ms (wrapping at 4096)');
  assert.equal(new Set(ids.map((x) => x.slice(19))).size, ids.length, 'random tails differ');
});
