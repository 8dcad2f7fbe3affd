import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { policySchema, type Policy } from '../../config/schema.ts';
import { openDatabase } from '../../store/sqlite.ts';
import { createIncidentService } from '../incidents/service.ts';
import { makeEvent } from '../incidents/testing.ts';
import { openSecretBox } from '../secrets.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, isNonPublicAddress, verifyWebhookSignature } from './deliver.ts';
import { createAlertService } from './service.ts';
import { parseMime, startSmtpReceiver, startWebhookReceiver } from './test-helpers.ts';
import type { AlertStreamMessage } from './types.ts';

const SIGNING_KEY = 'whsec_test_0123456789abcdef';

/** Services over a temporary database; the test receivers listen on loopback, so private webhooks are allowed unless `alerts` says otherwise. */
function setup(policyInput: { controlPlane?: { alerts?: object } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-alerts-'));
  const dbFile = join(dir, 'bulwark.db');
  const db = openDatabase(dbFile);
  const policy: Policy = policySchema.parse({
    controlPlane: { alerts: { backoffBase: '20ms', backoffMax: '200ms', timeout: '2s', allowPrivateWebhooks: true, ...policyInput.controlPlane?.alerts } },
  });
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
  const incidents = createIncidentService({ db, policy: () => policy, logger });
  const secrets = openSecretBox({ dataDir: dir, env: {} });
  const alerts = createAlertService({ db, incidents, logger, secrets, policy: () => policy });
  const stream: AlertStreamMessage[] = [];
  alerts.subscribe((m) => stream.push(m));
  return {
    dir, dbFile, db, policy, incidents, alerts, lines, stream, logger,
    async cleanup() {
      await alerts.close();
      await incidents.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every byte of the SQLite database, WAL included, as latin1 text (to grep for plaintext). */
function rawDb(dir: string): string {
  return readdirSync(dir).filter((f) => f.startsWith('bulwark.db')).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('\n');
}

test('webhook: signed JSON delivered to a real receiver; 500 twice then 200 → retried with backoff and logged', async () => {
  const rx = await startWebhookReceiver({ statuses: [500, 500] });
  const t = setup();
  try {
    const ch = t.alerts.createChannel({ name: 'ops hook', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    assert.equal(ch.webhook?.url, `${new URL(rx.url).origin}/***`);
    assert.equal(ch.webhook?.signingKey, '****cdef');

    t.incidents.ingest(makeEvent({ target: '/api/items?q=<script>alert(1)</script>' }));
    await t.incidents.flush();
    await t.alerts.idle();

    assert.equal(rx.received.length, 3);
    for (const r of rx.received) {
      assert.equal(r.path, new URL(rx.url).pathname);
      const sig = r.headers[SIGNATURE_HEADER] as string;
      const ts = r.headers[TIMESTAMP_HEADER] as string;
      assert.match(sig, /^sha256=[0-9a-f]{64}$/);
      assert.ok(verifyWebhookSignature(SIGNING_KEY, sig, ts, r.body), 'signature verifies');
      assert.ok(!verifyWebhookSignature('wrong-key-wrong-key', sig, ts, r.body));
      assert.ok(!verifyWebhookSignature(SIGNING_KEY, sig, ts, r.body + ' '));
    }
    // Backoff: the retries are spaced (base 20 ms, equal jitter → ≥ 10 ms then ≥ 20 ms).
    assert.ok(rx.received[1]!.at - rx.received[0]!.at >= 9);
    assert.ok(rx.received[2]!.at - rx.received[1]!.at >= 19);
    const payload = JSON.parse(rx.received[2]!.body) as { type: string; alert: { severity: string; kind: string }; incident: { actor: { value: string }; events: number } };
    assert.equal(payload.type, 'bulwark.alert');
    assert.equal(payload.alert.severity, 'HIGH');
    assert.equal(payload.alert.kind, 'opened');
    assert.equal(payload.incident.actor.value, '203.0.113.7');

    const log = t.alerts.listDeliveries(ch.id);
    assert.equal(log.items.length, 1);
    const d = log.items[0]!;
    assert.equal(d.status, 'delivered');
    assert.equal(d.attempts, 3);
    assert.equal(d.responseStatus, 200);
    assert.equal(typeof d.latencyMs, 'number');
    const deliveryMsgs = t.stream.filter((m) => m.type === 'delivery');
    assert.deepEqual(deliveryMsgs.map((m) => m.type === 'delivery' && m.delivery.status), ['retrying', 'retrying', 'delivered']);
    assert.ok(t.stream.some((m) => m.type === 'alert'));

    // Secrets: not in the SQLite file, nor in any log line.
    const raw = rawDb(t.dir);
    assert.ok(!raw.includes('s3cr3t-path-token'), 'webhook URL path is not stored in clear');
    assert.ok(!raw.includes(SIGNING_KEY), 'signing key is not stored in clear');
    const logs = t.lines.join('');
    assert.ok(t.lines.length > 0);
    assert.ok(!logs.includes('s3cr3t-path-token') && !logs.includes(SIGNING_KEY));
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('webhook: permanent 4xx is not retried; attempts are bounded; network errors are logged without the URL', async () => {
  const rx = await startWebhookReceiver({ statuses: [404, 503, 503, 503, 503, 503] });
  const t = setup({ controlPlane: { alerts: { maxAttempts: 3, backoffBase: '5ms', backoffMax: '20ms' } } });
  try {
    const ch = t.alerts.createChannel({ name: 'h', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(rx.received.length, 1);
    assert.equal(t.alerts.listDeliveries(ch.id).items[0]!.status, 'failed');
    assert.equal(t.alerts.listDeliveries(ch.id).items[0]!.error, 'HTTP 404');

    // Escalation → second alert; 503 × 3 = bounded attempts, then failed.
    t.incidents.ingest(makeEvent({ level: 'CRITICAL' }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(rx.received.length, 4);
    const failed = t.alerts.listDeliveries(ch.id, { status: 'failed' }).items;
    assert.equal(failed.length, 2);
    assert.ok(failed.some((d) => d.attempts === 3 && d.responseStatus === 503));

    // Receiver gone: connection refused, error recorded with the secret path masked.
    await rx.close();
    const refused = await t.alerts.testChannel(ch.id);
    assert.equal(refused?.status, 'failed');
    assert.equal(refused?.attempts, 1);
    assert.ok(refused?.error && !refused.error.includes('s3cr3t'), refused?.error);
    assert.ok(!t.lines.join('').includes('s3cr3t-path-token'));
  } finally {
    await t.cleanup();
    await rx.close().catch(() => undefined);
  }
});

test('dedup and escalation: same incident and severity → one alert; severity rises → a new alert; minSeverity filters', async () => {
  const rx = await startWebhookReceiver();
  const t = setup();
  try {
    t.alerts.createChannel({ name: 'all', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    const critical = t.alerts.createChannel({ name: 'critical only', type: 'webhook', minSeverity: 'CRITICAL', webhook: { url: rx.url + '/crit', signingKey: SIGNING_KEY, format: 'slack' } }, 'admin');
    for (let i = 0; i < 10; i++) t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    for (let i = 0; i < 10; i++) t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(t.alerts.listAlerts().items.length, 1);
    assert.equal(rx.received.length, 1);

    t.incidents.ingest(makeEvent({ level: 'CRITICAL', target: '/x?<!channel>*bold*' }));
    await t.incidents.flush();
    await t.alerts.idle();
    const alerts = t.alerts.listAlerts().items;
    assert.equal(alerts.length, 2);
    assert.equal(alerts[0]!.kind, 'escalated');
    assert.equal(alerts[0]!.severity, 'CRITICAL');
    assert.equal(alerts[0]!.previousSeverity, 'HIGH');
    assert.equal(rx.received.length, 3, 'escalation goes to both channels');
    const slack = rx.received.find((r) => r.path.endsWith('/crit'))!;
    const msg = JSON.parse(slack.body) as { text: string; blocks: { type: string }[] };
    assert.match(msg.text, /CRITICAL/);
    assert.ok(msg.blocks.length >= 3);
    assert.equal(msg.blocks[0]!.type, 'header');
    assert.equal(t.alerts.listDeliveries(critical.id).items.length, 1);

    // More CRITICAL events: no new alert. Ack works.
    t.incidents.ingest(makeEvent({ level: 'CRITICAL' }));
    await t.incidents.flush();
    assert.equal(t.alerts.listAlerts().items.length, 2);
    const acked = t.alerts.acknowledgeAlert(alerts[0]!.id, 'ana');
    assert.equal(acked?.state, 'acknowledged');
    assert.equal(t.alerts.listAlerts({ state: 'new' }).items.length, 1);
    assert.equal(t.alerts.listAlerts({ severity: 'CRITICAL' }).items.length, 1);

    // Resolved then recurring → re-opened → alerts again at the same severity (new generation).
    const inc = t.incidents.list().items[0]!;
    t.incidents.resolve(inc.id, 'ana');
    t.incidents.ingest(makeEvent({ level: 'CRITICAL' }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(t.alerts.listAlerts().items[0]!.kind, 'reopened');
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('mute rules: global rule mutes alert and stream; channel rule suppresses that channel only; expired rules do not apply; incident mute', async () => {
  const rx = await startWebhookReceiver();
  const t = setup();
  try {
    const a = t.alerts.createChannel({ name: 'a', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url + '/a', signingKey: SIGNING_KEY } }, 'admin');
    t.alerts.createChannel({ name: 'b', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url + '/b', signingKey: SIGNING_KEY } }, 'admin');
    assert.throws(() => t.alerts.createMuteRule({}, 'ana'), /at least one/);
    assert.throws(() => t.alerts.createMuteRule({ channelId: 'nope' }, 'ana'), /unknown channel/);
    const global = t.alerts.createMuteRule({ actor: 'ip:203.0.113.7', reason: 'pentest' }, 'ana');
    t.alerts.createMuteRule({ category: 'xss', channelId: a.id }, 'ana');
    t.alerts.createMuteRule({ category: 'xss', until: Date.now() + 30 }, 'ana');

    t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    await t.alerts.idle();
    const muted = t.alerts.listAlerts().items[0]!;
    assert.equal(muted.muted, true);
    assert.equal(muted.mutedBy, global.id);
    assert.equal(rx.received.length, 0);
    assert.equal(t.stream.filter((m) => m.type === 'alert').length, 0);

    await new Promise((r) => setTimeout(r, 50)); // let the short global xss rule expire
    t.incidents.ingest(makeEvent({ clientIp: '198.51.100.1', clientKey: '198.51.100.1', category: 'xss', signals: [{ ruleId: 'xss.941100', detector: 'xss', category: 'xss', score: 5 }] }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.deepEqual(rx.received.map((r) => r.path.slice(-2)), ['/b']);
    assert.equal(t.alerts.listDeliveries(a.id).items[0]!.status, 'suppressed');
    assert.equal(t.alerts.listMuteRules().filter((m) => !m.active).length, 1);

    // An incident muted by an analyst raises no delivered alert on escalation.
    const inc = t.incidents.list({ scenario: 'xss' }).items[0]!;
    t.incidents.mute(inc.id, Date.now() + 60_000, 'ana');
    t.incidents.ingest(makeEvent({ clientIp: '198.51.100.1', clientKey: '198.51.100.1', category: 'xss', level: 'CRITICAL' }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(rx.received.length, 1);
    assert.equal(t.alerts.listAlerts({ incidentId: inc.id }).items[0]!.mutedBy, 'incident');

    assert.ok(t.alerts.deleteMuteRule(global.id));
    assert.equal(t.alerts.getMuteRule(global.id), undefined);
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('webhooks to loopback, private or link-local addresses fail by default (SSRF guard), also through DNS', async () => {
  const rx = await startWebhookReceiver();
  const t = setup({ controlPlane: { alerts: { allowPrivateWebhooks: false } } });
  try {
    const port = new URL(rx.url).port;
    for (const url of [rx.url, `http://localhost:${port}/hook`, 'http://[::1]:9/x', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/x', 'http://[::ffff:127.0.0.1]:9/x']) {
      const ch = t.alerts.createChannel({ name: `h ${url}`, type: 'webhook', minSeverity: 'LOW', webhook: { url, signingKey: SIGNING_KEY } }, 'admin');
      const d = await t.alerts.testChannel(ch.id);
      assert.equal(d?.status, 'failed', url);
      assert.match(JSON.stringify(d), /EBLOCKEDADDRESS/, url);
    }
    assert.equal(rx.received.length, 0, 'nothing reached the internal receiver');
    assert.equal(isNonPublicAddress('93.184.216.34'), false);
    assert.equal(isNonPublicAddress('2606:4700::1111'), false);
    assert.equal(isNonPublicAddress('100.64.0.1'), true);
    assert.equal(isNonPublicAddress('fd00::1'), true);
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('e-mail: delivered to a real SMTP server with auth; HTML and text parts; request-derived strings escaped; credentials encrypted', async () => {
  const smtpPass = 'smtp-Pa55word-xyz';
  const smtp = await startSmtpReceiver({ user: 'alerts@bulwark.test', password: smtpPass });
  const t = setup();
  try {
    const ch = t.alerts.createChannel({
      name: 'mail', type: 'email', minSeverity: 'LOW',
      email: { to: ['soc@example.test'], from: 'bulwark@example.test', smtp: { host: '127.0.0.1', port: smtp.port, user: 'alerts@bulwark.test', password: smtpPass, requireTLS: false } },
    }, 'admin');
    assert.equal(ch.email?.smtp.password, '****-xyz');
    assert.equal(ch.email?.smtp.user, '****test');

    const evil = '<img src=x onerror=alert(1)>"\'&';
    t.incidents.ingest(makeEvent({ user: evil, target: '/login', method: 'POST', category: 'bruteforce', signals: [{ ruleId: 'behavior.bruteforce.ip', detector: 'bruteforce', category: 'bruteforce', score: 0 }] }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(smtp.mails.length, 1, JSON.stringify(t.alerts.listDeliveries(ch.id).items));
    const mail = smtp.mails[0]!;
    assert.equal(mail.user, 'alerts@bulwark.test');
    assert.deepEqual(mail.to, ['soc@example.test']);
    const { headers, parts } = parseMime(mail.raw);
    assert.match(headers['subject'] ?? '', /Bulwark/);
    const html = parts.find((p) => p.contentType === 'text/html')?.body ?? '';
    const text = parts.find((p) => p.contentType === 'text/plain')?.body ?? '';
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;'), html);
    assert.ok(!html.includes('<img'), 'no raw request-derived HTML');
    assert.ok(text.includes(evil), 'text part carries the value as text');
    assert.equal(t.alerts.listDeliveries(ch.id).items[0]!.status, 'delivered');

    // Wrong password: a permanent 535 → failed, the password never in the error or the logs.
    t.alerts.updateChannel(ch.id, { email: { smtp: { password: 'wrong-password-123' } } }, 'admin');
    const d = await t.alerts.testChannel(ch.id);
    assert.equal(d?.status, 'failed');
    assert.ok(!JSON.stringify(d).includes('wrong-password-123'));
    const raw = rawDb(t.dir);
    assert.ok(!raw.includes(smtpPass) && !raw.includes('wrong-password-123'));
    assert.ok(!t.lines.join('').includes(smtpPass));
  } finally {
    await t.cleanup();
    await smtp.close();
  }
});

test('e-mail with credentials requires STARTTLS by default: a server without it never receives the password', async () => {
  const smtpPass = 'smtp-Pa55word-tls';
  const smtp = await startSmtpReceiver({ user: 'alerts@bulwark.test', password: smtpPass }); // offers no STARTTLS
  const t = setup();
  try {
    const ch = t.alerts.createChannel({
      name: 'mail', type: 'email', minSeverity: 'LOW',
      email: { to: ['soc@example.test'], from: 'bulwark@example.test', smtp: { host: '127.0.0.1', port: smtp.port, user: 'alerts@bulwark.test', password: smtpPass } },
    }, 'admin');
    assert.equal(ch.email?.smtp.requireTLS, true);
    const d = await t.alerts.testChannel(ch.id);
    assert.equal(d?.status, 'failed');
    assert.match(JSON.stringify(d), /STARTTLS|TLS/i);
    assert.equal(smtp.mails.length, 0);
    // without credentials nothing secret crosses the network: STARTTLS stays opportunistic
    const open = t.alerts.createChannel({ name: 'open', type: 'email', minSeverity: 'LOW', email: { to: ['soc@example.test'], from: 'bulwark@example.test', smtp: { host: '127.0.0.1', port: smtp.port } } }, 'admin');
    assert.equal(open.email?.smtp.requireTLS, false);
  } finally {
    await t.cleanup();
    await smtp.close();
  }
});

test('channels: validation, update keeps secrets unless given, delete removes its log; a ciphertext moved to another row fails', async () => {
  const t = setup();
  try {
    assert.throws(() => t.alerts.createChannel({ name: 'x', type: 'webhook', webhook: { url: 'ftp://x.test/a' } }, 'admin'), /http/);
    assert.throws(() => t.alerts.createChannel({ name: 'x', type: 'webhook' }, 'admin'), /webhook/);
    const a = t.alerts.createChannel({ name: 'a', type: 'webhook', webhook: { url: 'https://hooks.example.test/AAA/BBB' } }, 'admin');
    assert.equal(a.minSeverity, 'MEDIUM');
    assert.match(a.webhook!.signingKey, /^\*\*\*\*.{4}$/);
    const b = t.alerts.createChannel({ name: 'b', type: 'webhook', webhook: { url: 'https://hooks.example.test/CCC' } }, 'admin');
    const u = t.alerts.updateChannel(a.id, { name: 'a2', enabled: false, webhook: { format: 'slack' } }, 'admin')!;
    assert.equal(u.name, 'a2');
    assert.equal(u.enabled, false);
    assert.equal(u.webhook!.format, 'slack');
    assert.equal(u.webhook!.url, 'https://hooks.example.test/***');
    assert.throws(() => t.alerts.updateChannel(a.id, { email: { to: ['x@y.test'] } }, 'admin'), /cannot take/);
    assert.equal(t.alerts.updateChannel('nope', {}, 'admin'), undefined);

    // Copy channel b's ciphertext into a: AES-GCM's AAD binds it to b's id, so a can no longer decrypt.
    const sb = (t.db.prepare('SELECT secret FROM alert_channels WHERE id = ?').get(b.id) as { secret: string }).secret;
    assert.match(sb, /^bwk1\./);
    t.db.prepare('UPDATE alert_channels SET secret = ?, enabled = 1 WHERE id = ?').run(sb, a.id);
    const d = await t.alerts.testChannel(a.id);
    assert.equal(d?.status, 'failed');
    assert.match(d?.error ?? '', /decrypt/);

    assert.ok(t.alerts.deleteChannel(a.id));
    assert.equal(t.alerts.listDeliveries(a.id).items.length, 0);
    assert.equal(t.alerts.listChannels().length, 1);
  } finally {
    await t.cleanup();
  }
});

test('alert storm: deliveries per channel are rate limited (maxPerMinute) and recorded as suppressed', async () => {
  const rx = await startWebhookReceiver();
  const t = setup({ controlPlane: { alerts: { maxPerMinute: 3, backoffBase: '10ms' } } });
  try {
    const ch = t.alerts.createChannel({ name: 'h', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    for (let i = 0; i < 10; i++) t.incidents.ingest(makeEvent({ clientIp: `192.0.2.${i + 1}`, clientKey: `192.0.2.${i + 1}` }));
    await t.incidents.flush();
    await t.alerts.idle();
    assert.equal(t.alerts.listAlerts().items.length, 10, 'every alert is recorded');
    assert.equal(rx.received.length, 3);
    const suppressed = t.alerts.listDeliveries(ch.id, { status: 'suppressed' }).items;
    assert.equal(suppressed.length, 7);
    assert.match(suppressed[0]!.error ?? '', /rate limited/);
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('restart: a delivery waiting for a retry survives close() and is delivered by the next service instance', async () => {
  const rx = await startWebhookReceiver({ statuses: [500] });
  // Retry due 1–2 s after the first attempt: the service is closed well before, even on a busy machine.
  const t = setup({ controlPlane: { alerts: { backoffBase: '2s', backoffMax: '2s' } } });
  try {
    const ch = t.alerts.createChannel({ name: 'h', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    const until = Date.now() + 5000;
    while (t.alerts.listDeliveries(ch.id).items[0]?.status !== 'retrying' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(rx.received.length, 1);
    assert.equal(t.alerts.listDeliveries(ch.id).items[0]!.status, 'retrying');
    await t.alerts.close();

    const secrets = openSecretBox({ dataDir: t.dir, env: {} });
    const again = createAlertService({ db: t.db, incidents: t.incidents, logger: t.logger, secrets, policy: () => t.policy });
    try {
      await new Promise((r) => setTimeout(r, 50));
      await again.idle();
      assert.equal(rx.received.length, 2);
      const d = again.listDeliveries(ch.id).items[0]!;
      assert.equal(d.status, 'delivered');
      assert.equal(d.attempts, 2);
      assert.ok(verifyWebhookSignature(SIGNING_KEY, rx.received[1]!.headers[SIGNATURE_HEADER] as string, rx.received[1]!.headers[TIMESTAMP_HEADER] as string, rx.received[1]!.body));
    } finally {
      await again.close();
    }
  } finally {
    await t.cleanup();
    await rx.close();
  }
});

test('a channel disabled while a delivery waits for its retry: the retry is suppressed, not sent', async () => {
  const rx = await startWebhookReceiver({ statuses: [502] });
  // Backoff ≥ 1 s (equal jitter of 2 s): the channel is disabled long before the retry is due, even on a busy machine.
  const t = setup({ controlPlane: { alerts: { backoffBase: '2s', backoffMax: '2s' } } });
  try {
    const ch = t.alerts.createChannel({ name: 'h', type: 'webhook', minSeverity: 'LOW', webhook: { url: rx.url, signingKey: SIGNING_KEY } }, 'admin');
    t.incidents.ingest(makeEvent());
    await t.incidents.flush();
    const until = Date.now() + 5000;
    while (t.alerts.listDeliveries(ch.id).items[0]?.status !== 'retrying' && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(t.alerts.listDeliveries(ch.id).items[0]!.status, 'retrying');
    t.alerts.updateChannel(ch.id, { enabled: false }, 'admin');
    await t.alerts.idle();
    assert.equal(rx.received.length, 1);
    const d = t.alerts.listDeliveries(ch.id).items[0]!;
    assert.equal(d.status, 'suppressed');
    assert.equal(d.error, 'channel disabled');
  } finally {
    await t.cleanup();
    await rx.close();
  }
});
