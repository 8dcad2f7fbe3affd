import { DEMO_USERS } from '../demo/api.ts';
import type { Sim, SimClient } from './sim.ts';

/**
 * The scenarios of `bulwark simulate`. Times and rates are in simulated seconds/minutes (the simulator divides
 * them by the compression factor). Benign behaviour follows human pacing (think times of seconds, sessions of
 * minutes); attackers follow their tools' pacing. Client IPs come from documentation/reserved ranges
 * (RFC 5737, RFC 6598 carrier-grade NAT 100.64.0.0/10, RFC 2544 198.18.0.0/15) and are sent as X-Forwarded-For.
 */

/** A scenario: a named group of simulated clients. */
export interface Scenario {
  name: string;
  kind: 'benign' | 'attack';
  description: string;
  /** Start offset in simulated minutes. */
  startMin: number;
  /** Which detector is expected to stop it (for the report; not used to decide anything). */
  expected?: string;
  run(sim: Sim, start: number): Promise<void>;
}

const ACCOUNTS = Object.entries(DEMO_USERS);
const USER_IDS: Readonly<Record<string, number>> = { alice: 1, bob: 2, carol: 3 };
const WORDS = ['savings', 'card', 'loan', 'mortgage', 'account', 'travel', 'green', 'business', 'plus', 'everyday'];
const MEMOS = ['rent share', 'coffee', 'dinner', 'birthday gift', 'tickets', 'groceries', 'book club', 'taxi'];

/** Desktop browsers (each sends Accept-Language and fetch metadata like the real ones). */
const BROWSERS: readonly Record<string, string>[] = [
  { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36', 'accept-language': 'en-US,en;q=0.9' },
  { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36', 'accept-language': 'de-DE,de;q=0.9,en;q=0.8' },
  { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'accept-language': 'fr-FR,fr;q=0.8,en-US;q=0.5' },
  { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15', 'accept-language': 'en-GB,en;q=0.9' },
  { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51', 'accept-language': 'es-ES,es;q=0.9' },
];
const MOBILE: readonly Record<string, string>[] = [
  { 'user-agent': 'BulwarkBank/5.1.2 (iPhone; iOS 17.4; Scale/3.00)', 'accept-language': 'en-US' },
  { 'user-agent': 'BulwarkBank/5.1.2 (Android 14; Pixel 8) okhttp/4.12.0', 'accept-language': 'de-DE' },
];

function browserHeaders(sim: Sim): Record<string, string> {
  return { ...sim.pick(BROWSERS), accept: 'application/json, text/plain, */*', 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin', 'sec-fetch-dest': 'empty' };
}
function mobileHeaders(sim: Sim): Record<string, string> {
  return { ...sim.pick(MOBILE), accept: 'application/json', 'accept-encoding': 'gzip' };
}

/** Logs in (with a 10 % chance of a mistyped password first, then the right one). */
async function login(sim: Sim, c: SimClient, user: string, password: string): Promise<boolean> {
  if (sim.rand() < 0.1) {
    await sim.send(c, { method: 'POST', path: '/api/login', json: { username: user, password: password + 'x' } });
    await sim.think(3, 8);
  }
  const r = await sim.send(c, { method: 'POST', path: '/api/login', json: { username: user, password }, wantBody: true });
  const token = (r.body as { token?: unknown } | undefined)?.token;
  if (r.status === 200 && typeof token === 'string') {
    c.token = token;
    return true;
  }
  return false;
}

/**
 * A human user: sessions of 15–30 actions with 5–20 s think time, 1–4 min between sessions, first session within 8 min; checks the balance
 * before each payment (as the app does), browses products, searches, looks at a few user profiles.
 */
async function human(sim: Sim, c: SimClient): Promise<void> {
  await sim.think(0, 480);
  while (sim.running) {
    const [user, password] = sim.pick(ACCOUNTS);
    c.token = undefined;
    if (!(await login(sim, c, user, password))) {
      await sim.think(20, 60);
      continue;
    }
    const actions = sim.int(15, 30);
    for (let i = 0; i < actions && sim.running; i++) {
      await sim.think(5, 20);
      const x = sim.rand();
      if (x < 0.25) await sim.send(c, { path: '/api/balance' });
      else if (x < 0.45) await sim.send(c, { path: '/api/history' });
      else if (x < 0.6) await sim.send(c, { path: sim.rand() < 0.5 ? '/api/products' : `/api/products?page=${sim.int(1, 3)}` });
      else if (x < 0.75) await sim.send(c, { path: `/api/search?q=${sim.pick(WORDS)}` });
      else if (x < 0.85) await sim.send(c, { path: `/api/users/${sim.pick([1, 2, 3, USER_IDS[user]!])}` });
      else {
        await sim.send(c, { path: '/api/balance' });
        await sim.think(5, 15);
        const to = sim.pick(ACCOUNTS.filter(([u]) => u !== user))[0];
        await sim.send(c, { method: 'POST', path: '/api/transaction', json: { to, amountCents: sim.int(100, 2000), memo: sim.pick(MEMOS) } });
      }
    }
    c.token = undefined;
    await sim.think(60, 240);
  }
}

/** Options of an attacker loop. */
interface AttackLoop {
  /** Requests per simulated minute over all workers. */
  perMin: number;
  concurrency?: number;
  /** Stop after this many requests. */
  max: number;
  /** Give up after this many consecutive blocked answers (the tool notices it is banned). */
  giveUpAfter?: number;
  /** The client and request for request number i. */
  next(i: number): { c: SimClient; path: string; method?: string; json?: unknown; headers?: Record<string, string> };
}

async function attack(sim: Sim, a: AttackLoop): Promise<void> {
  const conc = a.concurrency ?? 1;
  const gapS = (60 / a.perMin) * conc;
  let i = 0;
  let streak = 0;
  const worker = async (): Promise<void> => {
    while (sim.running && i < a.max && streak < (a.giveUpAfter ?? 50)) {
      const r = a.next(i++);
      const res = await sim.send(r.c, { path: r.path, method: r.method, json: r.json, headers: r.headers });
      streak = res.blocked ? streak + 1 : 0;
      await sim.wait(gapS);
    }
  };
  await Promise.all(Array.from({ length: conc }, () => worker()));
}

const ip = (prefix: string, i: number): string => `${prefix}.${(i >> 8) & 255}.${i & 255}`;

/** Builds the scenario list. `scale` < 1 shrinks the benign population (short runs). */
export function scenarios(scale = 1): Scenario[] {
  const nBrowser = Math.max(3, Math.round(16 * scale));
  const nMobile = Math.max(2, Math.round(8 * scale));
  const nShared = Math.max(8, Math.round(20 * scale));
  const atk = (k: number): number => 2 + 2 * k;
  return [
    {
      name: 'benign-browser',
      kind: 'benign',
      description: `${nBrowser} browser users, one IP each, human think times, 10 % typo'd passwords`,
      startMin: 0,
      run: async (sim, start) => {
        await Promise.all(Array.from({ length: nBrowser }, (_, i) => human(sim, sim.client(`browser-${i}`, 'benign-browser', ip('10.1', i + 1), browserHeaders(sim), start))));
      },
    },
    {
      name: 'benign-mobile',
      kind: 'benign',
      description: `${nMobile} mobile-app users, one IP each`,
      startMin: 0,
      run: async (sim, start) => {
        await Promise.all(Array.from({ length: nMobile }, (_, i) => human(sim, sim.client(`mobile-${i}`, 'benign-mobile', ip('10.2', i + 1), mobileHeaders(sim), start))));
      },
    },
    {
      name: 'benign-shared-ip',
      kind: 'benign',
      description: `${nShared} users (browser and mobile) behind one carrier-NAT IP 100.64.7.7`,
      startMin: 0,
      run: async (sim, start) => {
        await Promise.all(
          Array.from({ length: nShared }, (_, i) => human(sim, sim.client(`nat-${i}`, 'benign-shared-ip', '100.64.7.7', i % 3 === 0 ? mobileHeaders(sim) : browserHeaders(sim), start))),
        );
      },
    },
    {
      name: 'good-crawler',
      kind: 'benign',
      description: 'Googlebot crawling the catalogue (pages 1–300), search and profiles from 4 IPs, one request per 1–3 s',
      startMin: 0,
      run: async (sim, start) => {
        const hdr = { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', accept: '*/*', 'accept-encoding': 'gzip, deflate, br' };
        const cs = Array.from({ length: 4 }, (_, i) => sim.client(`googlebot-${i}`, 'good-crawler', `66.249.66.${i + 1}`, hdr, start));
        for (let i = 0; sim.running; i++) {
          const c = cs[i % cs.length]!;
          const page = 1 + (i % 300);
          const path = i % 5 === 4 ? `/api/search?q=${sim.pick(WORDS)}` : i % 7 === 6 ? `/api/users/${1 + (i % 3)}` : `/api/products?page=${page}`;
          await sim.send(c, { path });
          await sim.think(1, 3);
        }
      },
    },
    {
      name: 'low-and-slow',
      kind: 'attack',
      expected: 'behavior.stuffing.slow',
      description: 'password guessing on one account every 140–180 s (≤ 5 per 10 min: under the brute-force threshold)',
      startMin: 1,
      run: async (sim, start) => {
        const c = sim.client('slow', 'low-and-slow', '203.0.113.70', browserHeaders(sim), start);
        let streak = 0;
        for (let i = 0; sim.running && streak < 5; i++) {
          const r = await sim.send(c, { method: 'POST', path: '/api/login', json: { username: 'carol', password: `guess-${i}` } });
          streak = r.blocked ? streak + 1 : 0;
          await sim.think(140, 180);
        }
      },
    },
    {
      name: 'flood-single-ip',
      kind: 'attack',
      expected: 'ratelimit.ip',
      description: 'one IP, up to 1,200 requests per minute on the catalogue and search (16 connections)',
      startMin: atk(0),
      run: async (sim, start) => {
        const c = sim.client('flood', 'flood-single-ip', '203.0.113.10', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0', accept: '*/*' }, start);
        await attack(sim, { perMin: 1200, concurrency: 16, max: 3000, giveUpAfter: 100, next: (i) => ({ c, path: i % 2 ? '/api/products' : `/api/search?q=${WORDS[i % WORDS.length]}` }) });
      },
    },
    {
      name: 'flood-distributed',
      kind: 'attack',
      expected: 'behavior.fingerprint.flood',
      description: '300 IPs (2 requests per IP per minute: under every per-IP limit), one tool fingerprint, 600 requests per minute',
      startMin: atk(3),
      run: async (sim, start) => {
        const hdr = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', accept: '*/*' };
        const cs = Array.from({ length: 300 }, (_, i) => sim.client(`ddos-${i}`, 'flood-distributed', ip('198.18', i + 1), hdr, start));
        await attack(sim, { perMin: 600, concurrency: 12, max: 3000, giveUpAfter: 300, next: (i) => ({ c: cs[i % cs.length]!, path: i % 2 ? '/api/products' : '/api/search?q=loan' }) });
      },
    },
    {
      name: 'brute-force',
      kind: 'attack',
      expected: 'behavior.bruteforce.ip',
      description: "one IP guessing alice's password, one attempt per 2 s",
      startMin: atk(2),
      run: async (sim, start) => {
        const c = sim.client('brute', 'brute-force', '203.0.113.20', { 'user-agent': 'python-requests/2.31.0', accept: '*/*' }, start);
        await attack(sim, { perMin: 30, max: 500, giveUpAfter: 20, next: (i) => ({ c, method: 'POST', path: '/api/login', json: { username: 'alice', password: `password${i}` } }) });
      },
    },
    {
      name: 'credential-stuffing',
      kind: 'attack',
      expected: 'behavior.stuffing.fingerprint',
      description: 'leaked e-mail/password pairs over 200 rotating IPs (≤ 2 attempts per IP), 40 attempts per minute',
      startMin: atk(1),
      run: async (sim, start) => {
        const hdr = { 'user-agent': 'Go-http-client/1.1', accept: 'application/json' };
        const cs = Array.from({ length: 200 }, (_, i) => sim.client(`stuff-${i}`, 'credential-stuffing', ip('198.19', i + 1), hdr, start));
        await attack(sim, { perMin: 40, concurrency: 2, max: 400, giveUpAfter: 200, next: (i) => ({ c: cs[i % cs.length]!, method: 'POST', path: '/api/login', json: { username: `user${1000 + i}@mail.example`, password: `Summer20${i % 30}!` } }) });
      },
    },
    {
      name: 'enumeration',
      kind: 'attack',
      expected: 'behavior.enum.sequential',
      description: 'one IP walking /api/users/1,2,3,… one id per 2 s',
      startMin: atk(4),
      run: async (sim, start) => {
        const c = sim.client('enum', 'enumeration', '203.0.113.30', { 'user-agent': 'curl/8.5.0', accept: '*/*' }, start);
        await attack(sim, { perMin: 30, max: 1000, giveUpAfter: 20, next: (i) => ({ c, path: `/api/users/${i + 1}` }) });
      },
    },
    {
      name: 'scanner',
      kind: 'attack',
      expected: 'behavior.scanner.sensitive',
      description: 'one IP probing sensitive files and unknown paths, 2 per second',
      startMin: atk(5),
      run: async (sim, start) => {
        const probes = ['/.env', '/.git/config', '/wp-login.php', '/backup.zip', '/config.php.bak', '/phpmyadmin/', '/server-status', '/.aws/credentials', '/db.sql', '/.DS_Store'];
        const c = sim.client('scanner', 'scanner', '203.0.113.40', { 'user-agent': 'Mozilla/5.0 (compatible; scan/1.0)', accept: '*/*' }, start);
        await attack(sim, { perMin: 120, max: 1000, giveUpAfter: 20, next: (i) => ({ c, path: i % 2 === 0 ? probes[(i / 2) % probes.length]! : `/${WORDS[i % WORDS.length]}-${i}.html` }) });
      },
    },
    {
      name: 'honeypot',
      kind: 'attack',
      expected: 'behavior.honeypot',
      description: 'one IP browsing the catalogue, then opening /api/admin/users',
      startMin: atk(6),
      run: async (sim, start) => {
        const c = sim.client('honeypot', 'honeypot', '203.0.113.50', browserHeaders(sim), start);
        await attack(sim, { perMin: 20, max: 100, giveUpAfter: 10, next: (i) => ({ c, path: i < 3 ? '/api/products' : i === 3 ? '/api/admin/users' : '/api/products' }) });
      },
    },
    {
      name: 'flow-abuse',
      kind: 'attack',
      expected: 'behavior.flow.payment-needs-balance',
      description: "a script with bob's valid session posting payments without ever checking the balance",
      startMin: atk(7),
      run: async (sim, start) => {
        const c = sim.client('flow', 'flow-abuse', '203.0.113.60', { 'user-agent': 'okhttp/4.9.0', accept: 'application/json' }, start);
        await login(sim, c, 'bob', DEMO_USERS.bob!);
        await attack(sim, { perMin: 30, max: 200, giveUpAfter: 20, next: () => ({ c, method: 'POST', path: '/api/transaction', json: { to: 'alice', amountCents: 1, memo: 'x' } }) });
      },
    },
    {
      name: 'rotating-ua-scraper',
      kind: 'attack',
      expected: 'behavior.enum.pagination',
      description: 'one IP sweeping /api/products?page=N with a different browser User-Agent on every request',
      startMin: atk(8),
      run: async (sim, start) => {
        const c = sim.client('scraper', 'rotating-ua-scraper', '203.0.113.80', {}, start);
        const uas = [...BROWSERS.map((b) => b['user-agent']!), ...MOBILE.map((m) => m['user-agent']!)];
        await attack(sim, { perMin: 60, max: 1000, giveUpAfter: 20, next: (i) => ({ c, path: `/api/products?page=${i + 1}`, headers: { 'user-agent': `${uas[i % uas.length]!} r${i}`, accept: 'application/json' } }) });
      },
    },
  ];
}
