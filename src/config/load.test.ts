import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicy, parsePolicy } from './load.ts';
import { ConfigError } from './errors.ts';
import { parseDuration } from './duration.ts';

test('no file gives the documented defaults', () => {
  const p = loadPolicy();
  assert.equal(p.mode, 'enforce');
  assert.equal(p.rateLimits[0]?.id, 'default-ip');
  assert.equal(p.rateLimits[0]?.limit, 100);
  assert.equal(p.rateLimits[0]?.window, 60_000);
  assert.equal(p.body.inspectLimitBytes, 65_536);
  assert.equal(p.clientIp.ipv6PrefixLength, 64);
  assert.equal(p.detection.anomalyThreshold, 5);
});

test('schema errors name the path and reason of each issue', () => {
  const text = 'rateLimits:\n  - {id: a, limit: 1}\n  - {id: b, limit: 2}\n  - {id: c, limit: -1}\ntrustedProxies: [not-an-ip]\nfoo: 1\n';
  try {
    parsePolicy(text, 'p.yaml');
    assert.fail('expected ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'BWK_CONFIG_INVALID');
    const paths = e.issues.map((i) => i.path);
    assert.ok(paths.includes('rateLimits[2].limit'), paths.join());
    assert.ok(paths.includes('trustedProxies[0]'), paths.join());
    assert.match(e.message, /rateLimits\[2\]\.limit: expected positive integer/);
    assert.match(e.message, /Unrecognized key/);
  }
});

test('upstreams: http(s) URLs without credentials; window and rate-limit edge values are refused', () => {
  assert.deepEqual(parsePolicy('upstreams: [http://10.0.0.5:8080, https://api.internal]\n', 'p.yaml').upstreams, ['http://10.0.0.5:8080', 'https://api.internal']);
  for (const [text, path, reason] of [
    ['upstreams: [http://svc:hunter2@10.0.0.5/]\n', 'upstreams[0]', /credentials in an upstream URL/],
    ['upstreams: [ftp://10.0.0.5/]\n', 'upstreams[0]', /.+/],
    ['rateLimits: [{id: a, limit: 1, window: 0s}]\n', 'rateLimits[0].window', /whole seconds, at least 1s/],
    ['rateLimits: [{id: a, limit: 1, window: 500ms}]\n', 'rateLimits[0].window', /whole seconds/],
    ['proxy: {bodyTimeout: 0s}\n', 'proxy.bodyTimeout', /at least 100ms/],
    ['proxy: {headersTimeout: 0s}\n', 'proxy.headersTimeout', /at least 100ms/],
  ] as const) {
    try {
      parsePolicy(text, 'p.yaml');
      assert.fail(`expected ConfigError for ${text}`);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.issues[0]?.path, path);
      assert.match(e.issues[0]!.message, reason);
      assert.ok(!e.message.includes('hunter2'), 'the password is not echoed');
    }
  }
});

test('YAML syntax errors and unreadable files carry their own codes', () => {
  assert.throws(() => parsePolicy('mode: [unclosed\n'), (e: unknown) => e instanceof ConfigError && e.code === 'BWK_CONFIG_PARSE');
  assert.throws(() => loadPolicy('/nonexistent/policy.yaml'), (e: unknown) => e instanceof ConfigError && e.code === 'BWK_CONFIG_READ');
});

test('a policy file is loaded with durations in ms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-cfg-'));
  const f = join(dir, 'policy.yaml');
  writeFileSync(f, 'mode: monitor\nrateLimits:\n  - id: api\n    match: { path: /api/**, methods: [GET] }\n    limit: 5\n    window: 10s\n');
  const p = loadPolicy(f);
  assert.equal(p.mode, 'monitor');
  assert.equal(p.rateLimits.length, 1);
  assert.equal(p.rateLimits[0]?.window, 10_000);
  assert.equal(p.rateLimits[0]?.algorithm, 'gcra');
});

test('durations', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration(30), 30_000);
  assert.ok(Number.isNaN(parseDuration('10 parsecs')));
  assert.ok(Number.isNaN(parseDuration('')));
});
