import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBotsDetector, claimsGoodBot, goodBotName, reverseDnsVerifier, type CrawlerResolver } from './bots.ts';
import { isGoodBot } from './common.ts';
import { drive, ids, makeCtx, policyWith } from './testkit.ts';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const browserHeaders = { 'user-agent': CHROME, 'accept-language': 'en-US,en;q=0.9', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' };

test('bots: real browser headers and mobile app clients raise nothing', async () => {
  const d = createBotsDetector(policyWith({ bots: { browserOnlyRoutes: ['/app/**'] } }))!;
  assert.deepEqual(await drive(d, { target: '/app/home', headers: browserHeaders }), []);
  assert.deepEqual(await drive(d, { target: '/api/balance', headers: { 'user-agent': 'BulwarkBank/5.1 (iPhone; iOS 17.4) CFNetwork/1494 Darwin/23.4.0' } }), []);
  assert.deepEqual(await drive(d, { target: '/api/balance', headers: { 'user-agent': 'curl/8.5.0' } }), [], 'libraries are normal API clients off browser-only routes');
});

test('bots: automation signatures are risk signals, not bans', async () => {
  const d = createBotsDetector(policyWith({ bots: { browserOnlyRoutes: ['/app/**'] } }))!;
  const lib = await drive(d, { target: '/app/home', headers: { 'user-agent': 'python-requests/2.31.0' } });
  assert.deepEqual(ids(lib), ['behavior.bots.library']);
  assert.equal(lib[0]!.action, 'log');
  assert.equal(lib[0]!.risk, 0.5);
  assert.deepEqual(ids(await drive(d, { target: '/app/x', headers: {} })), ['behavior.bots.library'], 'no UA on a browser-only route');
  const headless = await drive(d, { target: '/api/x', headers: { ...browserHeaders, 'user-agent': CHROME.replace('Chrome/', 'HeadlessChrome/') } });
  assert.deepEqual(ids(headless), ['behavior.bots.headless']);
  const missing = await drive(d, { target: '/api/x', headers: { 'user-agent': CHROME } });
  assert.deepEqual(ids(missing), ['behavior.bots.headers']);
  assert.equal(missing[0]!.evidence?.detail?.missing, 'accept-language,sec-fetch-mode');
  for (const s of [...lib, ...headless, ...missing]) assert.notEqual(s.action, 'ban');
});

test('bots: only verified crawlers are marked good; a verification hook can reject fake ones', async () => {
  const plain = createBotsDetector(policyWith())!;
  const ctx = makeCtx({ headers: { 'user-agent': GOOGLEBOT } });
  assert.equal(plain.inspectRequest!(ctx), undefined);
  assert.equal(isGoodBot(ctx), false, 'a User-Agent claim alone exempts nothing');
  assert.equal(claimsGoodBot(makeCtx({ headers: { 'user-agent': CHROME } }), ['googlebot']), false);
  assert.equal(claimsGoodBot(makeCtx({ headers: { 'user-agent': 'Mozilla/5.0 (compatible; bingbot/2.0)' } }), ['googlebot']), false, 'only listed crawlers');
  const calls: string[] = [];
  const d = createBotsDetector(policyWith(), {
    verify: ({ ip, name }) => {
      calls.push(`${ip} ${name}`);
      return Promise.resolve(ip.startsWith('66.249.'));
    },
  })!;
  assert.deepEqual(await drive(d, { ip: '203.0.113.4', headers: { 'user-agent': GOOGLEBOT } }), [], 'pending: allowed');
  await new Promise((r) => setImmediate(r));
  const fake = await drive(d, { ip: '203.0.113.4', headers: { 'user-agent': GOOGLEBOT } });
  assert.deepEqual(ids(fake), ['behavior.bots.fake-crawler']);
  assert.equal(fake[0]!.action, 'block');
  const first = makeCtx({ ip: '66.249.66.1', headers: { 'user-agent': GOOGLEBOT } });
  d.inspectRequest!(first);
  assert.equal(isGoodBot(first), false, 'not while the verification is pending');
  await new Promise((r) => setImmediate(r));
  const verified = makeCtx({ ip: '66.249.66.1', headers: { 'user-agent': GOOGLEBOT } });
  assert.equal(d.inspectRequest!(verified), undefined);
  assert.equal(isGoodBot(verified), true, 'verified');
  assert.deepEqual(calls, ['203.0.113.4 googlebot', '66.249.66.1 googlebot'], 'one verification per (IP, crawler)');
});

test('bots: 64 KiB pathological User-Agent in bounded time', async () => {
  const d = createBotsDetector(policyWith({ bots: { browserOnlyRoutes: ['/**'] } }))!;
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    await drive(d, { headers: { 'user-agent': 'Mozilla/5.0 ' + 'Chrome/'.repeat(9000) + 'bot'.repeat(1000) } });
    await drive(d, { headers: { 'user-agent': 'a'.repeat(65_536) } });
  }
  assert.ok(performance.now() - t0 < 3000);
});

test('bots: forward-confirmed reverse DNS verifier (fake resolver, no network)', async () => {
  const ptr: Record<string, string[]> = { '66.249.66.1': ['crawl-66-249-66-1.googlebot.com.'], '203.0.113.9': ['crawl.googlebot.com.evil.example'], '198.51.100.3': ['crawl-x.googlebot.com'] };
  const a: Record<string, string[]> = { 'crawl-66-249-66-1.googlebot.com': ['66.249.66.1'], 'crawl-x.googlebot.com': ['192.0.2.1'] };
  const resolver: CrawlerResolver = {
    reverse: async (ip) => ptr[ip] ?? [],
    addresses: async (host) => a[host] ?? [],
  };
  const v = reverseDnsVerifier({ resolver });
  assert.equal(await v({ ip: '66.249.66.1', name: 'googlebot', userAgent: GOOGLEBOT }), true);
  assert.equal(await v({ ip: '203.0.113.9', name: 'googlebot', userAgent: GOOGLEBOT }), false, 'suffix must match');
  assert.equal(await v({ ip: '198.51.100.3', name: 'googlebot', userAgent: GOOGLEBOT }), false, 'forward lookup must confirm the IP');
  assert.equal(await v({ ip: '192.0.2.7', name: 'twitterbot', userAgent: 'Twitterbot/1.0' }), true, 'no documented suffix: trusted by UA');
  const failing = reverseDnsVerifier({ resolver: { reverse: () => Promise.reject(new Error('ENOTFOUND')), addresses: async () => [] } });
  assert.equal(await failing({ ip: '66.249.66.2', name: 'googlebot', userAgent: GOOGLEBOT }), false);
  const slow = reverseDnsVerifier({ resolver: { reverse: () => new Promise(() => {}), addresses: async () => [] }, timeoutMs: 20 });
  assert.equal(await slow({ ip: '66.249.66.3', name: 'googlebot', userAgent: GOOGLEBOT }), false, 'timeout');
});

test('goodBotName: listed names match case-insensitively, first listed wins, short names included', () => {
  const ua = (u: string) => makeCtx({ headers: { 'user-agent': u } });
  const list = ['BingBot', 'GoogleBot', 'Slurp'];
  assert.equal(goodBotName(ua(GOOGLEBOT), list), 'googlebot');
  assert.equal(goodBotName(ua('Mozilla/5.0 (compatible; Yahoo! SLURP; http://help.yahoo.com/help/us/ysearch/slurp)'), list), 'slurp');
  assert.equal(goodBotName(ua('Mozilla/5.0 (compatible; bingbot/2.0; googlebot)'), list), 'bingbot');
  assert.equal(goodBotName(ua(CHROME), list), undefined);
  assert.equal(goodBotName(ua('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'), ['gO']), 'go');
});
