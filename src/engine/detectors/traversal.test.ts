import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, findDotDot, decodeBase64Printable, collapseSeparators, homeDotEntry, dataUriCode } from './traversal.ts';
import { canonPath } from './lib/text.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects traversal in every encoding', () => {
  const attacks = [
    '../../../etc/passwd',
    '..\\..\\..\\windows\\win.ini',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '%252e%252e%252fsecret.txt',
    '..%c0%af..%c0%afapp/config',
    '..%u2216..%u2216data.txt',
    '..%u2215..%u2215data.txt',
    '....//....//some/file',
    '%uff0e%uff0e/%uff0e%uff0e/x',
    '..%c1%9c..%c1%9cfoo',
    '..0x2f..0x2fsecret',
    '..;/admin',
    '/static/%2e%2e/%2e%2e/app.js',
    '%e0%80%ae%e0%80%ae/x.txt',
    '..%bg%qfsecret',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('detects sensitive files, absolute paths, NUL truncation and wrappers', () => {
  const attacks = [
    '/etc/shadow',
    '/proc/self/environ',
    'c:\\windows\\win.ini',
    'C:/boot.ini',
    'D:\\inetpub\\wwwroot\\global.asa',
    '/var/lib/mysql/mysql.sock',
    '/opt/app/.env',
    '/srv/logs/access.log',
    '/core/config.php',
    '/app/database.yml',
    'file:///etc/issue',
    'php://filter/convert.base64-encode/resource=index.php',
    'expect://id',
    'zip://uploads/a.zip#shell.php',
    'phar://uploads/x.phar/test',
    'data://text/plain;base64,PD9waHAgcGhwaW5mbygpOyA/Pg==',
    'include.php%00.html',
    '../config.inc.php%00',
    'Li4vLi4vc2VjcmV0cy50eHQ=', // base64 of ../../secrets.txt
    '%SYSTEMROOT%\\repair\\SAM',
    '/private/etc/master.passwd',
    'WEB-INF/web.xml',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
  assert.ok(matchAll(rules, '/static/../../etc/hosts', 'path').length > 0);
  for (const p of ['/static/etc/hostname.le0', '/files/c:\\apache\\logs\\access.log', '/download/var/log/syslog', '/static/.bashrc', '/x/usr/local/etc/php.ini']) {
    assert.ok(matchAll(rules, p, 'path').length > 0, `missed path ${p}`);
  }
  assert.ok(matchAll(rules, 'Li4vZXRjL3Bhc3N3ZA==', 'path_segment').length > 0);
});

test('paths as resolvers read them: empty and dot segments, servlet path parameters, home dot entries', () => {
  const attacks = [
    '/etc//passwd',
    '/./etc/./shadow',
    '//etc/passwd',
    '..;jsessionid=x/..;/secret',
    '/..;a=b',
    '\u2025/\u2025/secret', // TWO DOT LEADER, `..` under NFKC
    '/home/alice/.aws/credentials',
    '/home/alice/.kube/config',
    '/home/bob/.ssh/known_hosts',
    '/Users/bob/.zsh_history',
    'file:///home/bob/.netrc',
    '/run/secrets/kubernetes.io/serviceaccount/token',
    '.docker/config.json',
    'data:text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg==',
    'data:,<?= `id` ?>',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
  for (const p of ['/static//etc//passwd', '/static/.//./etc/./passwd', '/files/..;x=1/..;/web-inf/web.xml']) {
    assert.ok(matchAll(rules, p, 'path').length > 0, `missed path ${p}`);
  }
  const multipart = ['../../../var/www/shell.php', '..\\..\\x.aspx', '....//....//x.php'];
  for (const f of multipart) assert.ok(matchAll(rules, f, 'filename').length > 0, `missed filename ${f}`);
  assert.equal(collapseSeparators('/a//b/./c///./d'), '/a/b/c/d');
  assert.equal(collapseSeparators('https://x.example/a'), 'https:/x.example/a');
  assert.equal(homeDotEntry('/home/bob/.bashrc'), true);
  assert.equal(homeDotEntry('https://example.com/home/bob/.bashrc'), false);
  assert.equal(dataUriCode('data:text/xml,<?xml version="1.0"?><a/>'), null);
});

test('does not flag benign values', () => {
  const benign = [
    'https://example.com/...',
    'Loading... please wait',
    'see section 1.2.3 for details',
    'v1.0..v2.0 changelog',
    '/api/v1/users/42',
    'report-2024.pdf',
    'images/photo.jpg',
    'Etc. and so on',
    'The file: report.txt is ready',
    'https://cdn.example.com/assets/app.js',
    'SGVsbG8gd29ybGQh', // base64 "Hello world!"
    '/.well-known/openid-configuration',
    'data:image/png;base64,iVBORw0KGgo=',
    '/index.php',
    '/docs/openapi.yaml',
    '/account/settings',
    '...',
    'a..b/c',
    'wait.. what?',
    'hmm... ok/fine',
    '2024/01/02',
    'docs/readme.md',
    './images/a.png',
    'report.pdf',
    'my.file.name.txt',
    'WIN-10\\PRO',
    'XJ4-00001',
    'https://example.com//double//slash',
    'https://example.com/home/bob/.profile-pic.png',
    '/home/bob/projects/app',
    'Pages 1..10',
    'data:text/xml,<?xml version="1.0"?><a/>',
    'data:text/plain,hello',
    '\u2025 and so on',
    'a;b/c',
    '.gitignore',
    'C++ notes.txt',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  for (const p of ['/api/v1/files/42/content', '/.well-known/openid-configuration', '/v1/etcetera/x', '/api/private/keys', '/varnish/stats', '/api/logs/2024', '/opt-in/confirm']) {
    assert.deepEqual(matchAll(rules, p, 'path'), [], `false positive on path ${p}`);
  }
});

test('canonPath folds encodings; findDotDot needs a boundary', () => {
  assert.equal(canonPath('\u00c0\u00ae\u00c0\u00ae\u00c0\u00af'), '../');
  assert.equal(canonPath('..%c1%1c'), '../');
  assert.equal(canonPath('A\\B'), 'a/b');
  assert.equal(findDotDot('word../x'), -1);
  assert.equal(findDotDot('x=../y'), 2);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = [
    '.'.repeat(65536), '../'.repeat(21845), '%c0'.repeat(21845), '/./'.repeat(21845), 'A'.repeat(65536), '%%32'.repeat(16384), 'etc/'.repeat(16384),
    '/'.repeat(65536), '..;'.repeat(21845), '/..;' + 'a'.repeat(65532), '\u2025'.repeat(65536), 'data:,' + '<?'.repeat(32765),
    'data:;base64,' + 'PD9'.repeat(21840), '/home/' + 'a'.repeat(65530), '/home/a/' + '.'.repeat(65528), '/./.'.repeat(16384),
  ];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 1500, `took ${ms} ms`);
  }
});

test('canonPath: the printable-ASCII fast path equals the general path (random values), linear on 64 KiB', () => {
  const alphabet = ['a', 'B', 'z', '0', 'x', 'X', '.', '/', '?', ' ', '%', '2', 'e', 'F', '\\', '~', '"', ';'];
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let k = 0; k < 20000; k++) {
    let v = '';
    for (let j = rnd(16); j > 0; j--) v += alphabet[rnd(alphabet.length)];
    // a leading NUL keeps the value off the fast path and is deleted by the general one
    assert.equal(canonPath(v), canonPath('\u0000' + v), JSON.stringify(v));
  }
  for (const unit of ['0', '0X', 'Aa', '0x2', '%']) {
    const v = unit.repeat(65536 / unit.length);
    const t0 = performance.now();
    canonPath(v);
    assert.ok(performance.now() - t0 < 200, unit);
  }
});

test('canonPath: ASCII with controls, DEL and backslashes (the native path) equals the per-unit loops (random values)', () => {
  const alphabet = ['a', 'B', 'z', '0', 'x', 'X', '.', '/', ' ', '%', '2', 'e', 'F', '\\', '~', ';', '\u0000', '\t', '\n', '\r', '\u001f', '\u007f'];
  let seed = 29;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  for (let k = 0; k < 20000; k++) {
    let v = '';
    for (let j = rnd(24); j > 0; j--) v += alphabet[rnd(alphabet.length)];
    // U+0100 sends the value through both loops, which leave it as it is (not a UTF-8 lead, not a look-alike)
    assert.equal(canonPath(v), canonPath('\u0100' + v).slice(1), JSON.stringify(v));
  }
  assert.equal(canonPath('C:\\Windows\r\n\tSystem32\u007f'), 'c:/windowssystem32');
});

test('decodeBase64Printable agrees with a plain decode-and-check on random and real base64', () => {
  const reference = (s: string): string | null => {
    if (s.length < 8 || s.length % 4 !== 0 || s.length > 16384 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
    const out = Buffer.from(s, 'base64').toString('latin1');
    return /^[\x20-\x7e]*$/.test(out) ? out : null;
  };
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let seed = 12345;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const inputs: string[] = ['Li4vZXRjL3Bhc3N3ZA==', 'cHJvZHVjdHM=', 'products', 'abcdefgh', 'Li4vLi4v', 'aGVsbG8gd29ybGQ='];
  for (let i = 0; i < 20_000; i++) {
    const len = 8 + 4 * rnd(6);
    let s = '';
    for (let k = 0; k < len; k++) s += alphabet[rnd(64)];
    inputs.push(s);
    // base64 of printable text, with and without padding
    let t = '';
    for (let k = 0, m = 6 + rnd(20); k < m; k++) t += String.fromCharCode(0x20 + rnd(95));
    inputs.push(Buffer.from(t, 'latin1').toString('base64'));
  }
  let decoded = 0;
  for (const s of inputs) {
    const want = reference(s);
    assert.equal(decodeBase64Printable(s), want, s);
    if (want !== null) decoded++;
  }
  assert.ok(decoded > 10_000, `only ${decoded} inputs decoded`);
});
