import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TRANSFORMS, applyChain, base64Decode, cmdLine, compressWhitespace, cssDecode, htmlEntityDecode, jsDecode, lowercase,
  normalizePath, normalizePathWin, percentDecode, removeCommentsChar, removeNulls, removeWhitespace, replaceComments,
  trim, unicodeNormalize, urlDecodeRepeat, urlDecodeUni, utf8ToUnicode,
} from './transforms.ts';
import type { TransformName } from './types.ts';

test('urlDecodeUni: %XX, %uXXXX, + and invalid escapes kept', () => {
  assert.equal(urlDecodeUni('a%20b+c'), 'a b c');
  assert.equal(urlDecodeUni('%u003cscript%u003e'), '<script>');
  assert.equal(urlDecodeUni('100%'), '100%');
  assert.equal(urlDecodeUni('%zz%4'), '%zz%4');
  assert.equal(urlDecodeUni('caf%C3%A9'), 'café');
  // ISO-8859-1 bytes (CSIC) fall back to Latin-1 instead of U+FFFD
  assert.equal(urlDecodeUni('Espa%F1a'), 'España');
  assert.equal(percentDecode('a+b', false), 'a+b');
});

test('overlong UTF-8 is decoded (%c0%ae → .)', () => {
  assert.equal(urlDecodeUni('%c0%ae%c0%ae%c0%af'), '../');
  assert.equal(urlDecodeUni('%e0%80%ae'), '.');
  assert.equal(utf8ToUnicode('\u00c0\u00ae\u00c0\u00ae/'), '../');
  assert.equal(utf8ToUnicode('plain ascii'), 'plain ascii');
});

test('urlDecodeRepeat defeats double and triple encoding, stops at 4 rounds', () => {
  assert.equal(urlDecodeRepeat('%253Cscript%253E'), '<script>');
  assert.equal(urlDecodeRepeat('%25252e%25252e%25252f'), '../');
  assert.equal(urlDecodeRepeat('%2525252525252541'), '%25252541'); // 4 rounds at most
});

test('htmlEntityDecode: named, decimal, hex, with and without ;, leading zeros', () => {
  assert.equal(htmlEntityDecode('&lt;img src=x&gt;'), '<img src=x>');
  assert.equal(htmlEntityDecode('&#60&#x3C&#0000060;&#X3c'), '<<<<');
  assert.equal(htmlEntityDecode('java&#x09;script&colon;alert&lpar;1&rpar;'), 'java\tscript:alert(1)');
  assert.equal(htmlEntityDecode('&ltscript'), '<script');
  assert.equal(htmlEntityDecode('AT&T &unknown;'), 'AT&T &unknown;');
});

test('jsDecode and cssDecode', () => {
  assert.equal(jsDecode('\\x3cscript\\u003e\\u{61}lert\\101'), '<script>alertA');
  assert.equal(jsDecode("\\'\\n"), "'\n");
  assert.equal(cssDecode('expr\\65 ssion(1)'), 'expression(1)');
  assert.equal(cssDecode('java\\73 cript\\:'), 'javascript:');
});

test('unicodeNormalize folds full-width forms (NFKC) and leaves plain text alone', () => {
  assert.equal(unicodeNormalize('\uff1cscript\uff1e'), '<script>');
  assert.equal(unicodeNormalize('\uff33\uff25\uff2c\uff25\uff23\uff34'), 'SELECT');
  const greek = 'καλημέρα κόσμε';
  assert.equal(unicodeNormalize(greek), greek);
});

test('whitespace, nulls, comments', () => {
  assert.equal(compressWhitespace('a\t\u000b\u00a0\u3000b  c'), 'a b c');
  assert.equal(removeWhitespace('s e\tl\u00a0e c t'), 'select');
  assert.equal(removeNulls('sel\0ect'), 'select');
  assert.equal(replaceComments('UN/**/ION SEL/*x*/ECT /* open'), 'UN ION SEL ECT  ');
  assert.equal(removeCommentsChar('UN/**/ION--x#'), 'UNIONx');
});

test('paths and command lines', () => {
  assert.equal(normalizePath('/a/./b/../../../etc//passwd'), '/etc/passwd');
  assert.equal(normalizePathWin('..\\..\\windows\\win.ini'), 'windows/win.ini');
  assert.equal(cmdLine('w"h"o\'a\'m^i ; c\\at   /etc/passwd'), 'whoami cat/etc/passwd');
  assert.equal(lowercase('SeLeCt'), 'select');
  assert.equal(trim('  x '), 'x');
  assert.equal(base64Decode('PHNjcmlwdD4='), '<script>');
});

test('every TransformName is registered, pure and returns the same instance when there is nothing to do', () => {
  const names = Object.keys(TRANSFORMS) as TransformName[];
  assert.ok(names.length >= 19);
  for (const n of names) {
    const f = TRANSFORMS[n];
    if (n === 'base64Decode' || n === 'cmdLine' || n === 'normalizePath' || n === 'normalizePathWin') continue;
    const s = 'plainvalue';
    assert.equal(f(s), s, n);
  }
  assert.equal(applyChain('%253C', ['urlDecodeUni', 'urlDecodeUni']), '<');
});

test('transforms are linear on 64 KiB hostile input', () => {
  const inputs = ['%'.repeat(65536), '%u'.repeat(32768), '&#'.repeat(32768), '&'.repeat(65536), '\\'.repeat(65536), '/*'.repeat(32768), '\u00c0'.repeat(65536), '../'.repeat(21845), '%25'.repeat(21845)];
  const t0 = performance.now();
  for (const s of inputs) for (const f of Object.values(TRANSFORMS)) f(s);
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `took ${ms} ms`);
});
