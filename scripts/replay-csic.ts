/**
 * `npm run replay:csic`: replays the CSIC 2010 benign training set (36,000 real requests,
 * `../shared/corpora/csic-train-benign.jsonl.gz`; raw request-targets, header order and bodies preserved)
 * through a real gateway with the default policy, in front of a loopback echo upstream (any path → 200):
 *
 *  (a) from a trusted proxy (127.0.0.1 in `trustedProxies`) with X-Forwarded-For spread over 4,096 client
 *      IPs (request i → IP i mod 4096, about 9 requests each): must be 0 blocked and 0 throttled;
 *  (b) from one IP at full speed (no X-Forwarded-For): throttled as the policy says — the default per-IP
 *      GCRA limit (100/min, burst 100) admits about burst + rate × elapsed requests; the rest get 429.
 *
 * Prints the counts of 200/429/403/other and the rules behind any non-200; exits 1 when (a) blocks or
 * throttles anything or (b) deviates from the expected budget by more than 10 %. Skips (exit 0) with a
 * message when the corpus is absent (users' clones do not have ../shared).
 */
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { startBulwark, type BulwarkApp } from '../src/app.ts';
import type { SecurityEvent } from '../src/events/types.ts';

const CORPUS = process.env.CSIC_CORPUS ?? new URL('../../shared/corpora/csic-train-benign.jsonl.gz', import.meta.url).pathname;
const SPREAD_IPS = 4096;
const CONCURRENCY = 32;

interface Rec {
  method: string;
  target: string;
  headers: [string, string][];
  body: string;
}

async function loadCorpus(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Rec;
    out.push({ method: r.method, target: r.target, headers: r.headers, body: r.body ?? '' });
  }
  return out;
}

/** Headers as sent: corpus order, minus Connection (keep-alive replay) and Content-Length (recomputed). */
function headersOf(r: Rec, xff: string | undefined): string[] {
  const h: string[] = [];
  for (const [k, v] of r.headers) {
    const l = k.toLowerCase();
    if (l === 'connection' || l === 'content-length') continue;
    h.push(k, v);
  }
  if (xff) h.push('X-Forwarded-For', xff);
  return h;
}

interface Tally {
  status: Map<number, number>;
  errors: number;
  elapsedS: number;
}

async function replay(url: string, recs: Rec[], xffOf: (i: number) => string | undefined): Promise<Tally> {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const status = new Map<number, number>();
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < recs.length) {
        const i = next++;
        const r = recs[i]!;
        const body = r.body ? Buffer.from(r.body, 'latin1') : undefined;
        const headers = headersOf(r, xffOf(i));
        if (body) headers.push('Content-Length', String(body.length));
        try {
          const res = await pool.request({ method: r.method as 'GET', path: r.target, headers, body });
          await res.body.dump();
          status.set(res.statusCode, (status.get(res.statusCode) ?? 0) + 1);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - t0) / 1000;
  await pool.close();
  return { status, errors, elapsedS };
}

async function reasons(app: BulwarkApp): Promise<string> {
  await app.services.events.flush();
  const counts = new Map<string, number>();
  const page = await app.services.eventStore.query({ limit: 1000 });
  for (const e of page.events as SecurityEvent[]) {
    if (e.status === 200) continue;
    const k = `${e.status} ${e.reasons.join('+') || '(none)'}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k} x${v}`).join(', ') || '(none)';
}

function fmt(t: Tally, total: number): string {
  const g = (s: number): number => t.status.get(s) ?? 0;
  const other = [...t.status].filter(([s]) => s !== 200 && s !== 429 && s !== 403).reduce((n, [, v]) => n + v, 0);
  return `${total} requests in ${t.elapsedS.toFixed(1)} s (${(total / t.elapsedS).toFixed(0)} req/s): 200 ${g(200)}, 429 ${g(429)}, 403 ${g(403)}, other ${other}, client errors ${t.errors}`;
}

async function main(): Promise<number> {
  if (!existsSync(CORPUS)) {
    console.log(`replay-csic: corpus not found at ${CORPUS} — skipping (it lives in ../shared/corpora, not in user clones)`);
    return 0;
  }
  const recs = await loadCorpus(CORPUS);
  console.log(`replay-csic: ${recs.length} benign CSIC 2010 requests from ${CORPUS}`);
  const echo = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const upstream = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  let failed = false;

  const start = async (): Promise<{ app: BulwarkApp; dir: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-replay-'));
    const app = await startBulwark({ upstream, policy: { trustedProxies: ['127.0.0.1/32'] }, host: '127.0.0.1', gatewayPort: 0, adminPort: 0, dataDir: dir, logLevel: 'warn', watch: false });
    return { app, dir };
  };

  // (a) trusted proxy, XFF spread
  {
    const { app, dir } = await start();
    const t = await replay(app.gatewayUrl, recs, (i) => `198.18.${(i % SPREAD_IPS) >> 8}.${(i % SPREAD_IPS) & 255}`);
    const ok = (t.status.get(200) ?? 0) === recs.length && t.errors === 0;
    console.log(`(a) XFF spread over ${SPREAD_IPS} client IPs via trusted proxy: ${fmt(t, recs.length)} — ${ok ? 'OK: 0 blocked, 0 throttled' : 'FAIL'}`);
    if (!ok) {
      failed = true;
      console.log(`    non-200 by rule: ${await reasons(app)}`);
    }
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // (b) one IP at full speed
  {
    const { app, dir } = await start();
    const t = await replay(app.gatewayUrl, recs, () => undefined);
    const rule = app.policy().rateLimits.find((r) => r.id === 'default-ip')!;
    const burst = rule.burst ?? rule.limit;
    const budget = burst + (rule.limit * t.elapsedS * 1000) / rule.window;
    const allowed = t.status.get(200) ?? 0;
    const throttled = t.status.get(429) ?? 0;
    const expected429 = recs.length - budget;
    const ok = Math.abs(throttled - expected429) <= 0.1 * expected429 && Math.abs(allowed - budget) <= Math.max(10, 0.1 * budget);
    console.log(`(b) one client IP at full speed: ${fmt(t, recs.length)}`);
    console.log(
      `    policy ${rule.id}: ${rule.limit}/${rule.window / 1000}s, burst ${burst} (GCRA) → budget ≈ ${budget.toFixed(0)} allowed in ${t.elapsedS.toFixed(1)} s; expected 429 ≈ ${expected429.toFixed(0)}, got ${throttled} — ${ok ? 'OK' : 'FAIL'}`,
    );
    if ((t.status.get(403) ?? 0) > 0 || !ok) console.log(`    non-200 by rule (first 1,000 events): ${await reasons(app)}`);
    if (!ok) failed = true;
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await new Promise<void>((r) => echo.close(() => r()));
  return failed ? 1 : 0;
}

process.exitCode = await main();
