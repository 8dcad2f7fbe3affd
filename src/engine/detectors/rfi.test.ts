import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './rfi.ts';
import { matchPart, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

/** Ids of rules (paranoia ≤ pl) that match `value` in parameter `name`. */
function ids(value: string, name: string, pl = 1): string[] {
  return rules.filter((r) => r.paranoia <= pl && matchPart(r, value, 'query', name) !== null).map((r) => r.id);
}

test('detects remote inclusion in include-style parameters and truncation tricks', () => {
  assert.deepEqual(ids('http://evil.example/shell.txt', 'page'), ['931100']);
  assert.deepEqual(ids('//evil.example/x', 'include'), ['931100']);
  assert.deepEqual(ids('\\\\evil.example\\share\\x.php', 'file'), ['931100']);
  assert.deepEqual(ids('ftp://evil.example/x', 'template'), ['931100']);
  assert.ok(ids('http://evil.example/shell.txt?', 'q').includes('931110'));
  assert.ok(ids('http://evil.example/shell.txt%00', 'q').includes('931110'));
  assert.ok(matchPart(rules[0]!, 'https://evil.example/x', 'json', 'config.template') !== null);
});

test('URL forms a WHATWG parser or Windows resolves to a remote host', () => {
  const cases: [string, string][] = [
    ['http:\\\\evil.example\\x.txt', 'page'],
    ['https:/\\/evil.example/x', 'page'],
    ['http:/evil.example/x', 'page'],
    ['http:evil.example/x.txt', 'page'],
    ['HTTP://EVIL.EXAMPLE/SHELL.TXT', 'page'],
    ['\\\\\\\\evil.example\\\\share\\\\x.txt', 'file'],
    ['///evil.example/x.txt', 'page'],
    ['  http://evil.example/x', 'include'],
  ];
  for (const [v, n] of cases) assert.deepEqual(ids(v, n), ['931100'], `missed ${n}=${v}`);
});

test('compound and locale parameter names are include-style', () => {
  for (const n of ['include_path', 'templatePath', 'page-template', 'layoutFile', 'lang', 'language', 'locale', 'theme', 'skin', 'PAGE']) {
    assert.ok(ids('http://evil.example/shell.txt', n).includes('931100'), `missed ${n}`);
  }
  for (const n of ['file_url', 'avatar_url', 'homepage', 'website', 'profilePicture', 'webhook_url', 'pathname_hint_url']) {
    assert.deepEqual(ids('https://cdn.example.com/a.png', n), [], `false positive on ${n}`);
  }
});

test('URLs with IP hosts (PL1) and script URLs (PL2)', () => {
  assert.ok(ids('http://203.0.113.7/a', 'callback').includes('931130'));
  assert.ok(ids('https://evil.example/payload.php', 'avatar', 2).includes('931120'));
  assert.deepEqual(ids('https://evil.example/payload.php', 'avatar'), []);
});

test('does not flag URLs in ordinary API fields at paranoia 1', () => {
  const cases: [string, string][] = [
    ['https://hooks.example.com/webhook', 'url'],
    ['https://app.example.com/callback', 'redirect_uri'],
    ['https://cdn.example.com/avatar.png', 'avatar'],
    ['https://example.com/?', 'homepage'],
    ['https://example.com/search?q=x', 'returnUrl'],
    ['page two', 'page'],
    ['3', 'page'],
    ['en-US', 'lang'],
    ['invoice-v2', 'template'],
    ['report.pdf', 'file'],
    ['docs/2024/01/report.md', 'path'],
    ['http:80', 'page'],
    ['http:', 'page'],
    ['/', 'path'],
    ['//', 'path'],
  ];
  for (const [v, n] of cases) assert.deepEqual(ids(v, n), [], `false positive on ${n}=${v}`);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = [
    'http://' + '/'.repeat(65530), 'http://' + 'a'.repeat(65530) + '?', '//' + '\u0000'.repeat(65530), 'ftp://' + '.php'.repeat(16000),
    'http:' + '\\'.repeat(65530), '\\/'.repeat(21845) + 'x', 'http:' + 'a'.repeat(65530),
  ];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['query', 'json']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
