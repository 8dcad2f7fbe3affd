import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../src/controlplane/testing.ts';

test('control plane policy: ETag/If-Match, validation errors, merge patch, versions with diff, rollback, rule modes', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');

  let r = await admin.req('GET', '/api/v1/policy');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('etag'), '"v1"');
  assert.equal(r.json.version, 1);
  assert.equal(r.json.yaml, '', 'defaults: empty document');
  assert.equal(r.json.policy.mode, 'enforce');

  // validate without applying
  r = await admin.req('POST', '/api/v1/policy/validate', { yaml: 'rateLimits:\n  - id: a\n    limit: -1\n' });
  assert.equal(r.status, 200);
  assert.equal(r.json.valid, false);
  assert.deepEqual(r.json.errors.map((e: { path: string }) => e.path), ['rateLimits[0].limit']);
  r = await admin.req('POST', '/api/v1/policy/validate', { document: { mode: 'monitor' } });
  assert.equal(r.json.valid, true);

  // PUT: If-Match required, stale ETag refused, invalid policy refused with paths, valid applied
  const good = 'mode: monitor\nrateLimits:\n  - id: api\n    limit: 50\n    window: 1m\n';
  r = await admin.req('PUT', '/api/v1/policy', { yaml: good });
  assert.equal(r.status, 428);
  r = await admin.req('PUT', '/api/v1/policy', { yaml: good }, { headers: { 'if-match': '"v7"' } });
  assert.equal(r.status, 412);
  assert.equal(r.json.code, 'BWK_PRECONDITION_FAILED');
  r = await admin.req('PUT', '/api/v1/policy', { yaml: 'rateLimits:\n  - id: a\n    limit: 0\n' }, { headers: { 'if-match': '"v1"' } });
  assert.equal(r.status, 422);
  assert.equal(r.json.code, 'BWK_POLICY_INVALID');
  assert.equal(r.json.errors[0].path, 'rateLimits[0].limit');
  r = await admin.req('PUT', '/api/v1/policy', { yaml: 'mode: [unclosed' }, { headers: { 'if-match': '"v1"' } });
  assert.equal(r.status, 422);
  r = await admin.req('PUT', '/api/v1/policy', { yaml: good, bogus: true }, { headers: { 'if-match': '"v1"' } });
  assert.equal(r.status, 400);
  assert.equal(cp.bw.policy().mode, 'enforce', 'nothing applied so far');
  r = await admin.req('PUT', '/api/v1/policy', { yaml: good, comment: 'monitor first' }, { headers: { 'if-match': '"v1"' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 2);
  assert.equal(r.headers.get('etag'), '"v2"');
  assert.equal(cp.bw.policy().mode, 'monitor', 'gateway reloaded');
  assert.equal(cp.bw.policy().rateLimits[0]!.limit, 50);
  // the same stale ETag again: lost update prevented
  r = await admin.req('PUT', '/api/v1/policy', { yaml: 'mode: enforce\n' }, { headers: { 'if-match': '"v1"' } });
  assert.equal(r.status, 412);

  // PATCH: JSON merge patch (RFC 7396) on the document as written
  r = await admin.req('PATCH', '/api/v1/policy', { mode: 'enforce', events: { sampleAllowed: 0.5 } }, { headers: { 'if-match': '"v2"' }, contentType: 'application/merge-patch+json' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 3);
  assert.equal(cp.bw.policy().mode, 'enforce');
  assert.equal(cp.bw.policy().events.sampleAllowed, 0.5);
  assert.equal(cp.bw.policy().rateLimits[0]!.id, 'api', 'untouched members kept');
  r = await admin.req('PATCH', '/api/v1/policy', { events: null }, { headers: { 'if-match': '"v3"' } });
  assert.equal(r.status, 200);
  assert.equal(cp.bw.policy().events.sampleAllowed, 0, 'null deletes a member (back to the default)');
  r = await admin.req('PATCH', '/api/v1/policy', { mode: 'sideways' }, { headers: { 'if-match': '"v4"' } });
  assert.equal(r.status, 422);
  r = await admin.req('PATCH', '/api/v1/policy', { mode: 'monitor' });
  assert.equal(r.status, 428);

  // versions: who, when, diff
  r = await admin.req('GET', '/api/v1/policy/versions');
  assert.deepEqual(r.json.items.map((v: { version: number }) => v.version), [4, 3, 2, 1]);
  assert.equal(r.json.items[2].author, 'admin');
  assert.equal(r.json.items[2].comment, 'monitor first');
  r = await admin.req('GET', '/api/v1/policy/versions?limit=2');
  assert.equal(r.json.nextCursor, '3');
  r = await admin.req('GET', '/api/v1/policy/versions?limit=2&cursor=3');
  assert.deepEqual(r.json.items.map((v: { version: number }) => v.version), [2, 1]);
  r = await admin.req('GET', '/api/v1/policy/versions/3');
  assert.match(r.json.diff, /^--- v2\n\+\+\+ v3\n@@ /);
  assert.match(r.json.diff, /\n-mode: monitor\n/);
  assert.match(r.json.diff, /\n\+mode: enforce\n/);
  assert.equal((await admin.req('GET', '/api/v1/policy/versions/99')).status, 404);

  // rollback to v2 → v5 with v2's YAML, applied
  r = await admin.req('POST', '/api/v1/policy/versions/2/rollback', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version, 5);
  assert.equal(cp.bw.policy().mode, 'monitor');
  r = await admin.req('GET', '/api/v1/policy');
  assert.equal(r.json.yaml, good);

  // rule modes: a rate-limit rule, then a payload rule; global mode
  r = await admin.req('PUT', '/api/v1/rules/ratelimit.api/mode', { mode: 'monitor' });
  assert.equal(r.status, 200, r.text);
  assert.equal(cp.bw.policy().rateLimits[0]!.monitor, true);
  assert.equal(cp.bw.policy().rateLimits[0]!.window, 60_000, 'durations survive the round trip');
  r = await admin.req('PUT', '/api/v1/rules/sqli.942100/mode', { mode: 'monitor' });
  assert.equal(r.status, 200);
  assert.deepEqual(cp.bw.policy().detection.monitor.rules, ['sqli.942100']);
  r = await admin.req('PUT', '/api/v1/rules/sqli.942100/mode', { mode: 'enforce' });
  assert.deepEqual(cp.bw.policy().detection.monitor.rules, []);
  r = await admin.req('PUT', '/api/v1/rules/behavior.bruteforce.ip/mode', { mode: 'monitor' });
  assert.equal(r.status, 200, r.text);
  assert.equal((cp.bw.policy().behavior as unknown as { bruteForce: { monitor: boolean } }).bruteForce.monitor, true, 'behavioural detector switched as a whole');
  r = await admin.req('GET', '/api/v1/detectors');
  assert.ok(r.json.items.some((x: { name: string; monitor?: boolean }) => x.name === 'behavior.bruteForce' && x.monitor === true));
  assert.ok(r.json.rules.some((x: { ruleId: string }) => x.ruleId === 'behavior.bruteforce.*'));
  r = await admin.req('PUT', '/api/v1/rules/behavior.bruteforce.ip/mode', { mode: 'enforce' });
  assert.equal((cp.bw.policy().behavior as unknown as { bruteForce: { monitor: boolean } }).bruteForce.monitor, false);
  r = await admin.req('PUT', '/api/v1/rules/no-such-rule/mode', { mode: 'enforce' });
  assert.equal(r.status, 404);
  r = await admin.req('PUT', '/api/v1/mode', { mode: 'enforce' });
  assert.equal(cp.bw.policy().mode, 'enforce');
  r = await admin.req('GET', '/api/v1/detectors');
  assert.ok(r.json.rules.some((x: { ruleId: string; mode: string }) => x.ruleId === 'ratelimit.api' && x.mode === 'monitor'));
  r = await admin.req('PATCH', '/api/v1/detectors/detection', { settings: { paranoiaLevel: 2 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(cp.bw.policy().detection.paranoiaLevel, 2);
  r = await admin.req('PATCH', '/api/v1/detectors/detection', { settings: { paranoiaLevel: 9 } });
  assert.equal(r.status, 422);
  assert.equal(r.json.errors[0].path, 'detection.paranoiaLevel');

  // hostile documents: deep nesting refused before recursion; hostile YAML is a validation result, not a crash
  const deep = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
  r = await admin.req('PATCH', '/api/v1/policy', deep, { headers: { 'if-match': '*' } });
  assert.equal(r.status, 400);
  assert.match(r.json.detail, /nested deeper/);
  r = await admin.req('POST', '/api/v1/policy/validate', { yaml: 'a:\n  ' + '- '.repeat(50_000) + '1\n' });
  assert.equal(r.status, 200);
  assert.equal(r.json.valid, false);
  r = await admin.req('POST', '/api/v1/policy/validate', { yaml: 'a: &x [1]\nb: [*x, *x]\n'.repeat(1) + 'c: ' + '*x '.repeat(1) + '\n' });
  assert.equal(r.status, 200);

  // audit of policy changes
  r = await admin.req('GET', '/api/v1/audit?resource=policy');
  const actions = r.json.items.map((e: { action: string }) => e.action);
  for (const a of ['policy.replace', 'policy.patch', 'policy.rollback', 'rule.mode', 'policy.mode', 'detector.update']) assert.ok(actions.includes(a), a);
});

test('control plane policy: default rate limits materialised with durations when a rule mode changes', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  const before = cp.bw.policy().rateLimits;
  const r = await admin.req('PUT', '/api/v1/rules/ratelimit.login-ip/mode', { mode: 'monitor' });
  assert.equal(r.status, 200, r.text);
  const after = cp.bw.policy().rateLimits;
  assert.deepEqual(after.map((x) => ({ ...x, monitor: false })), before.map((x) => ({ ...x, monitor: false })));
  assert.equal(after.find((x) => x.id === 'login-ip')!.monitor, true);
});

test('control plane policy: API edits survive a restart; a policy given at start wins and is recorded', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bulwark-cp-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  let cp = await startControlPlane({ dataDir });
  let admin = await cp.login('admin', 'admin-password-0123');
  assert.equal((await admin.req('PATCH', '/api/v1/policy', { mode: 'monitor' }, { headers: { 'if-match': '"v1"' } })).status, 200);
  await cp.stop();

  cp = await startControlPlane({ dataDir });
  assert.equal(cp.bw.policy().mode, 'monitor', 'stored version re-applied');
  admin = await cp.login('admin', 'admin-password-0123');
  assert.equal((await admin.req('GET', '/api/v1/policy')).json.version, 2);
  await cp.stop();

  cp = await startControlPlane({ dataDir, policy: { mode: 'enforce', controlPlane: { costPerBlockedRequest: 2 } } });
  t.after(() => cp.stop());
  admin = await cp.login('admin', 'admin-password-0123');
  const r = await admin.req('GET', '/api/v1/policy');
  assert.equal(r.json.version, 3);
  assert.equal(r.json.policy.mode, 'enforce');
  assert.equal(r.json.document.controlPlane.costPerBlockedRequest, 2);
  // the generated document round-trips: a patch keeps the start options' values
  assert.equal((await admin.req('PATCH', '/api/v1/policy', { mode: 'monitor' }, { headers: { 'if-match': '"v3"' } })).status, 200);
  assert.equal(cp.bw.policy().controlPlane.costPerBlockedRequest, 2);
  assert.equal(cp.bw.policy().decisions.defaultBanDuration, 15 * 60_000);
});

test('control plane policy: viewers never see deny-list API keys, also keys with characters JSON and YAML escape', async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const admin = await cp.login('admin', 'admin-password-0123');
  await admin.req('POST', '/api/v1/users', { username: 'v1', password: 'viewer-password-01', role: 'viewer' });
  const viewer = await cp.login('v1', 'viewer-password-01');
  const keys = ['plainSecretKey0123456789', 'sk_live\\9f8e7d6c5b4a', 'tok"en-5f4e3d2c1b0a', "it's-a-key-0123456"];
  for (const key of keys) assert.equal((await admin.req('POST', '/api/v1/lists/deny/entries', { kind: 'api_key', value: key })).status, 201);
  const r = await viewer.req('GET', '/api/v1/policy');
  assert.equal(r.status, 200);
  for (const key of keys) {
    for (const form of [key, JSON.stringify(key).slice(1, -1), key.replaceAll("'", "''")]) {
      assert.ok(!r.text.includes(form) && !r.json.yaml.includes(form), `${JSON.stringify(key)} visible as ${JSON.stringify(form)}`);
    }
  }
  assert.equal(r.json.document.lists.deny.apiKeys.length, keys.length);
  // admins see them
  assert.ok((await admin.req('GET', '/api/v1/policy')).json.document.lists.deny.apiKeys.includes(keys[2]));
});
