import { test } from 'node:test';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { DEFAULT_HEADERS, DEFAULT_LIMITS, MAX_EMBEDDED_CHARS, base64Text, bodyParts, charsetClass, mediaParam, requestParts, xmlUnescape } from './targets.ts';
import type { Part } from './types.ts';

function ctx(target: string, headers: Record<string, string> = {}, body?: string | Buffer, truncated = false): RequestContext {
  const c = new RequestContext({ id: 't', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: body ? 'POST' : 'GET', target, headers });
  if (body !== undefined) c.body = { bytes: Buffer.isBuffer(body) ? body : Buffer.from(body), truncated };
  return c;
}

const pick = (parts: readonly Part[], kind: string) => parts.filter((p) => p.loc.kind === kind).map((p) => [p.loc.name, p.value]);

test('query: names and values, + as space, one decoding pass, invalid escapes kept, repeated and bracketed names', () => {
  const { parts } = requestParts(ctx('/s?q=a+b%2Bc&q=2&a[b]=%27x&user[$ne]=1&bad=%zz%&flag&=v'), DEFAULT_HEADERS);
  assert.deepEqual(pick(parts, 'query'), [['q', 'a b+c'], ['q', '2'], ['a[b]', "'x"], ['user[$ne]', '1'], ['bad', '%zz%'], ['', 'v'], ['q', 'a b+c,2']], 'a repeated name also as its values joined by ","');
  assert.deepEqual(pick(parts, 'query_name').map((x) => x[1]), ['q', 'q', 'a[b]', 'user[$ne]', 'bad', 'flag', '']);
  // double encoding survives one pass (the rules decide how far to decode)
  const two = requestParts(ctx('/s?x=%253Cscript'), DEFAULT_HEADERS).parts;
  assert.deepEqual(pick(two, 'query'), [['x', '%3Cscript']]);
});

test('path and segments are decoded once', () => {
  const { parts } = requestParts(ctx('/static/..%2f..%2fetc/passwd'), DEFAULT_HEADERS);
  assert.deepEqual(pick(parts, 'path'), [[undefined, '/static/../../etc/passwd']]);
  assert.deepEqual(pick(parts, 'path_segment').map((x) => x[1]), ['static', '../../etc', 'passwd']);
});

test('cookies and selected headers', () => {
  const { parts } = requestParts(ctx('/', { cookie: 'sid=abc%27; theme=dark', 'user-agent': 'curl/8', 'x-api-version': '${jndi:x}', referer: 'https://a/' }), [...DEFAULT_HEADERS, 'x-api-version']);
  assert.deepEqual(pick(parts, 'cookie'), [['sid', "abc'"], ['theme', 'dark']]);
  assert.deepEqual(pick(parts, 'header'), [['user-agent', 'curl/8'], ['referer', 'https://a/'], ['x-api-version', '${jndi:x}']]);
});

test('JSON: every key and string value with its key path; duplicates kept; numbers skipped', () => {
  const { parts, info } = bodyParts(ctx('/', { 'content-type': 'application/json' }, '{"user":{"name":"O\'Brien","tags":["a","b\\u0027"]},"n":1,"user":{"name":"dup"}}'));
  assert.equal(info.kind, 'json');
  assert.equal(info.parseError, undefined);
  assert.deepEqual(pick(parts, 'json'), [['user.name', "O'Brien"], ['user.tags[0]', 'a'], ['user.tags[1]', "b'"], ['user.name', 'dup']]);
  assert.deepEqual(pick(parts, 'json_key').map((x) => x[1]), ['user', 'name', 'tags', 'n', 'user', 'name']);
});

test('JSON parse failures are recorded (not at a truncation cut) and the body is inspected whole', () => {
  const bad = bodyParts(ctx('/', { 'content-type': 'application/json' }, '{"a": "x" "b"}'));
  assert.match(bad.info.parseError ?? '', /^json: /);
  assert.equal(pick(bad.parts, 'body').length, 1);
  const cut = bodyParts(ctx('/', { 'content-type': 'application/json' }, '{"a": "xxxx', true));
  assert.equal(cut.info.parseError, undefined);
  assert.deepEqual(pick(cut.parts, 'json'), [['a', 'xxxx']]);
});

test('JSON depth is bounded in paths; deep values are still inspected', () => {
  const deep = '['.repeat(100) + '"deep"' + ']'.repeat(100);
  const { parts, info } = bodyParts(ctx('/', { 'content-type': 'application/json' }, deep));
  assert.equal(info.parseError, undefined);
  assert.equal(info.limited, true);
  assert.deepEqual(pick(parts, 'json').map((x) => x[1]), ['deep']);
});

test('urlencoded form body', () => {
  const { parts, info } = bodyParts(ctx('/', { 'content-type': 'application/x-www-form-urlencoded' }, 'user=bob&pw=x%27+or+1%3D1'));
  assert.equal(info.kind, 'form');
  assert.deepEqual(pick(parts, 'form'), [['user', 'bob'], ['pw', "x' or 1=1"]]);
});

test('multipart: field names, values and filenames; binary file content skipped', () => {
  const b = 'XyZ';
  const body = [`--${b}`, 'Content-Disposition: form-data; name="title"', '', 'hello <b>', `--${b}`, 'Content-Disposition: form-data; name="f"; filename="../../x.php"', 'Content-Type: application/octet-stream', '', '\u0000\u0001binary', `--${b}--`, ''].join('\r\n');
  const { parts, info } = bodyParts(ctx('/', { 'content-type': `multipart/form-data; boundary="${b}"` }, body));
  assert.equal(info.kind, 'multipart');
  assert.equal(info.parseError, undefined);
  assert.deepEqual(pick(parts, 'multipart'), [['title', 'hello <b>']]);
  assert.deepEqual(pick(parts, 'filename'), [['f', '../../x.php']]);
  assert.deepEqual(pick(parts, 'multipart_name').map((x) => x[1]), ['title', 'f']);
  assert.equal(mediaParam('multipart/form-data; boundary=abc; charset=x', 'boundary'), 'abc');
});

test('XML: text, attributes, DOCTYPE and external entities noticed', () => {
  const xml = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r a="1"><n>&x;</n><![CDATA[<b>]]></r>';
  const { parts, info } = bodyParts(ctx('/', { 'content-type': 'application/xml' }, xml));
  assert.equal(info.kind, 'xml');
  assert.equal(info.xmlDoctype, true);
  assert.equal(info.xmlEntities, 1);
  assert.equal(info.xmlExternalEntity, true);
  assert.deepEqual(pick(parts, 'xml'), [['r@a', '1'], ['n', '&x;'], ['r', '<b>']]);
});

test('part count is bounded; past the bound the whole query, cookie or body is inspected once as one value', () => {
  const q = Array.from({ length: 5000 }, (_, i) => `a${i}=1`).join('&') + '&z=last%20one';
  const { parts, limited } = requestParts(ctx('/?' + q, { 'user-agent': 'ua' }), DEFAULT_HEADERS, { ...DEFAULT_LIMITS, maxParts: 100 });
  assert.equal(limited, true);
  assert.equal(parts.filter((p) => p.loc.kind === 'query' || p.loc.kind === 'query_name' || p.loc.kind.startsWith('path')).length, 101);
  assert.ok(parts.find((p) => p.loc.kind === 'query' && p.loc.name === '*')!.value.endsWith('z=last one'), 'the rest is seen');
  assert.deepEqual(pick(parts, 'header'), [['user-agent', 'ua']], 'headers are inspected whatever the parameter count');
  const body = JSON.stringify(Array.from({ length: 2000 }, (_, i) => `v${i}`).concat(["1' or '1'='1"]));
  const b = bodyParts(ctx('/', { 'content-type': 'application/json' }, body));
  assert.equal(b.info.limited, true);
  assert.equal(b.parts.at(-1)!.loc.kind, 'body');
  assert.ok(b.parts.at(-1)!.value.includes("1' or '1'='1"));
});

test('extraction is linear on 64 KiB hostile bodies and targets', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['/?' + 'a['.repeat(32768), {}, ''],
    ['/' + '/'.repeat(65536), {}, ''],
    ['/', { 'content-type': 'application/json' }, '['.repeat(65536)],
    ['/', { 'content-type': 'application/json' }, '{"a":'.repeat(13000)],
    ['/', { 'content-type': 'application/json' }, '"' + '\\u'.repeat(32000)],
    ['/', { 'content-type': 'multipart/form-data; boundary=b' }, '--b\r\n\r\n'.repeat(8000)],
    ['/', { 'content-type': 'application/xml' }, '<a b="'.repeat(10000)],
    ['/', { 'content-type': 'application/xml' }, '<!DOCTYPE ['.repeat(6000)],
    ['/', { 'content-type': 'application/x-www-form-urlencoded' }, '&='.repeat(32768)],
    ['/', { cookie: ';'.repeat(65536) }, ''],
  ];
  for (const [t, h, b] of cases) {
    const t0 = performance.now();
    const c = ctx(t, h, b || undefined);
    requestParts(c, DEFAULT_HEADERS);
    if (b) bodyParts(c);
    const ms = performance.now() - t0;
    assert.ok(ms < 1500, `${t.slice(0, 10)} ${JSON.stringify(h)} ${b.slice(0, 10)}: ${ms} ms`);
  }
});

test('multipart: header sections end at the first empty line before the next delimiter (linear, CRLF and LF)', () => {
  const ct = { 'content-type': 'multipart/form-data; boundary=b' };
  const mixed = '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b\nContent-Disposition: form-data; name="c"\n\ny\r\n--b\r\n\r\nz\r\n--b--\r\n';
  assert.deepEqual(pick(bodyParts(ctx('/', ct, mixed)).parts, 'multipart'), [['a', 'x'], ['c', 'y'], [undefined, 'z']]);
  // many empty CRLF parts: the search for a bare-LF blank line used to run to the end of the body for each part
  const time = (n: number): number => {
    const body = '--b\r\nX: y\r\n\r\n\r\n'.repeat(n) + '--b--';
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      bodyParts(ctx('/', ct, body));
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  // extraction stops at DEFAULT_LIMITS.maxParts (1,000) parts either way: with the per-part scan bounded, a
  // 4× longer body costs about the same; scanning the rest of the body per part cost about 4× (and 200 ms)
  const small = time(1500);
  const big = time(6000);
  assert.ok(big < small * 2.5 + 2, `4× the body: ${small.toFixed(2)} ms -> ${big.toFixed(2)} ms`);
});

test('Content-Encoding: gzip, deflate (zlib or raw), br bodies are inspected decoded; a cut prefix as far as it goes; bombs stop at 1 MiB', () => {
  const form = 'id=1%27+or+%271%27%3D%271&x=y';
  const ct = { 'content-type': 'application/x-www-form-urlencoded' };
  for (const [enc, bytes] of [
    ['gzip', zlib.gzipSync(form)],
    ['deflate', zlib.deflateSync(form)],
    ['deflate', zlib.deflateRawSync(form)],
    ['br', zlib.brotliCompressSync(form)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(form))],
  ] as const) {
    const { parts, info } = bodyParts(ctx('/', { ...ct, 'content-encoding': enc }, bytes));
    assert.equal(info.parseError, undefined, enc);
    assert.deepEqual(pick(parts, 'form'), [['id', "1' or '1'='1"], ['x', 'y']], enc);
  }
  const big = zlib.gzipSync(JSON.stringify({ q: "1' or '1'='1", pad: 'x'.repeat(200_000) }));
  const cut = bodyParts(ctx('/', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, big.subarray(0, 200), true));
  assert.deepEqual(pick(cut.parts, 'json')[0], ['q', "1' or '1'='1"], 'a truncated prefix decodes as far as it goes');
  const bomb = bodyParts(ctx('/', { ...ct, 'content-encoding': 'gzip' }, zlib.gzipSync(Buffer.alloc(4 << 20, 0x61))));
  assert.match(String(bomb.info.parseError), /over 1048576 bytes/);
  assert.match(String(bodyParts(ctx('/', { ...ct, 'content-encoding': 'gzip' }, Buffer.from('not gzip'))).info.parseError), /corrupt/);
  assert.match(String(bodyParts(ctx('/', { ...ct, 'content-encoding': 'compress' }, Buffer.from('x'))).info.parseError), /not supported/);
});

test('JSON in an unexpected media type is inspected as JSON; a binary body starting with a brace is not an error', () => {
  const sqli = '{"id":"1\' or \'1\'=\'1"}';
  for (const type of ['application/octet-stream', 'application/x-json', 'application/vnd.custom']) {
    const { parts, info } = bodyParts(ctx('/', { 'content-type': type }, sqli));
    assert.equal(info.kind, 'json', type);
    assert.deepEqual(pick(parts, 'json'), [['id', "1' or '1'='1"]], type);
  }
  const bin = bodyParts(ctx('/', { 'content-type': 'application/octet-stream' }, Buffer.from([0x7b, 0x22, 0x00, 0xff, 0xfe, 0x01])));
  assert.equal(bin.info.parseError, undefined);
  assert.equal(bin.info.kind, 'binary');
});

test('a body declared in a charset that is not ASCII-compatible (EBCDIC, UTF-16) is a parse error, inspected as text', () => {
  for (const cs of ['ibm037', 'IBM500', 'cp1026', 'utf-16le', 'UTF-32', '"utf-16"']) {
    const { info } = bodyParts(ctx('/', { 'content-type': `application/x-www-form-urlencoded; charset=${cs}` }, 'a=b'));
    assert.match(String(info.parseError), /not ASCII-compatible/, cs);
  }
  for (const cs of ['utf-8', 'iso-8859-1', 'windows-1252', 'us-ascii']) {
    assert.equal(bodyParts(ctx('/', { 'content-type': `application/x-www-form-urlencoded; charset=${cs}` }, 'a=b')).info.parseError, undefined, cs);
  }
});

const S = "1' or '1'='1";
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('charset labels: EBCDIC and UTF-7 spellings are `other`, UTF-16/32 named, the rest ASCII-compatible', () => {
  for (const c of ['ibm037', 'IBM-037', 'ibm_500', 'csIBM037', 'cp1047', 'IBM01140', '037', 'x-EBCDIC-International', 'ebcdic-cp-us', 'utf-7', 'UTF7', 'x-utf-7', 'csUnicode11UTF7']) {
    assert.equal(charsetClass(c), 'other', c);
  }
  assert.equal(charsetClass('"UTF-16LE"'), 'utf-16le');
  assert.equal(charsetClass('utf-16'), 'utf-16');
  assert.equal(charsetClass('UTF-32BE'), 'utf-32be');
  for (const c of ['utf-8', 'UTF8', 'iso-8859-1', 'windows-1252', 'cp1252', 'shift_jis', 'gb18030', 'us-ascii', 'koi8-r']) assert.equal(charsetClass(c), 'ascii', c);
});

test('UTF-16/32 JSON and XML are decoded (declared, BOM or NUL pattern); a UTF-16 form stays an anomaly; a UTF-8 BOM is skipped', () => {
  const doc = JSON.stringify({ q: S });
  const u32le = Buffer.alloc(doc.length * 4);
  for (let i = 0; i < doc.length; i++) u32le.writeUInt32LE(doc.charCodeAt(i), i * 4);
  const bodies: [string, Buffer][] = [
    ['application/json', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(doc, 'utf16le')])],
    ['application/json', Buffer.from(doc, 'utf16le')],
    ['application/json', Buffer.from(doc, 'utf16le').swap16()],
    ['application/json; charset=utf-16le', Buffer.from(doc, 'utf16le')],
    ['application/json', u32le],
    ['', Buffer.from(doc, 'utf16le')],
    ['application/json', Buffer.from('\ufeff' + doc)],
    ['', Buffer.from('\ufeff' + doc)],
  ];
  for (const [ct, body] of bodies) {
    const { parts, info } = bodyParts(ctx('/', ct ? { 'content-type': ct } : {}, body));
    assert.equal(info.parseError, undefined, ct);
    assert.deepEqual(pick(parts, 'json'), [['q', S]], ct);
  }
  const xml = bodyParts(ctx('/', { 'content-type': 'application/xml' }, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('<a>x&apos;</a>', 'utf16le').swap16()])));
  assert.deepEqual(pick(xml.parts, 'xml'), [['a', "x'"]]);
  const form = bodyParts(ctx('/', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-16' }, Buffer.from('q=1', 'utf16le')));
  assert.match(String(form.info.parseError), /not ASCII-compatible/);
});

test('XML text and attributes resolve predefined and character references; declared entities are kept', () => {
  assert.equal(xmlUnescape('1&apos; or &#39;1&#x27;=&quot;&lt;b&gt;&amp;amp;&foo;&#xZZ;&'), `1' or '1'="<b>&amp;&foo;&#xZZ;&`);
  const { parts } = bodyParts(ctx('/', { 'content-type': 'text/xml' }, '<e:Envelope><e:Body><id k="&lt;s&gt;">1&apos;&#32;or</id></e:Body></e:Envelope>'));
  assert.deepEqual(pick(parts, 'xml'), [['id@k', '<s>'], ['id', "1' or"]]);
});

test('JSON or XML under text/plain, a form or XML media type is also read as such (no parse-error finding)', () => {
  const doc = JSON.stringify({ q: S }).replace(/'/g, '\\u0027');
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const { parts, info } = bodyParts(ctx('/', { 'content-type': ct }, doc));
    assert.equal(info.parseError, undefined, ct);
    assert.deepEqual(pick(parts, 'json'), [['q', S]], ct);
  }
  const x = bodyParts(ctx('/', { 'content-type': 'text/plain' }, '<a><q>1&apos;</q></a>'));
  assert.deepEqual(pick(x.parts, 'xml'), [['q', "1'"]]);
  // prose with braces is not JSON
  assert.deepEqual(pick(bodyParts(ctx('/', { 'content-type': 'text/plain' }, '{ not json')).parts, 'json'), []);
});

test('multipart: RFC 5987 name*/filename*, quoted-printable content, JSON parts read as JSON, an EBCDIC part charset is an anomaly', () => {
  const mp = (body: string) => bodyParts(ctx('/', { 'content-type': 'multipart/form-data; boundary=B' }, body));
  const a = mp(`--B\r\nContent-Disposition: form-data; name="f"; filename="a.png"; filename*=UTF-8''${encodeURIComponent(S)}\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B\r\nContent-Disposition: form-data; name*=UTF-8''n%27x\r\n\r\nv\r\n--B--\r\n`);
  assert.deepEqual(pick(a.parts, 'filename'), [['f', 'a.png'], ['f', S]]);
  assert.deepEqual(pick(a.parts, 'multipart_name'), [['f', 'f'], ["n'x", "n'x"]]);
  const qp = mp(`--B\r\nContent-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n1=27 or =\r\n=271=27=3D=271\r\n--B--\r\n`);
  assert.deepEqual(pick(qp.parts, 'multipart')[1], ['q', S]);
  const js = mp(`--B\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n{"user":{"id":"1\\u0027"}}\r\n--B--\r\n`);
  assert.deepEqual(pick(js.parts, 'json'), [['meta.user.id', "1'"]]);
  const eb = mp(`--B\r\nContent-Disposition: form-data; name="q"\r\nContent-Type: text/plain; charset=ibm037\r\n\r\nx\r\n--B--\r\n`);
  assert.match(String(eb.info.parseError), /part charset ibm037/);
});

test('embedded encodings: JSON in a parameter, base64 text in a cookie, Express j: cookies, base64(JSON) in a JSON field', () => {
  const doc = JSON.stringify({ user: { id: S } });
  const r = requestParts(ctx(`/s?filter=${encodeURIComponent(doc)}&t=${b64(S)}`, { cookie: `prefs=${b64(doc)}; e=j%3A${encodeURIComponent(doc)}; sid=${b64('\x00\x01random-bytes')}` }), DEFAULT_HEADERS);
  assert.deepEqual(pick(r.parts, 'query').slice(2), [['filter.user.id', S], ['t', S]]);
  assert.deepEqual(pick(r.parts, 'query_name').slice(2), [['filter.user', 'user'], ['filter.user.id', 'id']]);
  assert.deepEqual(pick(r.parts, 'cookie').slice(3), [['prefs', doc], ['e.user.id', S], ['prefs.user.id', S]]);
  const j = bodyParts(ctx('/', { 'content-type': 'application/json' }, JSON.stringify({ data: b64(JSON.stringify({ q: b64(S) })), list: [JSON.stringify([{ a: S }])] })));
  assert.deepEqual(pick(j.parts, 'json').slice(2), [['data', JSON.stringify({ q: b64(S) })], ['list[0][0].a', S], ['data.q', b64(S)]]);
  // two levels followed, not three (base64 → JSON → base64 stays encoded)
  assert.deepEqual(pick(j.parts, 'json').filter(([n]) => n === 'data.q').map((x) => x[1]), [b64(S)]);
});

test('base64Text: text only; random tokens, UUIDs, certificates and short words are not decoded', () => {
  assert.equal(base64Text(b64('admin:secret'), 8), 'admin:secret');
  assert.equal(base64Text(Buffer.from('{"a":"é"}').toString('base64url'), 8), '{"a":"é"}');
  for (const v of ['550e8400-e29b-41d4-a716-446655440000', 'internationalization', 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', 'abc', 'a+b-c_d/eeeeeeeeee']) {
    assert.equal(base64Text(v, 8), undefined, v);
  }
});

test('X-Original-URL / X-Rewrite-URL are read as request-targets; Basic credentials as their user and password', () => {
  const r = requestParts(ctx('/', { 'x-original-url': `/admin/${encodeURIComponent(S)}?q=${encodeURIComponent('<x>')}`, authorization: `Basic ${b64(`${S}:pw'--`)}` }), DEFAULT_HEADERS);
  assert.deepEqual(pick(r.parts, 'path_segment').map((x) => x[1]), ['admin', S]);
  assert.deepEqual(pick(r.parts, 'query'), [['q', '<x>']]);
  assert.deepEqual(pick(r.parts, 'header').filter(([n]) => n === 'authorization').map((x) => x[1]), [S, "pw'--"]);
  // a bearer token is not decoded
  assert.equal(pick(requestParts(ctx('/', { authorization: 'Bearer abc.def' }), DEFAULT_HEADERS).parts, 'header').length, 0);
});

test('embedded decoding is bounded: many JSON-in-string values and a huge base64 value stay linear', () => {
  const inner = JSON.stringify({ a: 'x'.repeat(20) });
  const many = JSON.stringify(Array.from({ length: 5000 }, () => inner));
  const b64many = JSON.stringify(Array.from({ length: 900 }, () => b64('x'.repeat(300))));
  const t0 = performance.now();
  const a = bodyParts(ctx('/', { 'content-type': 'application/json' }, many));
  assert.ok(a.parts.length <= DEFAULT_LIMITS.maxParts + 1);
  assert.ok(bodyParts(ctx('/', { 'content-type': 'application/json' }, b64many)).parts.length <= DEFAULT_LIMITS.maxParts + 1);
  const huge = JSON.stringify({ d: b64('{"q":"' + 'A'.repeat(3 * MAX_EMBEDDED_CHARS) + '"}') });
  bodyParts(ctx('/', { 'content-type': 'application/json' }, huge));
  let nest = S;
  for (let i = 0; i < 12; i++) nest = JSON.stringify({ n: nest }); // 16 KB of escapes
  const n = bodyParts(ctx('/', { 'content-type': 'application/json' }, nest));
  assert.ok(n.parts.length < 20, 'two embedding levels only');
  assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
});

test('client-address headers: a plain address list makes no part; anything else is inspected', () => {
  const headerParts = (v: string) => requestParts(ctx('/', { 'x-forwarded-for': v }), DEFAULT_HEADERS).parts.filter((p) => p.loc.kind === 'header');
  for (const v of ['203.0.113.7', '203.0.113.7, 10.0.0.1', '2001:db8::1, [::1]:443', 'fe80::1']) assert.deepEqual(headerParts(v), [], v);
  for (const v of ["1' or '1'='1", 'unknown', '%27%2d%2d', '<script>', '127.0.0.1;id']) assert.equal(headerParts(v).length, 1, v);
});

test('Origin: a serialized origin makes no part; anything else is inspected', () => {
  const headerParts = (v: string) => requestParts(ctx('/', { origin: v }), DEFAULT_HEADERS).parts.filter((p) => p.loc.kind === 'header');
  for (const v of ['https://app.example.com', 'http://localhost:3000', 'null', 'http://[::1]:8080', 'chrome-extension://abcdef']) assert.deepEqual(headerParts(v), [], v);
  for (const v of ["https://x.example/'or'1'='1", 'https://a.example<script>', 'javascript://%0aalert(1)', 'http://a@b.example', "x' or 1=1--"]) assert.equal(headerParts(v).length, 1, v);
});

test('a query after path segments that fill the part bound is still inspected, as one value', () => {
  const { parts } = requestParts(ctx('/a'.repeat(1100) + "?q=1%27%20union%20select%201"), DEFAULT_HEADERS);
  assert.deepEqual(pick(parts, 'query'), [['*', "q=1' union select 1"]]);
});

test('a text body pushed whole is not pushed whole again when the part bound is reached', () => {
  const json = JSON.stringify(Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, `v${i}`])));
  const { parts } = bodyParts(ctx('/', { 'content-type': 'text/plain' }, json));
  assert.equal(parts.filter((p) => p.loc.kind === 'body').length, 1);
});

test('a JSON multipart part is read as JSON once (not again by the embedded-encoding pass)', () => {
  const { parts } = bodyParts(ctx('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n{"user":{"id":"7"}}\r\n--B--\r\n`));
  assert.deepEqual(pick(parts, 'json'), [['meta.user.id', '7']]);
  assert.deepEqual(pick(parts, 'multipart'), [['meta', '{"user":{"id":"7"}}']]);
});
