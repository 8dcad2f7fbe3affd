import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, postWebhook, signWebhook, verifyWebhookSignature } from './deliver.ts';
import { alertTitle, emailContent, escapeHtml, escapeSlack, jsonPayload, oneLine, slackPayload } from './format.ts';
import { startWebhookReceiver } from './test-helpers.ts';
import type { Incident } from '../incidents/types.ts';
import type { Alert } from './types.ts';

function fixture(actor: string, route = '/api/x', rule = 'sqli.942100'): { alert: Alert; incident: Incident } {
  const t = 1_700_000_000_000;
  const incident: Incident = {
    id: 'inc-1', actor: { kind: 'user', value: actor }, scenario: 'sqli', severity: 'HIGH', state: 'open', firstSeen: t, lastSeen: t,
    events: 3, blocked: 3, sampleEventIds: [], generation: 0, createdAt: t, updatedAt: t,
    stats: { ips: { '192.0.2.1': 3 }, routes: { [`GET ${route}`]: { count: 3, method: 'GET', throttled: 0 } }, rules: { [rule]: { count: 3, category: 'sqli', monitor: 0, wouldBlock: 0 } }, actions: { block: 3 }, monitored: 0, overflow: 0 },
  };
  const alert: Alert = {
    id: 'a-1', incidentId: incident.id, kind: 'opened', severity: 'HIGH', generation: 0, title: alertTitle('opened', incident),
    actor: incident.actor, scenario: 'sqli', events: 3, blocked: 3, createdAt: t, state: 'new', muted: false,
  };
  return { alert, incident };
}

test('escaping: HTML, Slack mrkdwn, one-line subjects', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(escapeSlack('<!channel> & <http://evil|click> *b*'), '&lt;!channel&gt; &amp; &lt;http://evil|click&gt; *\u200bb*\u200b');
  assert.equal(oneLine('a\r\nBcc: x@y\u2028z'), 'a  Bcc: x@y z');
});

test('messages escape request-derived strings in every format', () => {
  const evil = '<script>alert(1)</script><!here>\r\nBcc: victim@example.test';
  const { alert, incident } = fixture(evil, '/p/<img src=x>', '<b>rule</b>');
  const mail = emailContent(alert, incident, [], 'https://bulwark.example.test/');
  assert.ok(!mail.html.includes('<script>') && !mail.html.includes('<img') && !mail.html.includes('<b>rule'));
  assert.ok(mail.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(mail.html.includes('https://bulwark.example.test/incidents/inc-1'));
  assert.ok(!/[\r\n]/.test(mail.subject), 'subject is one line');
  assert.ok(mail.text.includes('<script>alert(1)</script>'), 'text part keeps the raw value as text');
  const slack = JSON.stringify(slackPayload(alert, incident, []));
  assert.ok(!slack.includes('<!here>') && !slack.includes('<script>'));
  const json = jsonPayload(alert, incident, [{ id: 'r', type: 'ban_actor', title: 'Ban', rationale: 'x', action: { kind: 'rule_mode', ruleId: 'x', mode: 'enforce' } }]);
  assert.equal((json.incident as { actor: { value: string } }).actor.value, evil.slice(0, 256));
  assert.deepEqual(json.recommendations, [{ type: 'ban_actor', title: 'Ban' }]);
});

test('64 KiB pathological request strings format in bounded time and bounded size', () => {
  const patho = '<'.repeat(32 * 1024) + '&\u0000'.repeat(16 * 1024);
  const { alert, incident } = fixture(patho, patho, patho);
  const started = performance.now();
  for (let i = 0; i < 20; i++) {
    emailContent(alert, incident, []);
    slackPayload(alert, incident, []);
    escapeHtml(patho);
    escapeSlack(patho);
    oneLine(patho);
  }
  assert.ok(performance.now() - started < 5000);
  const mail = emailContent(alert, incident, []);
  assert.ok(mail.html.length < 20_000, String(mail.html.length));
  assert.ok(JSON.stringify(slackPayload(alert, incident, [])).length < 10_000);
});

test('signatures: HMAC-SHA256 over timestamp.body, constant-time verify, replay window', () => {
  const sig = signWebhook('k'.repeat(32), 1_700_000_000, '{"a":1}');
  assert.match(sig, /^sha256=[0-9a-f]{64}$/);
  assert.ok(verifyWebhookSignature('k'.repeat(32), sig, '1700000000', '{"a":1}', 1_700_000_100));
  assert.ok(!verifyWebhookSignature('k'.repeat(32), sig, '1700000000', '{"a":1}', 1_700_000_400), 'too old');
  assert.ok(!verifyWebhookSignature('k'.repeat(32), sig, '1700000001', '{"a":1}', 1_700_000_000), 'timestamp is signed');
  assert.ok(!verifyWebhookSignature('k'.repeat(32), undefined, '1700000000', '{"a":1}', 1_700_000_000));
  assert.ok(!verifyWebhookSignature('k'.repeat(32), 'sha256=00', 'abc', '{"a":1}', 1_700_000_000));
});

test('backoff: exponential, capped, jittered within [d/2, d], Retry-After honoured up to the cap', () => {
  assert.equal(backoffDelay(1, 1000, 60_000, undefined, () => 0), 500);
  assert.equal(backoffDelay(1, 1000, 60_000, undefined, () => 0.999999), 1000);
  assert.equal(backoffDelay(3, 1000, 60_000, undefined, () => 0), 2000);
  assert.equal(backoffDelay(20, 1000, 60_000, undefined, () => 1), 60_000);
  assert.equal(backoffDelay(1, 1000, 60_000, 30, () => 0), 30_000);
  assert.equal(backoffDelay(1, 1000, 60_000, 999_999, () => 0), 60_000);
  for (let i = 1; i < 10; i++) {
    const d = backoffDelay(i, 100, 5000);
    const cap = Math.min(5000, 100 * 2 ** (i - 1));
    assert.ok(d >= cap / 2 - 1 && d <= cap + 1);
  }
});

test('postWebhook: a receiver slower than the timeout is a retryable timeout', async () => {
  const rx = await startWebhookReceiver({ delayMs: 1500 });
  try {
    const r = await postWebhook({ url: rx.url, signingKey: 'k'.repeat(32), body: '{}', timeoutMs: 200, allowPrivate: true });
    assert.equal(r.ok, false);
    assert.equal(r.retryable, true);
    assert.match(r.error ?? '', /timeout/);
    assert.ok(r.latencyMs < 1400);
  } finally {
    await rx.close();
  }
});
