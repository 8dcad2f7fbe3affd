import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane } from '../src/controlplane/testing.ts';

const ADMIN_PW = 'admin-password-0123';

test('control plane auth: sessions, CSRF, roles, tokens, no secrets in responses or logs', async (t) => {
  // every client of this test logs in from 127.0.0.1: lift the per-IP login limit (tested separately below)
  const cp = await startControlPlane({ adminPassword: ADMIN_PW, policy: { controlPlane: { login: { ratePerMinute: 100, burst: 100 } } } });
  t.after(() => cp.stop());
  const secrets: string[] = [ADMIN_PW];

  // unauthenticated
  const anon = cp.anon();
  let r = await anon.req('GET', '/api/v1/events');
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(r.json.code, 'BWK_UNAUTHENTICATED');
  r = await anon.req('GET', '/api/v1/no-such-route');
  assert.equal(r.status, 401, 'unknown routes do not reveal themselves before authentication');

  // wrong password, unknown user: same answer
  r = await anon.req('POST', '/api/v1/auth/login', { username: 'admin', password: 'wrong-password-xx' });
  assert.equal(r.status, 401);
  r = await anon.req('POST', '/api/v1/auth/login', { username: 'nobody', password: 'wrong-password-xx' });
  assert.equal(r.status, 401);
  // unknown fields rejected
  r = await anon.req('POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PW, extra: 1 });
  assert.equal(r.status, 400);
  assert.equal(r.json.code, 'BWK_VALIDATION');

  // login: cookie attributes
  const raw = await fetch(cp.base + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PW }) });
  assert.equal(raw.status, 200);
  const setCookie = raw.headers.get('set-cookie')!;
  assert.match(setCookie, /^bwk_session=[A-Za-z0-9_-]{43};/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP listener: no Secure flag unless configured');
  const loginBody = (await raw.json()) as { csrfToken: string; user: Record<string, unknown> };
  assert.equal(loginBody.user.username, 'admin');
  assert.equal('passwordHash' in loginBody.user, false);
  secrets.push(setCookie.split(';')[0]!.split('=')[1]!);
  await fetch(cp.base + '/api/v1/auth/logout', { method: 'POST', headers: { cookie: setCookie.split(';')[0]!, 'x-csrf-token': loginBody.csrfToken } });

  const admin = await cp.login('admin', ADMIN_PW);
  secrets.push(admin.cookie!.split('=')[1]!);
  r = await admin.req('GET', '/api/v1/auth/session');
  assert.equal(r.status, 200);
  assert.equal(r.json.user.role, 'admin');
  assert.equal(r.json.csrfToken, admin.csrf);

  // security headers
  assert.match(r.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('cache-control'), 'no-store');

  // CSRF on cookie-authenticated unsafe methods
  const userBody = { username: 'ana', password: 'analyst-password-1', role: 'analyst' };
  r = await admin.req('POST', '/api/v1/users', userBody, { csrf: false });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'BWK_CSRF');
  r = await admin.req('POST', '/api/v1/users', userBody, { csrf: 'x'.repeat(43) });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'BWK_CSRF');
  r = await admin.req('POST', '/api/v1/users', userBody);
  assert.equal(r.status, 201, r.text);
  r = await admin.req('POST', '/api/v1/users', userBody);
  assert.equal(r.status, 409);
  r = await admin.req('POST', '/api/v1/users', { username: 'vic', password: 'short', role: 'viewer' });
  assert.equal(r.status, 400);
  assert.equal(r.json.errors[0].path, 'password');
  r = await admin.req('POST', '/api/v1/users', { username: 'vic', password: 'viewer-password-1', role: 'viewer' });
  assert.equal(r.status, 201);
  const vicId = r.json.id as string;
  secrets.push('analyst-password-1', 'viewer-password-1');

  const analyst = await cp.login('ana', 'analyst-password-1');
  const viewer = await cp.login('vic', 'viewer-password-1');
  const ban = { scope: 'ip', value: '198.51.100.7', type: 'ban', ttlS: 600, reason: 'test' };

  // role matrix: [client, method, path, body, expected]
  const matrix: [string, typeof admin, string, string, unknown, number][] = [
    ['viewer', viewer, 'GET', '/api/v1/events', undefined, 200],
    ['viewer', viewer, 'GET', '/api/v1/decisions', undefined, 200],
    ['viewer', viewer, 'GET', '/api/v1/policy', undefined, 200],
    ['viewer', viewer, 'GET', '/api/v1/stats/summary', undefined, 200],
    ['viewer', viewer, 'POST', '/api/v1/decisions', ban, 403],
    ['viewer', viewer, 'POST', '/api/v1/lists/deny/entries', { kind: 'ip', value: '192.0.2.1' }, 403],
    ['viewer', viewer, 'GET', '/api/v1/users', undefined, 403],
    ['viewer', viewer, 'GET', '/api/v1/audit', undefined, 403],
    ['viewer', viewer, 'PUT', '/api/v1/mode', { mode: 'monitor' }, 403],
    ['analyst', analyst, 'POST', '/api/v1/decisions', ban, 201],
    ['analyst', analyst, 'GET', '/api/v1/tokens', undefined, 403],
    ['analyst', analyst, 'PATCH', '/api/v1/policy', { mode: 'monitor' }, 403],
    ['analyst', analyst, 'PUT', '/api/v1/rules/ratelimit.default-ip/mode', { mode: 'monitor' }, 403],
    ['admin', admin, 'GET', '/api/v1/users', undefined, 200],
    ['admin', admin, 'GET', '/api/v1/audit', undefined, 200],
  ];
  for (const [who, c, method, path, body, want] of matrix) {
    r = await c.req(method, path, body);
    assert.equal(r.status, want, `${who} ${method} ${path}: ${r.text}`);
    if (want === 403) assert.equal(r.json.code, 'BWK_FORBIDDEN');
  }

  // API tokens: shown once, role-scoped, no CSRF needed, revocable, expiring
  r = await admin.req('POST', '/api/v1/tokens', { name: 'ci', role: 'viewer', ttlS: 3600 });
  assert.equal(r.status, 201);
  const token = r.json.token as string;
  const tokenId = r.json.id as string;
  assert.match(token, /^bwk_[A-Za-z0-9_-]{43}$/);
  secrets.push(token);
  r = await admin.req('GET', '/api/v1/tokens');
  assert.equal(r.json.items.length, 1);
  assert.equal(r.json.items[0].token, undefined, 'the token is never listed');
  assert.equal(r.json.items[0].prefix, token.slice(0, 10));
  const bot = cp.withToken(token);
  r = await bot.req('GET', '/api/v1/events');
  assert.equal(r.status, 200);
  r = await bot.req('POST', '/api/v1/decisions', ban);
  assert.equal(r.status, 403, 'viewer token cannot write');
  r = await admin.req('GET', '/api/v1/tokens');
  assert.ok(r.json.items[0].lastUsedAt > 0, 'last use recorded');
  r = await admin.req('POST', '/api/v1/tokens', { name: 'ops', role: 'analyst' });
  const opsToken = r.json.token as string;
  secrets.push(opsToken);
  r = await cp.withToken(opsToken).req('POST', '/api/v1/decisions', { ...ban, value: '198.51.100.8' });
  assert.equal(r.status, 201, 'token-authenticated writes need no CSRF header');
  r = await admin.req('DELETE', `/api/v1/tokens/${tokenId}`);
  assert.equal(r.status, 204);
  r = await bot.req('GET', '/api/v1/events');
  assert.equal(r.status, 401, 'revoked token');
  // expired: move the expiry into the past in the real database
  r = await admin.req('POST', '/api/v1/tokens', { name: 'short', role: 'viewer', ttlS: 60 });
  const shortToken = r.json.token as string;
  secrets.push(shortToken);
  assert.equal((await cp.withToken(shortToken).req('GET', '/api/v1/events')).status, 200);
  cp.bw.services.db.prepare('UPDATE cp_tokens SET expires_at = ? WHERE id = ?').run(Date.now() - 1, r.json.id);
  r = await cp.withToken(shortToken).req('GET', '/api/v1/events');
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /expired/);
  r = await cp.withToken('bwk_' + 'A'.repeat(43)).req('GET', '/api/v1/events');
  assert.equal(r.status, 401);

  // disabling a user ends its sessions
  r = await admin.req('PATCH', `/api/v1/users/${vicId}`, { disabled: true });
  assert.equal(r.status, 200);
  assert.equal((await viewer.req('GET', '/api/v1/events')).status, 401);
  // the last admin cannot be removed
  const me = (await admin.req('GET', '/api/v1/auth/session')).json.user.id;
  assert.equal((await admin.req('DELETE', `/api/v1/users/${me}`)).status, 409);

  // logout invalidates the session
  assert.equal((await analyst.req('POST', '/api/v1/auth/logout')).status, 204);
  assert.equal((await analyst.req('GET', '/api/v1/events')).status, 401);

  // audit trail of the above
  r = await admin.req('GET', '/api/v1/audit?limit=1000');
  const actions = new Set((r.json.items as { action: string }[]).map((e) => e.action));
  for (const a of ['auth.login', 'auth.login.failed', 'user.create', 'token.create', 'token.revoke', 'decision.create', 'user.update', 'auth.logout']) assert.ok(actions.has(a), `audit has ${a}`);

  // no secret in any response body/header (other than the one response that hands it out) or log line
  const loginResponses = new Set<string>();
  for (const b of cp.bodies) if (b.includes('"token":"bwk_') || b.startsWith('set-cookie:')) loginResponses.add(b);
  for (const s of secrets) {
    for (const line of cp.logs) assert.ok(!line.includes(s), `secret in log line: ${line.slice(0, 200)}`);
    for (const b of cp.bodies) {
      if (loginResponses.has(b)) continue;
      assert.ok(!b.includes(s), `secret in response: ${b.slice(0, 200)}`);
    }
  }
  assert.ok(cp.logs.length > 0, 'logs were captured');
});

test('control plane bootstrap: one-time token from the log creates the first admin', async (t) => {
  const cp = await startControlPlane({ adminPassword: null });
  t.after(() => cp.stop());
  const line = cp.logs.find((l) => l.includes('bootstrap token: '));
  assert.ok(line, 'bootstrap token logged');
  const token = /bootstrap token: ([A-Za-z0-9_-]{43})/.exec(line!)![1]!;
  const anon = cp.anon();
  let r = await anon.req('POST', '/api/v1/auth/login', { username: 'admin', password: 'admin-password-0123' });
  assert.equal(r.status, 401, 'no default password');
  r = await anon.req('POST', '/api/v1/auth/bootstrap', { token: 'wrong', username: 'root', password: 'root-password-123' });
  assert.equal(r.status, 403);
  r = await anon.req('POST', '/api/v1/auth/bootstrap', { token, username: 'root', password: 'root-password-123' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.user.role, 'admin');
  r = await anon.req('POST', '/api/v1/auth/bootstrap', { token, username: 'root2', password: 'root-password-123' });
  assert.equal(r.status, 403, 'one-time');
  const root = await cp.login('root', 'root-password-123');
  assert.equal((await root.req('GET', '/api/v1/users')).json.items.length, 1);
});

test('control plane login: GCRA rate limit per username, then a ban of the client through the DecisionService', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { login: { ratePerMinute: 3, burst: 3, banAfterFailures: 6 } } } });
  t.after(() => cp.stop());
  // an operator signed in from the same address before the attack (shared host or NAT)
  const admin = await cp.login('admin', 'admin-password-0123');
  const token = (await admin.req('POST', '/api/v1/tokens', { name: 'ops', role: 'admin' })).json.token as string;
  const anon = cp.anon();
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 6; i++) {
    const r = await anon.req('POST', '/api/v1/auth/login', { username: 'admin', password: `wrong-password-${i}` });
    statuses.push(r.status);
    if (r.status === 429) retryAfter = r.headers.get('retry-after');
  }
  // the operator's login took one of the address's 3 burst tokens
  assert.deepEqual(statuses.slice(0, 2), [401, 401]);
  assert.equal(statuses[2], 429, `statuses ${statuses}`);
  assert.ok(Number(retryAfter) >= 1);
  // the sixth failure banned the client: every control-plane request is refused, even the right password
  const r = await anon.req('POST', '/api/v1/auth/login', { username: 'admin', password: 'admin-password-0123' });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'BWK_BANNED');
  assert.equal((await anon.req('GET', '/api/v1/events')).json.code, 'BWK_BANNED', 'anonymous callers are refused');
  assert.equal((await cp.withToken('bwk_' + 'x'.repeat(43)).req('GET', '/api/v1/events')).json.code, 'BWK_BANNED', 'so are bad credentials');
  const bans = cp.bw.services.decisions.list({ scope: 'ip' });
  assert.equal(bans.length, 1);
  assert.equal(bans[0]!.source, 'controlplane.login');
  assert.equal(bans[0]!.value, '127.0.0.1');
  // the ban is a real decision: the gateway refuses the client too
  const g = await fetch(cp.bw.gatewayUrl + '/api/products');
  assert.equal(g.status, 403);
  // operators who authenticated are not locked out by a ban on their address, and can lift it
  assert.equal((await admin.req('GET', '/api/v1/decisions')).status, 200);
  assert.equal((await cp.withToken(token).req('GET', '/api/v1/events')).status, 200);
  assert.equal((await admin.req('DELETE', `/api/v1/decisions/${bans[0]!.id}`)).status, 204);
  assert.equal((await anon.req('GET', '/api/v1/events')).status, 401);
});

test('changing the own password: the current password is checked under the login limits (no unbounded guessing)', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { login: { ratePerMinute: 3, burst: 3, banAfterFailures: 100 } } } });
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123'); // one of the username's 3 tokens
  let r = await admin.req('POST', '/api/v1/auth/password', { currentPassword: 'admin-password-0123', newPassword: 'new-admin-password-456' });
  assert.equal(r.status, 204, r.text);
  r = await admin.req('POST', '/api/v1/auth/password', { currentPassword: 'a-wrong-guess-0001', newPassword: 'new-admin-password-789' });
  assert.equal(r.status, 403);
  r = await admin.req('POST', '/api/v1/auth/password', { currentPassword: 'a-wrong-guess-0002', newPassword: 'new-admin-password-789' });
  assert.equal(r.status, 429);
  assert.equal(r.json.code, 'BWK_RATE_LIMITED');
  assert.ok(Number(r.headers.get('retry-after')) >= 1);
  r = await admin.req('POST', '/api/v1/auth/password', { currentPassword: 'new-admin-password-456', newPassword: 'new-admin-password-789' });
  assert.equal(r.status, 429, 'limited even with the right password until the bucket refills');
});

test('control plane sessions expire after the idle timeout', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { session: { idleTimeout: '1s' } } } });
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  assert.equal((await admin.req('GET', '/api/v1/events')).status, 200);
  await new Promise((r) => setTimeout(r, 1300));
  const r = await admin.req('GET', '/api/v1/events');
  assert.equal(r.status, 401);
  assert.match(r.json.detail, /expired/);
});

test('control plane session cookie gets Secure when controlPlane.secureCookies is set', async (t) => {
  const cp = await startControlPlane({ policy: { controlPlane: { secureCookies: true } } });
  t.after(() => cp.stop());
  const r = await fetch(cp.base + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin-password-0123' }) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('set-cookie')!, /; Secure/);
  await r.text();
});
