import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bruteForceDetector } from './bruteforce.ts';
import { routeStem } from '../../core/strings.ts';
import { drive, ids, makeCtx, policyWith } from './testkit.ts';
import { loginUsername, UNREADABLE_USERNAME } from './common.ts';

const T0 = 1_700_000_000_000;
const login = (user: string, ip = '203.0.113.9', t = T0) => ({ ip, method: 'POST', target: '/api/login', body: JSON.stringify({ username: user, password: 'x' }), t });

test('bruteforce: more than 5 failures in 10 minutes from one client → 30-minute ban', async () => {
  const d = bruteForceDetector(policyWith())!;
  for (let i = 0; i < 5; i++) assert.deepEqual(await drive(d, login('alice', undefined, T0 + i * 60_000), 401), [], `failure ${i + 1} tolerated`);
  const sigs = await drive(d, login('alice', undefined, T0 + 5 * 60_000), 401);
  assert.deepEqual(ids(sigs), ['behavior.bruteforce.ip']);
  assert.equal(sigs[0]!.action, 'ban');
  assert.deepEqual(sigs[0]!.ban, { scope: 'ip', value: '203.0.113.9', durationMs: 1_800_000 });
  assert.equal(sigs[0]!.evidence?.detail?.failures, 6);
});

test('bruteforce: failures spread over more than the window do not ban', async () => {
  const d = bruteForceDetector(policyWith())!;
  for (let i = 0; i < 12; i++) assert.deepEqual(await drive(d, login('bob', undefined, T0 + i * 3 * 60_000), 401), []);
});

test('bruteforce: a shared IP with many successful users tolerates their typos (allowance × users)', async () => {
  const d = bruteForceDetector(policyWith())!;
  const nat = '100.64.0.1';
  // 10 users log in from the NAT; 20 typos in total across them: allowance 5 × 10 = 50.
  for (let u = 0; u < 10; u++) await drive(d, login(`user${u}`, nat, T0 + u * 1000), 200);
  for (let i = 0; i < 20; i++) assert.deepEqual(await drive(d, login(`user${i % 10}`, nat, T0 + 20_000 + i * 1000), 401), []);
  // A lone attacker on another IP with the same number of failures is banned.
  let banned = false;
  for (let i = 0; i < 20 && !banned; i++) banned = ids(await drive(d, login(`user${i % 10}`, '192.0.2.66', T0 + 20_000 + i * 1000), 401)).includes('behavior.bruteforce.ip');
  assert.ok(banned);
});

test('bruteforce: per-username failures across clients throttle further attempts, not the known owner', async () => {
  const d = bruteForceDetector(policyWith())!;
  await drive(d, login('carol', '198.51.100.50', T0), 200); // the owner's usual client
  for (let i = 0; i < 11; i++) await drive(d, login('carol', `192.0.2.${i + 1}`, T0 + 1000 + i), 401);
  const sigs = await drive(d, login('carol', '192.0.2.200', T0 + 5000), 401);
  assert.deepEqual(ids(sigs), ['behavior.bruteforce.user']);
  assert.equal(sigs[0]!.action, 'throttle');
  assert.equal(sigs[0]!.evidence?.detail?.retryAfterS, 300);
  assert.deepEqual(await drive(d, login('carol', '198.51.100.50', T0 + 6000), 200), [], 'owner not throttled');
  assert.deepEqual(await drive(d, login('dave', '192.0.2.201', T0 + 7000), 401), [], 'other usernames unaffected');
});

test('bruteforce: per-username counting whatever the body encoding; unreadable login bodies share one bucket', async () => {
  const encodings: Record<string, (user: string) => { headers: Record<string, string>; body: string }> = {
    multipart: (u) => ({ headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, body: `--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\n${u}\r\n--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--XyZ--\r\n` }),
    'form starting with {': (u) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `{=1&username=${u}&password=x` }),
    'json with the username late': (u) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'A'.repeat(1000), username: u, password: 'x' }) }),
    'unparsable json': () => ({ headers: { 'content-type': 'application/json' }, body: '{"username": victim' }),
  };
  for (const [name, enc] of Object.entries(encodings)) {
    const d = bruteForceDetector(policyWith())!;
    for (let i = 0; i < 11; i++) await drive(d, { ip: `192.0.2.${i + 1}`, method: 'POST', target: '/api/login', ...enc('victim'), t: T0 + i }, 401);
    const sigs = await drive(d, { ip: '192.0.2.200', method: 'POST', target: '/api/login', ...enc('victim'), t: T0 + 100 }, 401);
    assert.deepEqual(ids(sigs), ['behavior.bruteforce.user'], name);
  }
  assert.equal(loginUsername(makeCtx({ method: 'POST', target: '/api/login', headers: { 'content-type': 'application/octet-stream' }, body: '\u0000\u0001binary' }), ['username']), UNREADABLE_USERNAME);
  assert.equal(loginUsername(makeCtx({ method: 'POST', target: '/api/login', body: JSON.stringify({ login: 'x' }) }), ['username']), undefined, 'a readable body without the field is not a bucket');
});

test('bruteforce: body marker, form bodies, gateway answers ignored, monitor mode', async () => {
  const d = bruteForceDetector(policyWith({ bruteForce: { failureBodyMarker: 'invalid credentials', maxFailures: 2, monitor: true, loginRoutes: ['POST /session'] } }))!;
  const form = (t: number) => ({ method: 'POST', target: '/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=Eve%40x.io&password=p', t });
  const marker = { bodySample: Buffer.from('{"error":"invalid credentials"}') };
  assert.deepEqual(await drive(d, form(T0), 200, marker), []);
  assert.deepEqual(await drive(d, form(T0 + 1), 429, { byGateway: true }), [], 'gateway 429 is not a login failure');
  assert.deepEqual(await drive(d, form(T0 + 2), 200, { bodySample: Buffer.from('{"token":"t"}') }), [], 'success forgives the typo');
  assert.deepEqual(await drive(d, form(T0 + 3), 200, marker), []);
  assert.deepEqual(await drive(d, form(T0 + 4), 200, marker), []);
  const s = await drive(d, form(T0 + 5), 200, marker);
  assert.equal(s[0]?.ruleId, 'behavior.bruteforce.ip');
  assert.equal(s[0]!.monitor, true);
});

test('bruteforce: 64 KiB pathological login body and path are handled in bounded time', async () => {
  const d = bruteForceDetector(policyWith())!;
  const body = '{"username":"' + '\\u0000'.repeat(9000) + '"' + ',"a":['.repeat(1500);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) {
    await drive(d, { method: 'POST', target: '/api/login', body, t: T0 + i }, 401);
    await drive(d, { method: 'POST', target: '/' + '/login'.repeat(10_000), body: 'username=' + '%'.repeat(65_000), headers: { 'content-type': 'application/x-www-form-urlencoded' }, t: T0 + i }, 401);
  }
  assert.ok(performance.now() - t0 < 3000);
});

test('bruteforce: typos followed by a successful login are forgiven; unresolved failures are not', async () => {
  const d = bruteForceDetector(policyWith())!;
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await drive(d, login('alice', '198.51.100.7', T0 + i * 20_000), 401), []);
    assert.deepEqual(await drive(d, login('alice', '198.51.100.7', T0 + i * 20_000 + 5000), 200), []);
  }
  const got: string[] = [];
  for (let i = 0; i < 6; i++) got.push(...ids(await drive(d, login('alice', '198.51.100.7', T0 + 500_000 + i), 401)));
  assert.deepEqual(got, ['behavior.bruteforce.ip']);
});

test('bruteforce: state survives a policy reload that does not change its settings, resets when they change', async () => {
  const d = bruteForceDetector(policyWith())!;
  for (let i = 0; i < 5; i++) await drive(d, login('zed', '192.0.2.9', T0 + i), 401);
  d.reconfigure!(policyWith({ honeypot: { banDuration: '2h' } }, { mode: 'enforce' }));
  assert.deepEqual(ids(await drive(d, login('zed', '192.0.2.9', T0 + 10), 401)), ['behavior.bruteforce.ip'], 'kept its counters');
  for (let i = 0; i < 5; i++) await drive(d, login('zed', '192.0.2.10', T0 + 20 + i), 401);
  d.reconfigure!(policyWith({ bruteForce: { maxFailures: 6 } }));
  assert.deepEqual(await drive(d, login('zed', '192.0.2.10', T0 + 30), 401), [], 'rebuilt with the new settings');
});

test('bruteforce: a login route with a format suffix or path parameters is a login route', async () => {
  for (const target of ['/api/login.json', '/api/login;jsessionid=ABC123', '/api/login.xml;x=1']) {
    const d = bruteForceDetector(policyWith())!;
    let sigs: string[] = [];
    for (let i = 0; i < 6; i++) sigs = ids(await drive(d, { ...login('alice', '203.0.113.77', T0 + i * 60_000), target }, 401));
    assert.ok(sigs.length > 0, `${target}: counted as failed logins`);
  }
  assert.equal(routeStem('login.json'), 'login');
  assert.equal(routeStem('login;jsessionid=1'), 'login');
  assert.equal(routeStem('v1.2'), 'v1.2', 'a version is not a format suffix');
  assert.equal(routeStem('.env'), '.env');
});

test('loginUsername reads the payload engine extraction of the body when the engine ran, and gives the same answer', async () => {
  const { PayloadEngine } = await import('../../engine/engine.ts');
  const { ruleRegistry } = await import('../../engine/registry.ts');
  const { validatePolicy } = await import('../../config/load.ts');
  const { SCRATCH_BODY_PARTS } = await import('../../engine/targets.ts');
  const engine = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());
  const req = { method: 'POST', target: '/api/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'Alice', password: 'x' }) };
  const withEngine = makeCtx(req);
  engine.inspectBody(withEngine);
  const extracted = withEngine.scratch.get(SCRATCH_BODY_PARTS);
  assert.ok(extracted?.parts.some((p) => p.loc.name === 'username'), 'the engine left its extraction on the context');
  assert.equal(loginUsername(withEngine, ['username']), 'alice');
  assert.equal(loginUsername(makeCtx(req), ['username']), 'alice', 'without the engine the body is read directly');
});
