import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBulwark, startUpstream, send } from './helpers/index.ts';
import type { IncomingMessage } from 'node:http';

/**
 * Behavioural abuse detectors through the real gateway and demo API over HTTP: response-phase bans
 * (brute force), request-phase bans (honeypot), monitor mode, business-flow rules, and the typo/NAT leniency.
 */

const json = (ip: string, body: unknown, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, 'user-agent': 'itest/1.0', ...extra },
  body: JSON.stringify(body),
});
const get = (ip: string, extra: Record<string, string> = {}) => ({ headers: { 'x-forwarded-for': ip, 'user-agent': 'itest/1.0', ...extra } });

test('brute force: the 6th failed login within 10 minutes bans the client IP for 30 minutes; others unaffected', async (t) => {
  const app = await startTestBulwark({ policy: { trustedProxies: ['127.0.0.1/32', '::1/128'] } });
  t.after(() => app.stop());
  for (let i = 0; i < 6; i++) assert.equal((await send(app.gatewayUrl, '/api/login', json('203.0.113.5', { username: 'alice', password: `nope${i}` }))).status, 401);
  // the ban is created in the response phase, after the 6th answer was sent
  for (let i = 0; i < 100 && app.services.decisions.list({ scope: 'ip', value: '203.0.113.5' }).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const blocked = await send(app.gatewayUrl, '/api/login', json('203.0.113.5', { username: 'alice', password: 'wonderland' }));
  assert.equal(blocked.status, 403);
  assert.match(String(blocked.headers['content-type']), /problem\+json/);
  const ban = app.services.decisions.list({ scope: 'ip', value: '203.0.113.5' })[0];
  assert.equal(ban?.source, 'behavior.bruteforce.ip');
  assert.equal(ban.expiresAt - ban.createdAt, 30 * 60_000);
  assert.equal((await send(app.gatewayUrl, '/api/login', json('198.51.100.9', { username: 'alice', password: 'wonderland' }))).status, 200);
});

test('login typos behind one shared IP: many users mistyping then logging in are not banned', async (t) => {
  const app = await startTestBulwark({ policy: { trustedProxies: ['127.0.0.1/32'], rateLimits: [] } });
  t.after(() => app.stop());
  const users: [string, string][] = [['alice', 'wonderland'], ['bob', 'builder'], ['carol', 'pa55word']];
  for (let i = 0; i < 12; i++) {
    const [u, p] = users[i % 3]!;
    assert.equal((await send(app.gatewayUrl, '/api/login', json('100.64.9.9', { username: u, password: p + 'typo' }))).status, 401);
    assert.equal((await send(app.gatewayUrl, '/api/login', json('100.64.9.9', { username: u, password: p }))).status, 200, `user ${i} logs in`);
  }
  assert.equal(app.services.decisions.list({ value: '100.64.9.9' }).length, 0);
});

test('honeypot: one request to /api/admin/* bans the client for an hour; monitor mode only records it', async (t) => {
  const app = await startTestBulwark({ policy: { trustedProxies: ['127.0.0.1/32'] } });
  t.after(() => app.stop());
  assert.equal((await send(app.gatewayUrl, '/api/products', get('192.0.2.44'))).status, 200);
  assert.equal((await send(app.gatewayUrl, '/api/admin/users', get('192.0.2.44'))).status, 403);
  assert.equal((await send(app.gatewayUrl, '/api/products', get('192.0.2.44'))).status, 403, 'banned afterwards');
  const ban = app.services.decisions.list({ value: '192.0.2.44' })[0];
  assert.equal(ban?.source, 'behavior.honeypot');
  assert.equal(ban.expiresAt - ban.createdAt, 3_600_000);
  assert.equal((await send(app.gatewayUrl, '/api/products', get('192.0.2.45'))).status, 200);

  const mon = await startTestBulwark({ policy: { trustedProxies: ['127.0.0.1/32'], behavior: { honeypot: { monitor: true } } } });
  t.after(() => mon.stop());
  assert.equal((await send(mon.gatewayUrl, '/api/admin/users', get('192.0.2.46'))).status, 404, 'forwarded to the demo API');
  assert.equal((await send(mon.gatewayUrl, '/api/products', get('192.0.2.46'))).status, 200);
  assert.equal(mon.services.decisions.list().length, 0);
});

test('business flow: a payment needs a balance check by the same identity within 5 minutes', async (t) => {
  const policy = {
    trustedProxies: ['127.0.0.1/32'],
    identity: { apiKeyHeaders: ['authorization'] },
    behavior: { flows: { rules: [{ id: 'payment-needs-balance', then: 'POST /api/transaction', requires: 'GET /api/balance', within: '5m', by: 'user', action: 'block' }] } },
  };
  const app = await startTestBulwark({ policy });
  t.after(() => app.stop());
  const login = await send(app.gatewayUrl, '/api/login', json('198.51.100.20', { username: 'bob', password: 'builder' }));
  const auth = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
  const pay = () => send(app.gatewayUrl, '/api/transaction', json('198.51.100.20', { to: 'alice', amountCents: 100 }, auth));
  assert.equal((await pay()).status, 403, 'no balance check yet');
  assert.equal((await send(app.gatewayUrl, '/api/balance', get('198.51.100.20', auth))).status, 200);
  assert.equal((await pay()).status, 201);
  // Another session on the same IP is another identity: its own balance check is needed.
  const login2 = await send(app.gatewayUrl, '/api/login', json('198.51.100.20', { username: 'alice', password: 'wonderland' }));
  const auth2 = { authorization: `Bearer ${login2.json<{ token: string }>().token}` };
  assert.equal((await send(app.gatewayUrl, '/api/transaction', json('198.51.100.20', { to: 'bob', amountCents: 100 }, auth2))).status, 403);
});

test('enumeration: a fresh made-up API key or JWT sub on every request does not escape (counted by client IP)', async (t) => {
  // every id exists (200): only the enumeration detector can stop the walk
  const up = await startUpstream({ handler: (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}') });
  const app = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'] } });
  t.after(async () => {
    await app.stop();
    await up.close();
  });
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const [ip, extra] of [
    ['203.0.113.91', (i: number) => ({ 'x-api-key': `made-up-${i}-${Math.random().toString(36).slice(2)}` })],
    ['203.0.113.92', (i: number) => ({ authorization: `Bearer ${b64({ alg: 'none' })}.${b64({ sub: `u${i}` })}.x` })],
  ] as const) {
    const statuses: number[] = [];
    for (let i = 1; i <= 60; i++) statuses.push((await send(app.gatewayUrl, `/api/users/${i}`, get(ip, extra(i)))).status);
    assert.ok(statuses.includes(403), `${ip}: the id walk is stopped (${statuses.join(',')})`);
  }
});

/**
 * A gateway in front of an upstream that answers 401 (JSON) where `denied(path, req)` says so and 200 otherwise;
 * both stop with the test. `bansOf` lists the active decisions whose scope and value pass the predicate.
 */
async function identityApp(t: { after: (fn: () => Promise<void>) => void }, denied: (path: string, req: IncomingMessage) => boolean) {
  const up = await startUpstream({
    handler: (req, res) => {
      const no = denied((req.url ?? '/').split('?')[0]!, req);
      res.writeHead(no ? 401 : 200, { 'content-type': 'application/json' }).end(no ? '{"error":"unauthorized"}' : '{}');
    },
  });
  const app = await startTestBulwark({ upstream: up.url, policy: { trustedProxies: ['127.0.0.1/32'] } });
  t.after(async () => {
    await app.stop();
    await up.close();
  });
  const bansOf = (pred: (scope: string, value: string) => boolean) => app.services.decisions.list().filter((d) => pred(d.scope, d.value));
  return { app, bansOf };
}

test('identity acceptance: a made-up API key sent once to a public route stays keyed by the client IP; a key a 401-checking route answered 200 is keyed by itself', async (t) => {
  // /api/public/** answers anyone (whatever X-Api-Key it carries); /api/private answers 401 unless the key is `good`
  const { app, bansOf } = await identityApp(t, (path, req) => path.startsWith('/api/private') && req.headers['x-api-key'] !== 'good');

  // The attacker warms a fresh made-up key on the public route (200), then takes one step of an id walk with it.
  // Were a public 200 an acceptance, each step would be a new identity with fresh enumeration counters.
  const attacker = '203.0.113.71';
  const walk: number[] = [];
  for (let i = 1; i <= 20; i++) {
    const forged = { 'x-api-key': `forged-${i}-${Math.random().toString(36).slice(2)}` };
    assert.equal((await send(app.gatewayUrl, '/api/public', get(attacker, forged))).status, 200);
    walk.push((await send(app.gatewayUrl, `/api/public/items/${i}`, get(attacker, forged))).status);
  }
  assert.equal(walk.at(-1), 403, `the walk is counted by client IP and stopped at step 20 (${walk.join(',')})`);
  assert.equal(bansOf((scope, value) => scope === 'ip' && value === attacker).length, 1, 'the ban goes to the client IP');
  assert.equal(bansOf((scope) => scope === 'api_key').length, 0, 'no made-up key was treated as an identity');

  // A real client: the private route answers 401 without the key (so it checks credentials), then 200 with `good`.
  const user = '203.0.113.72';
  assert.equal((await send(app.gatewayUrl, '/api/private', get(user))).status, 401);
  assert.equal((await send(app.gatewayUrl, '/api/private', get(user, { 'x-api-key': 'good' }))).status, 200);
  const walk2: number[] = [];
  for (let i = 1; i <= 20; i++) walk2.push((await send(app.gatewayUrl, `/api/public/items/${i}`, get(user, { 'x-api-key': 'good' }))).status);
  assert.equal(walk2.at(-1), 403, walk2.join(','));
  assert.equal(bansOf((scope) => scope === 'api_key').length, 1, 'the accepted key is keyed (and banned) by itself');
  assert.equal(bansOf((_, value) => value === user).length, 0, 'not its IP');
  assert.equal((await send(app.gatewayUrl, '/api/public', get(user))).status, 200, 'others behind the same IP are unaffected');
});

test('identity acceptance: a made-up API key beside a valid Bearer token, or sent alone where only tokens were refused, stays keyed by the client IP', async (t) => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const good = `Bearer ${b64({ alg: 'none' })}.${b64({ sub: 'acct-1' })}.sig`;
  // /api/me answers 401 unless it gets the good token (it never looks at X-Api-Key); /api/catalog answers anyone,
  // but refuses a token other than the good one; /api/public/** answers anyone
  const { app, bansOf } = await identityApp(t, (path, req) => {
    const auth = req.headers.authorization;
    return (path === '/api/me' && auth !== good) || (path === '/api/catalog' && auth !== undefined && auth !== good);
  });

  // Attacker 1 owns one valid token. /api/me is learned as checking credentials (a 401 to a request with none);
  // each step sends a fresh made-up key beside the token there (200: the token was checked), then walks with the key.
  const a1 = '203.0.113.81';
  assert.equal((await send(app.gatewayUrl, '/api/me', get(a1))).status, 401);
  const walk1: number[] = [];
  for (let i = 1; i <= 20; i++) {
    const forged = { 'x-api-key': `forged-${i}-${Math.random().toString(36).slice(2)}` };
    assert.equal((await send(app.gatewayUrl, '/api/me', get(a1, { authorization: good, ...forged }))).status, 200);
    walk1.push((await send(app.gatewayUrl, `/api/public/items/${i}`, get(a1, forged))).status);
  }
  assert.equal(walk1.at(-1), 403, `the walk is counted by client IP and stopped at step 20 (${walk1.join(',')})`);
  assert.equal(bansOf((scope, value) => scope === 'ip' && value === a1).length, 1, 'the ban goes to the client IP');

  // Attacker 2 has /api/catalog refuse a bad token (401), then sends a fresh made-up key alone there (200 for anyone).
  const a2 = '203.0.113.82';
  assert.equal((await send(app.gatewayUrl, '/api/catalog', get(a2, { authorization: 'Bearer expired' }))).status, 401);
  const walk2: number[] = [];
  for (let i = 1; i <= 20; i++) {
    const forged = { 'x-api-key': `forged-b-${i}-${Math.random().toString(36).slice(2)}` };
    assert.equal((await send(app.gatewayUrl, '/api/catalog', get(a2, forged))).status, 200);
    walk2.push((await send(app.gatewayUrl, `/api/public/items/${i}`, get(a2, forged))).status);
  }
  assert.equal(walk2.at(-1), 403, `the walk is counted by client IP and stopped at step 20 (${walk2.join(',')})`);
  assert.equal(bansOf((scope, value) => scope === 'ip' && value === a2).length, 1, 'the ban goes to the client IP');
  assert.equal(bansOf((scope) => scope === 'api_key').length, 0, 'no made-up key was treated as an identity');
});
