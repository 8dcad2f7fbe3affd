import { promises as dns } from 'node:dns';
import { isbot } from 'isbot';
import type { Detector } from '../../core/detector.ts';
import { scratchKey, type RequestContext } from '../../core/context.ts';
import type { DetectorResult, Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { LruMap } from '../../core/lru.ts';
import { compilePattern, markGoodBot, matchesAny, reloadable, segmentsOf, signal } from './common.ts';

/** Longest User-Agent examined (chars); longer values are truncated first so the isbot pattern runs on bounded input. */
export const MAX_UA_CHARS = 512;

const USER_AGENT = scratchKey<string>('behavior.ua');
const GOOD_BOT_NAME = scratchKey<string | undefined>('behavior.goodbotname');

/** Lower-cased User-Agent, truncated to {@link MAX_UA_CHARS}; cached in `ctx.scratch`. */
export function userAgentOf(ctx: RequestContext): string {
  const k = USER_AGENT;
  let ua = ctx.scratch.get(k);
  if (ua === undefined) {
    ua = ctx.header('user-agent').slice(0, MAX_UA_CHARS).toLowerCase();
    ctx.scratch.set(k, ua);
  }
  return ua;
}

/**
 * The good-crawler name the request's User-Agent claims (`googlebot`, `bingbot`, … from `goodBots`), when the
 * isbot library (https://github.com/omrilotan/isbot) also recognises it as a bot; undefined otherwise.
 * By User-Agent only: anyone can claim it, so the bots detector's verification hook can reject claims.
 * The list is scanned only when the User-Agent contains one of the names' last three characters.
 */
export function goodBotName(ctx: RequestContext, goodBots: readonly string[]): string | undefined {
  const k = GOOD_BOT_NAME;
  if (ctx.scratch.has(k)) return ctx.scratch.get(k);
  const ua = userAgentOf(ctx);
  const list = goodBotList(goodBots);
  let name: string | undefined;
  let may = false;
  for (const t of list.tails) {
    if (ua.includes(t)) {
      may = true;
      break;
    }
  }
  if (may) {
    for (const g of list.names) {
      if (ua.includes(g)) {
        name = g;
        break;
      }
    }
  }
  if (name !== undefined && !isbot(ua)) name = undefined;
  ctx.scratch.set(k, name);
  return name;
}

/**
 * A good-bot list prepared once: the names lower-cased, and their distinct last three characters (a name occurs
 * only where its tail does; the tails of crawler names, `bot`, `der`, `hit` …, are rare in browser
 * User-Agents, while their first characters, `ap`, `li`, `fa` …, are common).
 */
interface GoodBotList {
  names: readonly string[];
  tails: readonly string[];
}

const goodBotLists = new WeakMap<readonly string[], GoodBotList>();

function goodBotList(goodBots: readonly string[]): GoodBotList {
  let l = goodBotLists.get(goodBots);
  if (l === undefined) {
    const names = goodBots.map((g) => g.toLowerCase());
    const tails = [...new Set(names.map((g) => g.slice(-3)))];
    l = { names, tails };
    goodBotLists.set(goodBots, l);
  }
  return l;
}

/** True when the User-Agent claims a known good crawler (see {@link goodBotName}). */
export function claimsGoodBot(ctx: RequestContext, goodBots: readonly string[]): boolean {
  return goodBotName(ctx, goodBots) !== undefined;
}

/**
 * Optional verification of a claimed crawler, e.g. forward-confirmed reverse DNS as Google and Bing document
 * ("Verifying Googlebot": the PTR of the IP ends in googlebot.com/google.com and resolves back to the IP).
 * Return true (genuine), false (fake) or a promise of it. The detector caches results per (IP, crawler) and
 * never waits on the request path: until the answer arrives the claim is treated as unverified but allowed.
 */
export type CrawlerVerifier = (claim: { ip: string; name: string; userAgent: string }) => boolean | Promise<boolean>;

/** Host-name suffixes of genuine crawlers' reverse DNS (from each operator's "verify our crawler" documentation). */
export const CRAWLER_DNS_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  googlebot: ['.googlebot.com', '.google.com', '.googleusercontent.com'],
  bingbot: ['.search.msn.com'],
  applebot: ['.applebot.apple.com'],
  yandexbot: ['.yandex.ru', '.yandex.net', '.yandex.com'],
  baiduspider: ['.baidu.com', '.baidu.jp'],
};

/** The DNS calls a {@link reverseDnsVerifier} needs (node:dns/promises by default; tests inject a fake). */
export interface CrawlerResolver {
  reverse(ip: string): Promise<string[]>;
  /** Addresses of a host name (A and AAAA). */
  addresses(host: string): Promise<string[]>;
}

const systemResolver: CrawlerResolver = {
  reverse: (ip) => dns.reverse(ip),
  addresses: async (host) => (await dns.lookup(host, { all: true })).map((a) => a.address),
};

/**
 * Forward-confirmed reverse DNS verification of a claimed crawler: the PTR names of the IP must end in one of
 * the crawler's documented suffixes and resolve back to the same IP ("Verifying Googlebot and other Google
 * crawlers", Google Search Central; "Verifying Bingbot", Bing Webmaster Tools). Crawlers without a documented
 * suffix list are accepted by User-Agent. DNS failures and timeouts (`timeoutMs`, default 2000 ms) count as
 * not verified.
 */
export function reverseDnsVerifier(opts: { resolver?: CrawlerResolver; suffixes?: Readonly<Record<string, readonly string[]>>; timeoutMs?: number } = {}): CrawlerVerifier {
  const resolver = opts.resolver ?? systemResolver;
  const suffixes = opts.suffixes ?? CRAWLER_DNS_SUFFIXES;
  const timeoutMs = opts.timeoutMs ?? 2000;
  return async ({ ip, name }) => {
    const allowed = suffixes[name];
    if (allowed === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    const check = (async (): Promise<boolean> => {
      const hosts = await resolver.reverse(ip);
      for (const h of hosts.slice(0, 8)) {
        const host = h.toLowerCase().replace(/\.$/, '');
        if (!allowed.some((sfx) => host.endsWith(sfx))) continue;
        if ((await resolver.addresses(host)).includes(ip)) return true;
      }
      return false;
    })().catch(() => false);
    try {
      return await Promise.race([check, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Substrings of headless-browser / browser-automation User-Agents. */
const HEADLESS: readonly string[] = ['headlesschrome', 'phantomjs', 'puppeteer', 'playwright', 'selenium', 'webdriver', 'slimerjs', 'htmlunit'];
/** Prefixes / substrings of HTTP-library User-Agents (what `curl -A` and SDK defaults send). */
const LIBRARIES: readonly string[] = [
  'curl/', 'wget/', 'python-requests', 'python-urllib', 'python-httpx', 'aiohttp', 'go-http-client', 'java/', 'apache-httpclient', 'libwww-perl',
  'scrapy', 'axios/', 'node-fetch', 'undici', 'got (', 'postmanruntime', 'insomnia', 'ruby', 'guzzlehttp', 'httpie', 'powershell', 'winhttp',
];

/** Major version after `token` in the UA (e.g. `chrome/` → 120), or -1. Hand-written scan, no regex. */
function versionAfter(ua: string, token: string): number {
  const i = ua.indexOf(token);
  if (i === -1) return -1;
  let v = 0;
  let j = i + token.length;
  const end = Math.min(ua.length, j + 6);
  if (j >= end || ua.charCodeAt(j) < 48 || ua.charCodeAt(j) > 57) return -1;
  for (; j < end; j++) {
    const c = ua.charCodeAt(j);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * Bots and automation (OWASP OAT-011/OAT-004 automation signatures; risk signals, never bans by themselves):
 *
 * - good crawlers: a User-Agent naming a crawler in `goodBots` that isbot also recognises, confirmed by the
 *   {@link CrawlerVerifier} (`verifyCrawlers`), is marked good (`ctx.scratch`), so the enumeration, scanner and
 *   fingerprint detectors (after this one in the pipeline) let its sweeps through; a claim alone, or one still
 *   being verified, exempts nothing. A rejected claim gets `behavior.bots.fake-crawler` (`fakeCrawlerAction`,
 *   default block, risk 0.8).
 * - `behavior.bots.headless` (log, risk `automationRisk` 0.3): headless browser / automation framework UA.
 * - `behavior.bots.library` (on `browserOnlyRoutes` only, `browserOnlyAction`, risk `browserOnlyRisk` 0.5): an
 *   HTTP library UA (curl, python-requests, Go-http-client …) or no UA at all, on routes only browsers use.
 *   Elsewhere HTTP libraries are normal API clients and get no signal.
 * - `behavior.bots.headers` (log, risk `automationRisk`): a UA claiming a desktop/mobile browser without the
 *   headers every such browser sends: `Accept-Language`, and for Chrome/Edge ≥ 80 and Firefox ≥ 90 the
 *   `Sec-Fetch-Mode` fetch-metadata header (W3C Fetch Metadata; shipped in Chrome 76, Firefox 90).
 *
 * State: only the verifier cache (LRU of 10,000 (IP, crawler) answers).
 */
export function createBotsDetector(policy: Policy, opts: { verify?: CrawlerVerifier } = {}): Detector | undefined {
  const cfg = policy.behavior.bots;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const browserOnly = cfg.browserOnlyRoutes.map(compilePattern);
  const verified = new LruMap<string, boolean | 'pending'>(10_000);
  const verify = opts.verify;
  const base = { detector: 'bots', category: 'bot', monitor: cfg.monitor, tags: ['OWASP_OAT/OAT-011'] as const };

  const checkClaim = (ctx: RequestContext, name: string): boolean | undefined => {
    if (!verify) return true;
    const key = ctx.clientIp + '\n' + name;
    const v = verified.get(key);
    if (v === true || v === false) return v;
    if (v === 'pending') return undefined;
    verified.set(key, 'pending');
    try {
      const r = verify({ ip: ctx.clientIp, name, userAgent: ctx.header('user-agent').slice(0, MAX_UA_CHARS) });
      if (typeof r === 'boolean') {
        verified.set(key, r);
        return r;
      }
      r.then(
        (ok) => verified.set(key, ok === true),
        () => verified.delete(key),
      );
    } catch {
      verified.delete(key);
    }
    return undefined;
  };

  return {
    name: 'bots',
    inspectRequest(ctx: RequestContext): DetectorResult {
      const ua = userAgentOf(ctx);
      const good = goodBotName(ctx, cfg.goodBots);
      if (good !== undefined) {
        const ok = checkClaim(ctx, good);
        if (ok === false) {
          markGoodBot(ctx, false);
          return signal({
            ...base,
            ruleId: 'behavior.bots.fake-crawler',
            action: cfg.fakeCrawlerAction,
            risk: 0.8,
            message: `User-Agent claims ${good} but verification failed`,
            detail: { crawler: good, verified: false },
          });
        }
        // only a verified claim exempts from the sweeps: anyone can write "Googlebot" in a User-Agent
        markGoodBot(ctx, cfg.allowGoodBots && verify !== undefined && ok === true);
        return undefined;
      }
      const out: Signal[] = [];
      for (const h of HEADLESS) {
        if (ua.includes(h)) {
          out.push(signal({ ...base, ruleId: 'behavior.bots.headless', action: 'log', risk: cfg.automationRisk, message: `headless browser / automation User-Agent (${h})`, detail: { signature: h } }));
          break;
        }
      }
      if (browserOnly.length > 0 && matchesAny(browserOnly, ctx.method, segmentsOf(ctx))) {
        let lib: string | undefined = ua === '' ? '(no User-Agent)' : undefined;
        for (const l of LIBRARIES) {
          if (lib !== undefined) break;
          if (ua.includes(l)) lib = l;
        }
        if (lib !== undefined) {
          out.push(signal({ ...base, ruleId: 'behavior.bots.library', action: cfg.browserOnlyAction, risk: cfg.browserOnlyRisk, message: `HTTP library ${lib} on a browser-only route`, detail: { signature: lib } }));
        }
      }
      if (ua.startsWith('mozilla/')) {
        const chrome = Math.max(versionAfter(ua, 'chrome/'), versionAfter(ua, 'edg/'));
        const firefox = versionAfter(ua, 'firefox/');
        const isBrowser = chrome > 0 || firefox > 0 || ua.includes('safari/');
        if (isBrowser) {
          const missing: string[] = [];
          if (ctx.header('accept-language') === '') missing.push('accept-language');
          if ((chrome >= 80 || firefox >= 90) && ctx.header('sec-fetch-mode') === '') missing.push('sec-fetch-mode');
          // isbot (a large regular expression) only when something is missing: crawlers legitimately omit them.
          if (missing.length > 0 && !isbot(ua)) {
            out.push(signal({ ...base, ruleId: 'behavior.bots.headers', action: 'log', risk: cfg.automationRisk, message: `browser User-Agent without ${missing.join(', ')}`, detail: { missing: missing.join(',') } }));
          }
        }
      }
      return out.length ? out : undefined;
    },
  };
}

/**
 * Registry factory: the bots detector, with {@link reverseDnsVerifier} when `behavior.bots.verifyCrawlers` is on
 * (else crawlers are trusted by User-Agent), kept across reloads.
 */
export const botsDetector = reloadable(
  (p) => createBotsDetector(p, p.behavior.bots.verifyCrawlers ? { verify: reverseDnsVerifier() } : {}),
  (p) => [p.behavior.enabled, p.behavior.bots],
);
