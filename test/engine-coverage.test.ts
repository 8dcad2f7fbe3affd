import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../src/core/context.ts';
import { validatePolicy } from '../src/config/load.ts';
import { PayloadEngine } from '../src/engine/engine.ts';
import { ruleRegistry } from '../src/engine/registry.ts';
import { DEFAULT_LIMITS, MAX_EMBEDDED_CHARS, bodyParts, requestParts, DEFAULT_HEADERS } from '../src/engine/targets.ts';

// Inspection coverage: payloads placed where a common framework decodes them and hands them to the
// application (headers it reads, second encodings inside values, bodies in unexpected media types or charsets)
// must be detected by the real rule registry at paranoia 1; the look-alike benign values must not be.

const engine = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());

function req(target: string, headers: Record<string, string> = {}, body?: string | Buffer, method?: string): RequestContext {
  const c = new RequestContext({ id: 't', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: method ?? (body === undefined ? 'GET' : 'POST'), target, headers: { host: 'a.test', ...headers } });
  if (body !== undefined) c.body = { bytes: Buffer.isBuffer(body) ? body : Buffer.from(body), truncated: false };
  return c;
}

function score(c: RequestContext): { score: number; rules: string[] } {
  const s = [...engine.inspectRequest(c)];
  if (c.body) s.push(...engine.inspectBody(c));
  const hits = s.filter((x) => x.score > 0 && !x.monitor);
  return { score: hits.reduce((a, x) => a + x.score, 0), rules: hits.map((x) => x.ruleId) };
}

const SQLI = "1' or '1'='1";
const XSS = '<script>alert(1)</script>';
const enc = encodeURIComponent;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const esc = (json: string) => json.replace(/'/g, '\\u0027').replace(/</g, '\\u003c');
const xe = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');
const JSONCT = { 'content-type': 'application/json' };

/** Request builders for one payload, by where it hides. */
const placements: Record<string, (p: string) => RequestContext> = {
  'X-Forwarded-For': (p) => req('/', { 'x-forwarded-for': p }),
  'X-Original-URL path': (p) => req('/', { 'x-original-url': `/admin/${enc(p)}` }),
  'X-Rewrite-URL query': (p) => req('/', { 'x-rewrite-url': `/admin?q=${enc(p)}` }),
  'Authorization Basic user': (p) => req('/', { authorization: `Basic ${b64(`${p}:pw`)}` }),
  'base64(JSON) cookie': (p) => req('/', { cookie: `prefs=${b64(JSON.stringify({ id: p }))}` }),
  'base64 cookie': (p) => req('/', { cookie: `u=${b64(p)}` }),
  'base64(JSON) query value': (p) => req(`/s?f=${enc(b64(JSON.stringify({ id: p })))}`),
  'JSON-in-string with \\u escapes': (p) => req('/', JSONCT, JSON.stringify({ data: esc(JSON.stringify({ q: p })) })),
  'base64(JSON) JSON field': (p) => req('/', JSONCT, JSON.stringify({ data: b64(JSON.stringify({ q: p })) })),
  'JSON as text/plain': (p) => req('/', { 'content-type': 'text/plain' }, esc(JSON.stringify({ q: p }))),
  'JSON as a form': (p) => req('/', { 'content-type': 'application/x-www-form-urlencoded' }, esc(JSON.stringify({ q: p }))),
  'JSON with BOM, no type': (p) => req('/', {}, '\ufeff' + esc(JSON.stringify({ q: p }))),
  'UTF-16LE JSON': (p) => req('/', JSONCT, Buffer.from(JSON.stringify({ q: p }), 'utf16le')),
  'XML text (&apos;)': (p) => req('/', { 'content-type': 'application/xml' }, `<a><q>${xe(p)}</q></a>`),
  'XML attribute': (p) => req('/', { 'content-type': 'application/xml' }, `<a q="${xe(p)}"/>`),
  'SOAP body': (p) => req('/', { 'content-type': 'text/xml; charset=utf-8' }, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:Get><m:id>${xe(p)}</m:id></m:Get></s:Body></s:Envelope>`),
  'XML character references': (p) => req('/', { 'content-type': 'application/xml' }, `<a>${[...p].map((c) => `&#${c.charCodeAt(0)};`).join('')}</a>`),
  'multipart filename*': (p) => req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="f"; filename="a.png"; filename*=UTF-8''${enc(p)}\r\nContent-Type: image/png\r\n\r\nPNG\r\n--B--\r\n`),
  'multipart name*': (p) => req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name*=UTF-8''${enc(p)}\r\n\r\nv\r\n--B--\r\n`),
  'multipart quoted-printable': (p) => req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${[...p].map((c) => '=' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')).join('')}\r\n--B--\r\n`),
  'multipart base64': (p) => req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="q"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(p)}\r\n--B--\r\n`),
  'multipart JSON part': (p) => req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n${esc(JSON.stringify({ q: p }))}\r\n--B--\r\n`),
};

for (const [where, build] of Object.entries(placements)) {
  test(`coverage: SQLi and XSS in ${where} are blocked at paranoia 1`, () => {
    for (const p of [SQLI, XSS]) {
      const r = score(build(p));
      assert.ok(r.score >= 5, `${where} / ${p}: score ${r.score} (${r.rules.join(',')})`);
    }
  });
}

test('coverage: charsets that cannot be decoded safely (EBCDIC in a part, UTF-7) are a body parse anomaly', () => {
  const part = req('/', { 'content-type': 'multipart/form-data; boundary=B' }, `--B\r\nContent-Disposition: form-data; name="q"\r\nContent-Type: text/plain; charset=IBM-037\r\n\r\nx\r\n--B--\r\n`);
  assert.ok(score(part).rules.includes('protocol.920130'));
  const utf7 = req('/', { 'content-type': 'application/json; charset=x-utf-7' }, '{"q":"+ACc-"}');
  assert.ok(score(utf7).rules.includes('protocol.920130'));
});

test('coverage: benign look-alikes of the new decodings are not flagged', () => {
  const cert = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB';
  const benign = [
    req('/', JSONCT, '\ufeff{"name":"O\'Brien","note":"it\'s fine"}'),
    req('/', JSONCT, Buffer.from('{"name":"Zoë","tags":["a","b"]}', 'utf16le')),
    req('/', JSONCT, JSON.stringify({ key: cert, content: b64('Hello, world! Your order #42 has shipped.'), data: JSON.stringify({ a: 1, b: 'two' }) })),
    req('/', { 'content-type': 'application/x-www-form-urlencoded' }, `channel=C1&blocks=${enc(JSON.stringify([{ type: 'section', text: { type: 'mrkdwn', text: 'Hello *world*, it\'s <https://x.test|here>' } }]))}`),
    req('/', { authorization: `Basic ${b64('api-user:S3cr3t!pass')}`, 'x-forwarded-for': '203.0.113.7, 198.51.100.2', origin: 'https://app.example.test', cookie: `sid=${b64(Buffer.from([1, 200, 3, 250, 17, 99, 0, 42, 7, 8, 9, 10]))}; prefs=${b64(JSON.stringify({ theme: 'dark', lang: 'en' }))}` }),
    req('/', { 'content-type': 'application/soap+xml' }, '<e:Envelope><e:Body><q>Tom &amp; Jerry&apos;s &lt;b&gt;</q></e:Body></e:Envelope>'),
  ];
  for (const c of benign) assert.deepEqual(score(c).rules, [], c.target + ' ' + String(c.body?.bytes.toString('latin1').slice(0, 60)));
});

test('coverage: pathological inputs of the new decoding paths stay bounded in parts and time', () => {
  const t0 = performance.now();
  // many JSON strings that each hold JSON, and many base64 values
  const many = JSON.stringify(Array.from({ length: 20000 }, (_, i) => (i % 2 ? JSON.stringify({ a: [1, { b: 'x' }] }) : b64('y'.repeat(60)))));
  const a = bodyParts(req('/', JSONCT, many));
  assert.ok(a.parts.length <= DEFAULT_LIMITS.maxParts + 1, `${a.parts.length} parts`);
  // a huge base64(JSON) value (past the embedded budget) and one just under it
  for (const n of [3 * MAX_EMBEDDED_CHARS, MAX_EMBEDDED_CHARS / 2]) bodyParts(req('/', JSONCT, JSON.stringify({ d: b64(JSON.stringify({ q: 'A'.repeat(n) })) })));
  // JSON in a string in a string ... (escapes double per level): only two levels are followed
  let nest = SQLI;
  for (let i = 0; i < 14; i++) nest = JSON.stringify({ n: nest });
  assert.ok(bodyParts(req('/', JSONCT, nest)).parts.length < 12);
  // deep nesting inside an embedded document, and many cookies holding base64(JSON)
  const deep = '['.repeat(5000) + '"x"' + ']'.repeat(5000);
  bodyParts(req('/', JSONCT, JSON.stringify({ d: deep })));
  const cookies = Array.from({ length: 3000 }, (_, i) => `c${i}=${b64('{"k":"' + 'v'.repeat(40) + '"}')}`).join('; ');
  assert.ok(requestParts(req('/', { cookie: cookies }), DEFAULT_HEADERS).parts.length <= DEFAULT_LIMITS.maxParts + 16);
  // a multipart body of many quoted-printable JSON parts
  const mp = Array.from({ length: 3000 }, () => '--B\r\nContent-Disposition: form-data; name="m"\r\nContent-Type: application/json\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{"a":"=27=27=27"}\r\n').join('') + '--B--\r\n';
  assert.ok(bodyParts(req('/', { 'content-type': 'multipart/form-data; boundary=B' }, mp)).parts.length <= DEFAULT_LIMITS.maxParts + 1);
  // a UTF-32 body of 1 MiB
  bodyParts(req('/', JSONCT, Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), Buffer.alloc(1 << 20, 0)])));
  const ms = performance.now() - t0;
  assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
});
