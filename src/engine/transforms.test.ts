import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TRANSFORMS, applyChain, base64Decode, cmdLine, decodeBytesLenient, compressWhitespace, cssDecode, htmlEntityDecode, jsDecode, lowercase,
  normalizePath, normalizePathWin, percentDecode, removeCommentsChar, removeNulls, removeWhitespace, replaceComments,
  trim, unicodeNormalize, urlDecodeRepeat, urlDecodeUni, utf8ToUnicode, base64DecodeIfPair,
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

test('base64Decode and Buffer decoding equal the per-byte lenient decoder (random bytes, overlong and 4-byte forms, large values)', () => {
  let x = 12345;
  const r = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const reference = (s: string) => [...Buffer.from(s, 'base64')];
  for (let k = 0; k < 3000; k++) {
    const bytes = Buffer.alloc(Math.floor(r() * (k % 500 === 0 ? 100_000 : 200)));
    for (let i = 0; i < bytes.length; i++) bytes[i] = r() < 0.2 ? 0xc0 + Math.floor(r() * 0x35) : r() < 0.5 ? 0x80 + Math.floor(r() * 64) : Math.floor(r() * 256);
    for (const s of [bytes.toString('base64'), bytes.toString('base64url'), ` ${bytes.toString('base64').slice(0, 40)}=%é{x} `]) {
      const ref = reference(s);
      assert.equal(base64Decode(s), decodeBytesLenient(ref, ref.length), s.slice(0, 60));
    }
    const n = Math.floor(r() * (bytes.length + 1));
    assert.equal(decodeBytesLenient(bytes, n), decodeBytesLenient([...bytes], n));
  }
});

/** The per-character percent-decoder percentDecode replaced (reference for the run-copying version). */
function percentDecodeReference(s: string, plus: boolean): string {
  const hex = (c: number) => (c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1);
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length) out += decodeBytesLenient(bytes, bytes.length);
    bytes.length = 0;
  };
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%') {
      if (i + 2 < s.length && hex(s.charCodeAt(i + 1)) >= 0 && hex(s.charCodeAt(i + 2)) >= 0) {
        bytes.push(hex(s.charCodeAt(i + 1)) * 16 + hex(s.charCodeAt(i + 2)));
        i += 3;
        continue;
      }
      if (i + 5 < s.length && (s[i + 1] === 'u' || s[i + 1] === 'U') && [2, 3, 4, 5].every((k) => hex(s.charCodeAt(i + k)) >= 0)) {
        flush();
        out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
    }
    flush();
    out += plus && s[i] === '+' ? ' ' : s[i];
    i++;
  }
  flush();
  return out;
}

test('percentDecode equals the per-character decoder on random escapes, runs, + and invalid forms', () => {
  let x = 4242;
  const r = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pieces = ['%', '%2', '%2C', '%c3%a9', '%e2%82%ac', '%f0%9f%98%80', '%C0%AE', '%u003c', '%U00e9', '%uZZ12', '%zz', '+', 'a', 'bc', ' ', 'é', '%%32%66', '%ff', '%80', '%00'];
  for (let k = 0; k < 20000; k++) {
    let s = '';
    const len = Math.floor(r() * 14);
    for (let i = 0; i < len; i++) s += pieces[Math.floor(r() * pieces.length)];
    for (const plus of [true, false]) assert.equal(percentDecode(s, plus), percentDecodeReference(s, plus), `${JSON.stringify(s)} plus=${plus}`);
  }
});

test('base64DecodeIfPair is base64Decode when the result has `:` right before `"`, else null (random bytes, overlong 2-, 3- and 4-byte forms)', () => {
  let seed = 5;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  // bytes that spell `:` and `"` directly, overlong (C0 BA, E0 80 A2), or nearly (stray continuations, cut-off leads)
  const pieces = [[0x3a], [0x22], [0xc0, 0xba], [0xe0, 0x80, 0xa2], [0xba], [0xa2], [0xc0], [0x4f], [0x41], [0xe9], [0x80], [0xff], [0x7b], [0xf0, 0x9f, 0x98, 0x80], [0x3a, 0x22], [0xc0, 0xba, 0x22], [0x3a, 0xe0, 0x80, 0xa2], [0xba, 0xa2], [0xf0, 0x80, 0x80, 0xba], [0xf0, 0x80, 0x80, 0xa2], [0xc1, 0xba]];
  let pair = 0;
  let none = 0;
  for (let k = 0; k < 40000; k++) {
    const bytes: number[] = [];
    for (let j = rnd(12); j > 0; j--) bytes.push(...pieces[rnd(pieces.length)]!);
    let s = Buffer.from(bytes).toString(rnd(2) ? 'base64' : 'base64url');
    if (rnd(4) === 0) s = s.slice(0, rnd(s.length + 1)) + '!' + s.slice(rnd(s.length + 1)); // skipped or cut units
    const full = base64Decode(s);
    const got = base64DecodeIfPair(s, 0x3a, 0x22);
    if (full.includes(':"')) {
      pair++;
      assert.equal(got, full, JSON.stringify(s));
    } else {
      none++;
      assert.equal(got, null, JSON.stringify(s));
    }
  }
  assert.ok(pair > 1000 && none > 1000, `${pair} / ${none}`);
  // long values take the unpooled path
  const long = Buffer.from('O:8:"stdClass":0:{}'.repeat(10000)).toString('base64');
  assert.equal(base64DecodeIfPair(long, 0x3a, 0x22), base64Decode(long));
  assert.equal(base64DecodeIfPair(Buffer.from('a:b "c"').toString('base64'), 0x3a, 0x22), null);
});
