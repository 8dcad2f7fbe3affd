import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { validatePolicy } from '../config/load.ts';
import type { Policy } from '../config/schema.ts';
import {
  AcceptedIdentities, CREDENTIAL_ALL, CREDENTIAL_API_KEY, CREDENTIAL_AUTHORIZATION, CREDENTIAL_SEVERAL, MAX_AUTH_ROUTES, authRouteKey, extractIdentity, fingerprintOf, hash53,
  jwtSubject, sentCredentials,
} from './identity.ts';

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

/**
 * One exchange through the acceptance rule as the gateway runs it: identity extracted and marked at request
 * start, the answer learned when the response is done.
 * @returns whether the request's identity counted as accepted when it arrived.
 */
function exchange(ids: AcceptedIdentities, policy: Policy, line: string, headers: Record<string, string>, status: number, byGateway = false): boolean {
  const [method, target] = line.split(' ') as [string, string];
  const c = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target, headers, rawHeaders: Object.entries(headers).flat() });
  extractIdentity(c, policy.identity);
  ids.mark(c);
  const accepted = c.identityAccepted;
  ids.learn(c, status, byGateway, policy);
  return accepted;
}

const key = (k: string): Record<string, string> => ({ 'x-api-key': k });

test('acceptance: a 2xx on a public route (or a 403 there, or a 401 the gateway wrote) accepts nothing', () => {
  const policy = validatePolicy({});
  const ids = new AcceptedIdentities(1000);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-1'), 200), false);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-1'), 200), false, 'a public 200 is no acceptance');
  // 403 is authorization (RFC 9110 §15.5.4), which public routes send for other reasons: not learned as enforcing
  exchange(ids, policy, 'GET /api/public', {}, 403);
  // the gateway's own answers say nothing about the upstream
  exchange(ids, policy, 'GET /api/public', {}, 401, true);
  assert.equal(ids.learnedRoutes, 0);
  exchange(ids, policy, 'GET /api/public', key('forged-1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-1'), 200), false);
});

test('acceptance: after an upstream 401 on a route, a 2xx there accepts the key (or unverified JWT user)', () => {
  const policy = validatePolicy({});
  const ids = new AcceptedIdentities(1000);
  assert.equal(exchange(ids, policy, 'GET /api/private', key('good'), 200), false, 'before any 401 the route is not known to check keys');
  assert.equal(exchange(ids, policy, 'GET /api/private', key('good'), 200), false);
  assert.equal(exchange(ids, policy, 'GET /api/private', {}, 401), false);
  assert.equal(ids.learnedRoutes, 1);
  assert.equal(exchange(ids, policy, 'GET /api/private', key('good'), 200), false, 'accepted from this answer on');
  assert.equal(exchange(ids, policy, 'GET /api/private', key('good'), 200), true);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('good'), 200), true, 'an accepted key is accepted on every route');
  // a key the route refused, and one the gateway answered (blocked: never shown to the upstream), stay unaccepted
  exchange(ids, policy, 'GET /api/private', key('bad'), 401);
  exchange(ids, policy, 'GET /api/private', key('blocked'), 200, true);
  assert.equal(exchange(ids, policy, 'GET /api/private', key('bad'), 200), false);
  assert.equal(exchange(ids, policy, 'GET /api/private', key('blocked'), 200), false);
  // an unverified JWT sub the same way
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = { authorization: `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'user-7' })}.s` };
  exchange(ids, policy, 'GET /api/public', jwt, 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', jwt, 200), false);
  exchange(ids, policy, 'GET /api/private', jwt, 200);
  assert.equal(exchange(ids, policy, 'GET /api/private', jwt, 200), true);
  // the route is learned per method: a 401 on POST /api/items says nothing of GET /api/items
  exchange(ids, policy, 'POST /api/items', {}, 401);
  exchange(ids, policy, 'GET /api/items', key('forged-2'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/items', key('forged-2'), 200), false);
  exchange(ids, policy, 'POST /api/items', key('forged-2'), 201);
  assert.equal(exchange(ids, policy, 'GET /api/items', key('forged-2'), 200), true);
});

test('acceptance: id-like segments collapse, so a 401 on /api/orders/123 makes /api/orders/456 enforcing', () => {
  const policy = validatePolicy({});
  const ids = new AcceptedIdentities(1000);
  exchange(ids, policy, 'GET /api/orders/123', {}, 401);
  exchange(ids, policy, 'GET /api/orders/456', key('k1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/orders/789', key('k1'), 200), true);
  exchange(ids, policy, 'GET /api/docs/6f1c2a4e-1b2c-4d5e-8f90-0123456789ab/pages/2', {}, 401);
  exchange(ids, policy, 'GET /API/Docs/00000000-1111-2222-3333-444444444444/pages/17', key('k2'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k2'), 200), true, 'case and ids folded');
  assert.equal(ids.learnedRoutes, 2);
  // literal siblings stay apart
  exchange(ids, policy, 'GET /api/orders/summary', key('k3'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k3'), 200), false);
  const c = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target: '/api/orders/123/items/42', headers: {}, rawHeaders: [] });
  assert.equal(authRouteKey(c), 'GET /api/orders/{id}/items/{id}');
});

test('acceptance: login routes (behavior.bruteForce.loginRoutes) are never learned nor enforcing, even when declared', () => {
  const policy = validatePolicy({ identity: { authenticatedRoutes: ['/api/**'] }, behavior: { bruteForce: { loginRoutes: ['POST /api/login', 'POST /auth/session'] } } });
  const ids = new AcceptedIdentities(1000);
  // a wrong password answers 401, a right one 200, whatever API key header the client added
  exchange(ids, policy, 'POST /auth/session', key('forged'), 401);
  exchange(ids, policy, 'POST /auth/session', key('forged'), 200);
  exchange(ids, policy, 'POST /auth/session.json', key('forged'), 200);
  exchange(ids, policy, 'POST /api/login', key('forged'), 401);
  exchange(ids, policy, 'POST /api/login', key('forged'), 200);
  assert.equal(ids.learnedRoutes, 0);
  assert.equal(exchange(ids, policy, 'POST /api/login', key('forged'), 200), false);
  // the default login routes too
  const def = validatePolicy({});
  exchange(ids, def, 'POST /api/v2/login', {}, 401);
  exchange(ids, def, 'POST /api/v2/login', key('forged'), 200);
  assert.equal(ids.learnedRoutes, 0);
  assert.equal(exchange(ids, def, 'GET /x', key('forged'), 200), false);
});

test('acceptance: declared identity.authenticatedRoutes enforce from the start (rate-limit pattern syntax)', () => {
  const policy = validatePolicy({ identity: { authenticatedRoutes: ['/api/private/**', '/api/orders/:id'] } });
  assert.deepEqual(validatePolicy({}).identity.authenticatedRoutes, [], 'default: none');
  assert.throws(() => validatePolicy({ identity: { authenticatedRoutes: ['api/no-slash'] } }), /path pattern/);
  const ids = new AcceptedIdentities(1000);
  exchange(ids, policy, 'GET /API/Private/reports', key('k1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), true);
  exchange(ids, policy, 'DELETE /api/orders/abc', key('k2'), 204);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k2'), 200), true);
  exchange(ids, policy, 'GET /api/orders', key('k3'), 200);
  exchange(ids, policy, 'GET /api/public', key('k3'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k3'), 200), false, 'only the declared routes');
  assert.equal(ids.learnedRoutes, 0);
  // a reloaded policy without the declaration: the same route no longer accepts new keys
  exchange(ids, validatePolicy({}), 'GET /api/private/reports', key('k4'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k4'), 200), false);
});

test('acceptance: learned routes are bounded (LRU of MAX_AUTH_ROUTES keys, each at most 256 chars)', () => {
  const policy = validatePolicy({});
  const small = new AcceptedIdentities(1000, 64);
  for (let i = 0; i < 1000; i++) exchange(small, policy, `GET /api/r${i}`, {}, 401);
  assert.equal(small.learnedRoutes, 64);
  exchange(small, policy, 'GET /api/r999', key('recent'), 200);
  assert.equal(exchange(small, policy, 'GET /x', key('recent'), 200), true, 'the most recent routes are kept');
  exchange(small, policy, 'GET /api/r0', key('evicted'), 200);
  assert.equal(exchange(small, policy, 'GET /x', key('evicted'), 200), false, 'an evicted route accepts nothing until a 401 teaches it again');

  const ids = new AcceptedIdentities(10);
  for (let i = 0; i < MAX_AUTH_ROUTES + 2000; i++) exchange(ids, policy, `GET /p${i}/${'s'.repeat(i % 3000)}`, {}, 401);
  assert.equal(ids.learnedRoutes, MAX_AUTH_ROUTES);
  const long = new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'GET', target: '/' + 'a/'.repeat(4000), headers: {}, rawHeaders: [] });
  assert.ok(authRouteKey(long).length <= 256);
});

/** A Bearer JWT (unsigned: the gateway never verifies it) with subject `sub`. */
const bearer = (sub: string): Record<string, string> => ({ authorization: `Bearer ${b64({ alg: 'none' })}.${b64({ sub })}.s` });
/** The credential kinds the route of `line` enforces under `policy`. */
function kindsOf(ids: AcceptedIdentities, policy: Policy, line: string): number {
  const [method, target] = line.split(' ') as [string, string];
  return ids.enforcedKinds(new RequestContext({ id: 'r', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method, target, headers: {}, rawHeaders: [] }), policy);
}

test('sentCredentials: Authorization and API key headers as kinds, several when more than one header', () => {
  const sent = (h: Record<string, string>, keys = ['x-api-key']) => sentCredentials(ctxOf(h), keys);
  assert.equal(sent({}), 0);
  assert.equal(sent({ cookie: 'sid=1' }), 0, 'cookies are not credential headers');
  assert.equal(sent(key('k')), CREDENTIAL_API_KEY);
  assert.equal(sent(bearer('u')), CREDENTIAL_AUTHORIZATION);
  assert.equal(sent({ authorization: 'Basic dXNlcjpwYXNz' }), CREDENTIAL_AUTHORIZATION, 'any Authorization scheme');
  assert.equal(sent({ ...key('k'), ...bearer('u') }), CREDENTIAL_ALL | CREDENTIAL_SEVERAL);
  assert.equal(sent({ 'x-api-key': 'a', 'x-key': 'b' }, ['x-api-key', 'x-key']), CREDENTIAL_API_KEY | CREDENTIAL_SEVERAL);
  assert.equal(sent({ 'x-api-key': 'a' }, ['x-api-key', 'x-api-key']), CREDENTIAL_API_KEY, 'a header listed twice is one header');
  assert.equal(sent({ authorization: 'tok' }, ['x-api-key', 'authorization']), CREDENTIAL_AUTHORIZATION, 'an API key read from Authorization is one credential');
  assert.equal(sent({ 'x-api-key': '' }), 0, 'an empty value is no credential (as extractIdentity reads it)');
});

test('two credentials at once: a 2xx to a request with an API key header and Authorization accepts neither', () => {
  const policy = validatePolicy({});
  const ids = new AcceptedIdentities(1000);
  exchange(ids, policy, 'GET /api/me', {}, 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/me'), CREDENTIAL_ALL, 'a 401 to a request without credentials: both kinds');
  // the upstream checks the Bearer token and answers 200; the made-up key beside it was never checked
  for (let i = 0; i < 3; i++) exchange(ids, policy, 'GET /api/me', { ...bearer('attacker'), ...key('forged-1') }, 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-1'), 200), false, 'the made-up key is not accepted');
  // nor the JWT sub: the upstream may have checked the key and ignored a made-up token
  for (let i = 0; i < 3; i++) exchange(ids, policy, 'GET /api/me', { ...bearer('victim'), ...key('good') }, 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('victim'), 200), false, 'the JWT sub beside an API key is not accepted');
  assert.equal(exchange(ids, policy, 'GET /api/public', key('good'), 200), false, 'nor the key beside a token');
  // declared routes the same way
  const declared = validatePolicy({ identity: { authenticatedRoutes: ['/api/account/**'] } });
  exchange(ids, declared, 'GET /api/account/me', { ...bearer('attacker'), ...key('forged-2') }, 200);
  assert.equal(exchange(ids, declared, 'GET /api/public', key('forged-2'), 200), false);
  // one credential alone is accepted as before
  exchange(ids, policy, 'GET /api/me', key('good'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('good'), 200), true);
  exchange(ids, policy, 'GET /api/me', bearer('user-1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('user-1'), 200), true);
  // two API key headers: the upstream may have checked the other one
  const two = validatePolicy({ identity: { apiKeyHeaders: ['x-api-key', 'x-key'], authenticatedRoutes: ['/api/account/**'] } });
  exchange(ids, two, 'GET /api/account/me', { 'x-api-key': 'forged-3', 'x-key': 'good' }, 200);
  assert.equal(exchange(ids, two, 'GET /api/public', { 'x-api-key': 'forged-3' }, 200), false);
  // an opaque token read as the API key from Authorization (apiKeyHeaders lists it) is one credential
  const tokens = validatePolicy({ identity: { apiKeyHeaders: ['x-api-key', 'authorization'], authenticatedRoutes: ['/api/balance'] } });
  exchange(ids, tokens, 'GET /api/balance', { authorization: 'Bearer opaque-1' }, 200);
  assert.equal(exchange(ids, tokens, 'GET /api/public', { authorization: 'Bearer opaque-1' }, 200), true);
  exchange(ids, tokens, 'GET /api/balance', { authorization: 'Bearer opaque-2', ...key('forged-4') }, 200);
  assert.equal(exchange(ids, tokens, 'GET /api/public', key('forged-4'), 200), false);
});

test('per-kind enforcement: a 401 proves checked only the kind of credential it refused', () => {
  const policy = validatePolicy({});
  const ids = new AcceptedIdentities(1000);
  // a public route that refuses a bad Bearer token (and answers anyone without one): Authorization only
  exchange(ids, policy, 'GET /api/catalog', bearer('expired'), 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/catalog'), CREDENTIAL_AUTHORIZATION);
  exchange(ids, policy, 'GET /api/catalog', key('forged-1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-1'), 200), false, 'a Bearer-only 401 does not make key acceptance learnable');
  exchange(ids, policy, 'GET /api/catalog', bearer('user-1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('user-1'), 200), true, 'a token the route checks is accepted');
  // a route that refuses a bad API key: API keys only
  exchange(ids, policy, 'GET /api/feed', key('bad'), 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/feed'), CREDENTIAL_API_KEY);
  exchange(ids, policy, 'GET /api/feed', bearer('forged-sub'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('forged-sub'), 200), false, 'a key-only 401 does not make JWT subs learnable');
  exchange(ids, policy, 'GET /api/feed', key('k1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), true);
  // the kinds add up on one route entry
  exchange(ids, policy, 'GET /api/feed', bearer('expired'), 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/feed'), CREDENTIAL_ALL);
  assert.equal(ids.learnedRoutes, 2);
  // a 401 to a request with both does not say which one was refused: it teaches nothing
  exchange(ids, policy, 'GET /api/search', { ...bearer('expired'), ...key('bad') }, 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/search'), 0);
  assert.equal(ids.learnedRoutes, 2);
  exchange(ids, policy, 'GET /api/search', key('forged-2'), 200);
  exchange(ids, policy, 'GET /api/search', bearer('forged-sub-2'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('forged-2'), 200), false);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('forged-sub-2'), 200), false);
  // a 401 to a request with neither: both kinds; declared routes: both kinds
  exchange(ids, policy, 'GET /api/orders/1', { cookie: 'sid=x' }, 401);
  assert.equal(kindsOf(ids, policy, 'GET /api/orders/2'), CREDENTIAL_ALL);
  assert.equal(kindsOf(ids, validatePolicy({ identity: { authenticatedRoutes: ['/api/x'] } }), 'GET /api/x'), CREDENTIAL_ALL);
  // login routes: none, whatever was answered there
  exchange(ids, policy, 'POST /api/login', {}, 401);
  assert.equal(kindsOf(ids, policy, 'POST /api/login'), 0);
});

test('revocation: a 401 to an accepted identity sent alone forgets it (keyed by client IP again until re-accepted)', () => {
  const policy = validatePolicy({ identity: { authenticatedRoutes: ['/api/account/**'] } });
  const ids = new AcceptedIdentities(1000);
  exchange(ids, policy, 'GET /api/account/me', key('k1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), true);
  // the key is revoked upstream
  exchange(ids, policy, 'GET /api/account/me', key('k1'), 401);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), false, 'forgotten');
  exchange(ids, policy, 'GET /api/account/me', key('k1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), true, 'accepted again after a new 2xx on an enforcing route');
  // any route the 401 shows checks the key's kind: it learns the route and forgets the key
  exchange(ids, policy, 'DELETE /api/items/7', key('k1'), 401);
  assert.equal(kindsOf(ids, policy, 'DELETE /api/items/8'), CREDENTIAL_API_KEY);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k1'), 200), false);
  // an unverified JWT sub the same way
  exchange(ids, policy, 'GET /api/account/me', bearer('user-1'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('user-1'), 200), true);
  exchange(ids, policy, 'GET /api/account/me', bearer('user-1'), 401);
  assert.equal(exchange(ids, policy, 'GET /api/public', bearer('user-1'), 200), false);

  // what does not revoke: a 401 beside another credential, on a login route, or written by the gateway
  exchange(ids, policy, 'GET /api/account/me', key('k2'), 200);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k2'), 200), true);
  exchange(ids, policy, 'GET /api/account/me', { ...key('k2'), ...bearer('expired') }, 401);
  exchange(ids, policy, 'POST /api/login', key('k2'), 401);
  exchange(ids, policy, 'GET /api/account/me', key('k2'), 401, true);
  exchange(ids, policy, 'GET /api/account/me', key('k2'), 403);
  assert.equal(exchange(ids, policy, 'GET /api/public', key('k2'), 200), true, 'still accepted');
});

test('login routes also include the login-ip rate-limit rule: POST /auth/** and /api/auth/** by default, the rule as configured', () => {
  const ids = new AcceptedIdentities(1000);
  // defaults: the rule covers token and refresh endpoints that behavior.bruteForce.loginRoutes does not
  const def = validatePolicy({});
  for (const route of ['POST /api/auth/refresh', 'POST /auth/session', 'POST /auth/token']) {
    // a bad refresh token or password in the body: 401 to a request without credential headers
    exchange(ids, def, route, {}, 401);
    assert.equal(kindsOf(ids, def, route), 0, route);
    // a valid one in the body, and a made-up key beside it: 200
    exchange(ids, def, route, key(`forged ${route}`), 200);
    assert.equal(exchange(ids, def, 'GET /api/public', key(`forged ${route}`), 200), false, route);
  }
  assert.equal(ids.learnedRoutes, 0);
  // an accepted key refused on the refresh route (a body credential was wrong) is not revoked
  exchange(ids, def, 'GET /api/me', {}, 401);
  exchange(ids, def, 'GET /api/me', key('good'), 200);
  exchange(ids, def, 'POST /api/auth/refresh', key('good'), 401);
  assert.equal(exchange(ids, def, 'GET /api/public', key('good'), 200), true);
  // a configured rule: its paths and methods; a rule with another id is no login
  const custom = validatePolicy({
    rateLimits: [
      { id: 'login-ip', match: { path: '/api/session', methods: ['POST'] }, limit: 10 },
      { id: 'orders', match: { path: '/api/orders/**' }, limit: 10 },
    ],
  });
  exchange(ids, custom, 'POST /api/session', {}, 401);
  assert.equal(kindsOf(ids, custom, 'POST /api/session'), 0);
  exchange(ids, custom, 'GET /api/session', {}, 401);
  assert.equal(kindsOf(ids, custom, 'GET /api/session'), CREDENTIAL_ALL, 'another method');
  exchange(ids, custom, 'POST /api/orders', {}, 401);
  assert.equal(kindsOf(ids, custom, 'POST /api/orders'), CREDENTIAL_ALL);
  exchange(ids, custom, 'POST /api/auth/refresh', {}, 401);
  assert.equal(kindsOf(ids, custom, 'POST /api/auth/refresh'), CREDENTIAL_ALL, 'the default rule is gone');
});
