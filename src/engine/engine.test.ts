import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { decide } from '../core/decide.ts';
import { validatePolicy } from '../config/load.ts';
import { ConfigError } from '../config/errors.ts';
import type { PartRule, PayloadRule, RequestRule } from './types.ts';
import { BUDGET_RULE_ID, PayloadEngine, RULE_ERROR_ID, RuleRegistryError, isInert, validateRules } from './engine.ts';
import { TRANSFORMS } from './transforms.ts';
import { ruleRegistry, findRule } from './registry.ts';
import { createPayloadDetector } from './detector.ts';
import { compileRoute } from './exclusions.ts';

function ctx(target: string, opts: { headers?: Record<string, string>; body?: string; ip?: string; method?: string } = {}): RequestContext {
  const ip = opts.ip ?? '192.0.2.1';
  const c = new RequestContext({ id: 't', clientIp: ip, clientKey: ip, peerIp: ip, method: opts.method ?? (opts.body ? 'POST' : 'GET'), target, headers: opts.headers ?? {} });
  if (opts.body !== undefined) c.body = { bytes: Buffer.from(opts.body), truncated: false };
  return c;
}

/** A test rule: matches values containing `needle` after lower-casing. */
function needleRule(id: string, needle: string, over: Partial<PartRule> = {}): PartRule {
  return {
    kind: 'part', id, name: `needle-${needle}`, category: 'other', severity: 'critical', paranoia: 1, tags: ['test'],
    targets: ['query', 'json', 'form', 'header', 'cookie'], transforms: [['urlDecodeUni', 'lowercase']],
    match: (v) => (v.includes(needle) ? needle : null),
    ...over,
  };
}

function engine(detection: unknown, rules: readonly PayloadRule[]): PayloadEngine {
  return new PayloadEngine(validatePolicy({ detection }).detection, rules);
}

function run(e: PayloadEngine, c: RequestContext) {
  const s = [...e.inspectRequest(c)];
  if (c.body) s.push(...e.inspectBody(c));
  return s;
}

test('one signal per matched rule with CRS severity points and truncated evidence', () => {
  const e = engine({}, [needleRule('100001', 'evil'), needleRule('100002', 'bad', { severity: 'warning' }), needleRule('100003', 'absent')]);
  const long = 'x'.repeat(600);
  const sig = run(e, ctx(`/?a=EVIL${long}&b=%42ad&c=evil`));
  assert.deepEqual(sig.map((s) => [s.ruleId, s.score, s.severity, s.detector]), [['other.100001', 5, 'critical', 'payload'], ['other.100002', 3, 'warning', 'payload']]);
  const ev = sig[0]!.evidence!;
  assert.deepEqual(ev.location, { kind: 'query', name: 'a' });
  assert.equal(ev.value!.length, 256);
  assert.ok(ev.transformed!.startsWith('evil'));
  assert.equal(ev.matched, 'evil');
});

test('a rule fires at most once per request across the request and body phases', () => {
  const e = engine({}, [needleRule('100001', 'evil')]);
  const c = ctx('/?a=evil', { headers: { 'content-type': 'application/json' }, body: '{"x":"evil"}' });
  assert.equal(run(e, c).length, 1);
});

test('part by part: each rule reports the first part it matches in part order, skips a part it is excluded on, and signals come in rule order', () => {
  const e = engine({ exclusions: [{ id: 'a-ok', rules: ['100061'], parameters: ['a'] }] }, [
    needleRule('100060', 'zz', { severity: 'warning' }),
    needleRule('100061', 'evil'),
    needleRule('100062', 'bad', { targets: ['json'] }),
  ]);
  // request phase: 100061 skips the excluded `a` for `b`, 100060 (optional, ordered after mandatory rules) finds `c`
  const c = ctx('/?a=evil1&b=evil2&c=zz3&d=evil4', { headers: { 'content-type': 'application/json' }, body: '{"x":"bad1","y":{"z":"bad2"},"w":"evil5"}' });
  const sig = run(e, c);
  assert.deepEqual(sig.map((s) => [s.ruleId, s.evidence?.location?.name, s.evidence?.value, s.exclusion]), [
    ['other.100061', 'b', 'evil2', undefined],
    ['other.100060', 'c', 'zz3', undefined],
    ['other.100062', 'x', 'bad1', undefined], // body phase; 100061 matched already in the request phase
  ]);
  // only excluded parts match: the excluded hit is reported with score 0 and the exclusion id
  const only = run(e, ctx('/?a=evil1'));
  assert.deepEqual(only.map((s) => [s.ruleId, s.evidence?.location?.name, s.score, s.exclusion]), [['other.100061', 'a', 0, 'a-ok']]);
});

test('anomaly score reaches the threshold → block; below → allow', () => {
  const p = validatePolicy({});
  const e = new PayloadEngine(p.detection, [needleRule('100001', 'evil'), needleRule('100002', 'meh', { severity: 'notice' })]);
  const c1 = ctx('/?q=evil');
  c1.add(run(e, c1));
  assert.equal(decide(c1, p).action, 'block');
  const c2 = ctx('/?q=meh');
  c2.add(run(e, c2));
  const v = decide(c2, p);
  assert.equal(v.action, 'allow');
  assert.equal(v.anomalyScore, 2);
});

test('paranoia level filters rules; disabled rules and categories are not compiled', () => {
  const rules = [needleRule('100001', 'a1'), needleRule('100002', 'a2', { paranoia: 2 }), needleRule('100003', 'a3', { category: 'xss' })];
  assert.equal(engine({}, rules).activeRules, 2);
  assert.equal(engine({ paranoiaLevel: 2 }, rules).activeRules, 3);
  assert.equal(engine({ paranoiaLevel: 2, disabledRules: ['other.100001'], disabledCategories: ['xss'] }, rules).activeRules, 1);
});

test('exclusions: per parameter, per route, per client; the signal shows the exclusion id and scores 0', () => {
  const rules = [needleRule('100001', 'evil')];
  const e = engine(
    {
      exclusions: [
        { id: 'search-q', rules: ['100001'], parameters: ['q'] },
        { id: 'wiki', categories: ['other'], paths: ['/wiki/**'], methods: ['POST'] },
        { id: 'scanner-net', clients: ['10.0.0.0/8', '2001:db8::/32'] },
        { id: 'ua', headers: ['user-agent'], action: 'monitor' },
      ],
    },
    rules,
  );
  // parameter exclusion: q excluded, but another parameter still fires
  let s = run(e, ctx('/?q=evil'));
  assert.equal(s.length, 1);
  assert.equal(s[0]!.exclusion, 'search-q');
  assert.equal(s[0]!.score, 0);
  s = run(e, ctx('/?q=evil&other=evil'));
  assert.equal(s[0]!.exclusion, undefined);
  assert.equal(s[0]!.score, 5);
  // JSON key path under the parameter name
  s = run(e, ctx('/x', { headers: { 'content-type': 'application/json' }, body: '{"q":{"deep":"evil"}}' }));
  assert.equal(s[0]!.exclusion, 'search-q');
  // route + method
  s = run(e, ctx('/wiki/page/edit?body=evil', { method: 'POST' }));
  assert.equal(s[0]!.exclusion, 'wiki');
  s = run(e, ctx('/wiki/page/edit?body=evil', { method: 'GET' }));
  assert.equal(s[0]!.exclusion, undefined);
  // client list (IPv4 and IPv6 CIDR)
  assert.equal(run(e, ctx('/?z=evil', { ip: '10.1.2.3' }))[0]!.exclusion, 'scanner-net');
  assert.equal(run(e, ctx('/?z=evil', { ip: '2001:db8::1' }))[0]!.exclusion, 'scanner-net');
  assert.equal(run(e, ctx('/?z=evil', { ip: '192.0.2.9' }))[0]!.exclusion, undefined);
  // monitor exclusion on a header: recorded as monitor, score kept for "would block"
  s = run(e, ctx('/', { headers: { 'user-agent': 'evil-bot' } }));
  assert.equal(s[0]!.exclusion, 'ua');
  assert.equal(s[0]!.monitor, true);
  const p = validatePolicy({});
  const c = ctx('/', { headers: { 'user-agent': 'evil-bot' } });
  c.add(run(e, c));
  const v = decide(c, p);
  assert.equal(v.action, 'allow');
  assert.equal(v.wouldBe, 'block');
});

test('per-rule and per-category monitor mode', () => {
  const e = engine({ monitor: { rules: ['100001'], categories: [] } }, [needleRule('100001', 'evil')]);
  const s = run(e, ctx('/?q=evil'));
  assert.equal(s[0]!.monitor, true);
  const e2 = engine({ monitor: { categories: ['other'] } }, [needleRule('100001', 'evil')]);
  assert.equal(run(e2, ctx('/?q=evil'))[0]!.monitor, true);
});

test('policy validation: bad exclusions are ConfigErrors with paths', () => {
  assert.throws(() => validatePolicy({ detection: { exclusions: [{ id: 'x', clients: ['not-an-ip'] }] } }), (e: unknown) => e instanceof ConfigError && /detection.exclusions\[0\].clients\[0\]/.test(e.message));
  assert.throws(() => validatePolicy({ detection: { paranoiaLevel: 5 } }), ConfigError);
  assert.throws(() => validatePolicy({ detection: { disabledRules: ['drop table'] } }), ConfigError);
  assert.throws(() => validatePolicy({ detection: { exclusions: [{ id: 'a' }, { id: 'a' }] } }), (e: unknown) => e instanceof ConfigError && /exclusions\[1\]\.id: duplicate/.test(e.message));
});

test('route patterns: * one segment, ** any, :name one segment', () => {
  assert.equal(compileRoute('/api/*/items')('/api/v1/items'), true);
  assert.equal(compileRoute('/api/*/items')('/api/v1/x/items'), false);
  assert.equal(compileRoute('/api/**')('/api'), true);
  assert.equal(compileRoute('/api/**/edit')('/api/a/b/c/edit?x=1'), true);
  assert.equal(compileRoute('/users/:id')('/users/42'), true);
});

test('a throwing rule is skipped and counted; the request goes on with a 3-point rule-error signal', () => {
  const boom: PartRule = { ...needleRule('100009', 'x'), match: () => { throw new Error('boom'); } };
  const reqBoom: RequestRule = { kind: 'request', id: '100010', name: 'r', category: 'protocol', severity: 'critical', paranoia: 1, tags: [], check: () => { throw new Error('boom'); } };
  const e = engine({}, [boom, reqBoom, needleRule('100001', 'evil')]);
  const s = run(e, ctx('/?q=evil'));
  assert.deepEqual(s.map((x) => x.ruleId), ['other.100001', RULE_ERROR_ID]);
  assert.equal(s[1]!.score, 3);
  assert.ok(e.ruleErrors >= 2);
  assert.deepEqual(run(engine({}, [needleRule('100001', 'evil')]), ctx('/?q=evil')).map((x) => x.ruleId), ['other.100001'], 'none without errors');
});

test('request rules: request phase by default, body phase with body facts', () => {
  const seen: string[] = [];
  const r1: RequestRule = { kind: 'request', id: '100020', name: 'r1', category: 'protocol', severity: 'notice', paranoia: 1, tags: [], check: (s) => { seen.push(`r1:${s.phase}`); return []; } };
  const r2: RequestRule = {
    kind: 'request', id: '100021', name: 'r2', category: 'protocol', severity: 'error', paranoia: 1, tags: [], phase: 'body',
    check: (s) => (s.body?.parseError ? [{ hit: s.body.parseError, loc: { kind: 'body' } }] : []),
  };
  const e = engine({}, [r1, r2]);
  const s = run(e, ctx('/', { headers: { 'content-type': 'application/json' }, body: '{bad' }));
  assert.deepEqual(seen, ['r1:request']);
  assert.equal(s[0]!.ruleId, 'protocol.100021');
  assert.equal(s[0]!.score, 4);
});

test('inspection budget: optional rules are skipped once it is spent and a notice says so', () => {
  const slow: PartRule = { ...needleRule('100030', 'x', { severity: 'warning' }), match: () => { const t = performance.now(); while (performance.now() - t < 25); return null; } };
  const rules: PayloadRule[] = [];
  for (let i = 0; i < 40; i++) rules.push({ ...slow, id: String(100100 + i) });
  rules.push(needleRule('100001', 'evil'));
  const e = engine({ budgetMs: 5 }, rules);
  const t0 = performance.now();
  const s = run(e, ctx('/?q=evil'));
  const ms = performance.now() - t0;
  assert.ok(ms < 500, `took ${ms} ms (40 rules × 25 ms = 1 s without the budget)`);
  assert.ok(s.some((x) => x.ruleId === 'other.100001'), 'mandatory critical rule still ran');
  const notice = s.find((x) => x.ruleId === BUDGET_RULE_ID);
  assert.ok(notice);
  assert.equal(notice.score, 0);
  assert.ok(Number(notice.evidence!.detail!.skipped) > 20);
});

test('cookie values are redacted in evidence', () => {
  const e = engine({}, [needleRule('100001', 'evil')]);
  const s = run(e, ctx('/', { headers: { cookie: 'sid=evil-session-token-123' } }));
  assert.equal(s[0]!.evidence!.value, 'evil…[22 chars redacted]');
  assert.ok(!JSON.stringify(s).includes('session-token'));
});

test('registry: unique numeric ids, valid severities; duplicates are rejected', () => {
  const all = ruleRegistry();
  assert.ok(all.length >= 10);
  validateRules(all);
  assert.ok(findRule('sqli.942100'));
  assert.throws(() => validateRules([needleRule('100001', 'a'), needleRule('100001', 'b')]), RuleRegistryError);
  assert.throws(() => validateRules([needleRule('x1', 'a')]), RuleRegistryError);
});

test('payload detector: factory honours detection.enabled and needs the body', () => {
  assert.equal(createPayloadDetector(validatePolicy({ detection: { enabled: false } })), undefined);
  const d = createPayloadDetector(validatePolicy({}))!;
  assert.equal(d.name, 'payload');
  assert.equal(d.needsBody, true);
  const c = ctx("/search?q=1'+or+'1'='1", {});
  const s = d.inspectRequest!(c) as readonly { ruleId: string }[];
  assert.ok(s.some((x) => x.ruleId === 'sqli.942100'));
});

test('the whole registry stays linear on 64 KiB pathological input in every location', () => {
  const e = new PayloadEngine(validatePolicy({ detection: { paranoiaLevel: 4 } }).detection, ruleRegistry());
  const n = 65536;
  const payloads = ["'".repeat(n), '<'.repeat(n), '('.repeat(n), '/*'.repeat(n / 2), '%'.repeat(n), '&#'.repeat(n / 2), '\\'.repeat(n), '${'.repeat(n / 2), '../'.repeat(n / 3), 'a['.repeat(n / 2)];
  const worst: [number, string] = [0, ''];
  const time = (label: string, c: RequestContext) => {
    const t0 = performance.now();
    run(e, c);
    const ms = performance.now() - t0;
    if (ms > worst[0]) { worst[0] = ms; worst[1] = label; }
    assert.ok(ms < 3000, `${label}: ${ms.toFixed(0)} ms`);
  };
  for (const p of payloads) {
    const enc = encodeURIComponent(p);
    const label = JSON.stringify(p.slice(0, 4));
    time(`query ${label}`, ctx('/?q=' + enc));
    time(`path ${label}`, ctx('/' + enc));
    time(`header ${label}`, ctx('/', { headers: { 'user-agent': p, cookie: 'a=' + p } }));
    time(`json ${label}`, ctx('/', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ q: p }) }));
    time(`form ${label}`, ctx('/', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'q=' + enc }));
  }
  time('deep json', ctx('/', { headers: { 'content-type': 'application/json' }, body: '['.repeat(n) }));
  time('json keys', ctx('/', { headers: { 'content-type': 'application/json' }, body: '{' + Array.from({ length: 4000 }, (_, i) => `"k${i}":"<a"`).join(',') + '}' }));
  time('a[ query', ctx('/?' + 'a['.repeat(n / 2)));
  time('multipart', ctx('/', { headers: { 'content-type': 'multipart/form-data; boundary=b' }, body: '--b\r\nContent-Disposition: form-data; name="x"; filename="<a"\r\n\r\n\'(<\r\n'.repeat(1500) }));
  time('xml', ctx('/', { headers: { 'content-type': 'application/xml' }, body: '<a b="<!ENTITY '.repeat(4000) }));
});

test('needs precondition: match is skipped only on inert values without the characters, never when a chain can create them', () => {
  const seen: string[] = [];
  const counting = (id: string, over: Partial<PartRule>): PartRule =>
    needleRule(id, ':', { ...over, match: (v) => (seen.push(`${id}=${v}`), v.includes(':') ? 'colon' : null) });
  const e = engine({}, [
    counting('100010', { needs: ':' }),
    counting('100011', { needs: ':', transforms: [['base64Decode']] }),
  ]);
  // inert value without ':': the precondition rule is not called; the base64 rule (a chain that can create ':') is
  seen.length = 0;
  assert.deepEqual(run(e, ctx('/a?q=plainword')).map((s) => s.ruleId), []);
  assert.deepEqual(seen.map((x) => x.split('=')[0]), ['100011']);
  // inert value with ':': called, and matches
  seen.length = 0;
  assert.ok(run(e, ctx('/a?q=a:b')).some((s) => s.ruleId === 'other.100010'));
  assert.ok(seen.includes('100010=a:b'));
  // not inert (percent-encoded ':'): called on the decoded value and matches
  seen.length = 0;
  assert.ok(run(e, ctx('/a?q=a%3Ab')).some((s) => s.ruleId === 'other.100010'));
  assert.ok(seen.includes('100010=a:b'));
  // a non-punctuation character in needs is a registry error
  assert.throws(() => engine({}, [needleRule('100012', 'a', { needs: 'a' })]), RuleRegistryError);
});

test('inert values: letters of any script are inert, and on every inert value each decoder is the identity', () => {
  // prose in other languages keeps the `needs` preconditions (it used to count as decodable as a whole)
  for (const v of ['Qualität und Preis', 'después de la reunión', 'Москва', '東京都の天気', 'ÿ', 'Ærø']) assert.equal(isInert(v), true, v);
  // what a decoder acts on: UTF-8 read as Latin-1, compatibility characters (full-width, NBSP, ligatures), controls
  for (const v of ['Ã©', '\uff1cscript\uff1e', 'a\u00a0b', '\ufb01', '\u2019', 'a\u0085', 'e\u0301']) assert.equal(isInert(v), false, JSON.stringify(v));
  const decoders = ['urlDecodeUni', 'urlDecodePercent', 'urlDecodeRepeat', 'htmlEntityDecode', 'jsDecode', 'cssDecode', 'utf8ToUnicode', 'unicodeNormalize', 'removeNulls', 'replaceComments'] as const;
  const pool = ['a', 'Z', '0', ' ', '.', ':', '<', '%', '+', '&', '\\', '/', '*', ';', '\u00e9', '\u00c3', '\u00a9', '\u00bf', '\u00ff', '\u0416', '\u6771', '\u0301', '\uff1c', '\uff0e', '\u2215', '\u00a0', '\u0000', '\u0085', '\ud83d', '\ude00', '\u3000', '\u306e', '\u30ab', '\u30fc', '\u3099', '\u3002', '\u0627', '\u05d0', '\u0e01'];
  let seed = 11;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let inert = 0;
  for (let k = 0; k < 20000; k++) {
    let v = '';
    for (let j = 1 + rnd(10); j > 0; j--) v += pool[rnd(pool.length)];
    if (!isInert(v)) continue;
    inert++;
    for (const d of decoders) assert.equal(TRANSFORMS[d](v), v, `${d} changed inert ${JSON.stringify(v)}`);
  }
  assert.ok(inert > 1000, String(inert));
  // detection: a precondition rule still sees its character in accented text, and full-width forms still decode
  const e = engine({}, ruleRegistry());
  assert.ok(run(e, ctx('/a?q=' + encodeURIComponent('Qualität <script>alert(1)</script>'))).some((s) => s.category === 'xss'));
  assert.ok(run(e, ctx('/a?q=' + encodeURIComponent('Qualität \uff1cscript\uff1ealert(1)\uff1c/script\uff1e'))).some((s) => s.category === 'xss'));
});

test('a rule may report the form it matched on: 933120 on a base64 PHP object gives the decoded text as evidence', () => {
  const e = engine({}, ruleRegistry());
  const sig = run(e, ctx('/a?q=Tzo0OiJFdmlsIjowOnt9')).find((s) => s.ruleId === 'cmdi.933120');
  assert.ok(sig);
  assert.equal(sig.evidence?.transformed, 'O:4:"Evil":0:{}');
  assert.equal(sig.evidence?.value, 'Tzo0OiJFdmlsIjowOnt9');
  const plain = run(e, ctx('/a?q=' + encodeURIComponent('O:4:"Evil":0:{}'))).find((s) => s.ruleId === 'cmdi.933120');
  assert.equal(plain?.evidence?.transformed, 'O:4:"Evil":0:{}');
});

test('decodedOnly precondition: match is skipped on inert values only, never when a chain can create a change', () => {
  const seen: string[] = [];
  const counting = (id: string, over: Partial<PartRule>): PartRule =>
    needleRule(id, '\n', { ...over, match: (v) => (seen.push(id), v.includes('\n') ? 'newline' : null) });
  const e = engine({}, [
    counting('100013', { decodedOnly: true }),
    counting('100014', { decodedOnly: true, transforms: [['base64Decode']] }),
  ]);
  // inert value: the decodedOnly rule is not called; the base64 rule (a chain that can create a newline) is
  seen.length = 0;
  assert.ok(!run(e, ctx('/a?q=plainword')).some((s) => s.ruleId === 'other.100013'));
  assert.deepEqual(seen, ['100014']);
  // not inert (an encoded newline): called on the decoded value and matches
  seen.length = 0;
  assert.ok(run(e, ctx('/a?q=a%0Ab')).some((s) => s.ruleId === 'other.100013'));
  assert.ok(seen.includes('100013'));
});

test('pure header rules: one match per header value across requests, same signals as without the cache', () => {
  let calls = 0;
  const counting = (over: Partial<PartRule>): PartRule =>
    needleRule('100040', 'evil', { ...over, match: (v) => (calls++, v.includes('evil') ? 'evil' : null) });
  const pure = engine({ exclusions: [{ id: 'ref', headers: ['referer'] }] }, [counting({ pure: true, transforms: [['lowercase'], ['urlDecodeUni', 'lowercase']] })]);
  const plain = engine({ exclusions: [{ id: 'ref', headers: ['referer'] }] }, [counting({ transforms: [['lowercase'], ['urlDecodeUni', 'lowercase']] })]);
  const reqs: [string, Record<string, string>][] = [
    ['/?q=1', { 'user-agent': 'Mozilla/5.0 (X11)' }],
    ['/?q=2', { 'user-agent': 'Mozilla/5.0 (X11)' }],
    ['/?q=3', { 'user-agent': 'Evil%20Bot' }],
    ['/?q=4', { 'user-agent': 'Evil%20Bot' }],
    ['/?q=5', { referer: 'https://evil.test/', 'user-agent': 'x' }], // excluded header: the next part still counts
    ['/?q=evil', { referer: 'https://evil.test/', 'user-agent': 'x' }],
    ['/?q=evil', { 'user-agent': 'Mozilla/5.0 (X11)' }],
  ];
  const strip = (s: ReturnType<typeof run>) => s.map((x) => [x.ruleId, x.score, x.exclusion, x.evidence]);
  for (const [t, h] of reqs) assert.deepEqual(strip(run(pure, ctx(t, { headers: h }))), strip(run(plain, ctx(t, { headers: h }))), t);
  // the same header value again: the pure rule is not called for it; query values are never cached
  calls = 0;
  run(pure, ctx('/?q=1', { headers: { 'user-agent': 'Mozilla/5.0 (X11)', referer: 'https://evil.test/' } }));
  assert.equal(calls, 1, 'only the query value is matched');
  calls = 0;
  run(plain, ctx('/?q=1', { headers: { 'user-agent': 'Mozilla/5.0 (X11)', referer: 'https://evil.test/' } }));
  assert.equal(calls, 3);
});

test('scope.derive: a derived form is computed once per part for all rules; direct calls compute it', () => {
  let derived = 0;
  const upper = (s: string) => (derived++, s.toUpperCase());
  const deriving = (id: string): PartRule =>
    needleRule(id, 'EVIL', { match: (v, _p, scope) => ((scope.derive?.(v, upper) ?? upper(v)).includes('EVIL') ? 'EVIL' : null) });
  const e = engine({}, [deriving('100050'), deriving('100051')]);
  const s = run(e, ctx('/?a=one&b=evil'));
  assert.deepEqual(s.map((x) => x.ruleId), ['other.100050', 'other.100051']);
  assert.equal(derived, 2, 'one per part (a, b), shared by both rules');
});

test('Basic credentials are inspected but never kept in the engine-wide header cache', () => {
  const engine = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());
  const cache = (engine as unknown as { headerCache: { size: number } }).headerCache;
  const ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0';
  const basic = (cred: string) => 'Basic ' + Buffer.from(cred).toString('base64');
  engine.inspectRequest(ctx('/', { headers: { 'user-agent': ua, authorization: basic('alice:S3cret-pass!') } }));
  assert.equal(cache.size, 1, 'only the User-Agent is cached');
  const hits = engine.inspectRequest(ctx('/', { headers: { authorization: basic("admin' or '1'='1:x") } }));
  assert.ok(hits.some((s) => s.category === 'sqli'), 'credentials are still inspected');
});
