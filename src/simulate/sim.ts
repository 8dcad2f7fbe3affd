import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * The simulator's client side: a keep-alive undici pool to the gateway, simulated clients with their own
 * client IP (sent as X-Forwarded-For from the trusted local proxy) and headers, per-client statistics and
 * simulated time (think times and rates in simulated seconds, divided by the compression factor).
 */

/** Statistics of one simulated client. Blocked = answered 403/429 by the gateway (problem+json). */
export interface ClientStats {
  id: string;
  scenario: string;
  ip: string;
  sent: number;
  passed: number;
  blocked: number;
  /** Transport errors and 5xx. */
  errors: number;
  /** Requests sent before the first block (0-based index of the first blocked request). */
  firstBlockIndex?: number;
  /** Wall ms from the scenario start to the first block. */
  firstBlockMs?: number;
  /** Requests sent after the first block, and how many of those passed. */
  afterBlockSent: number;
  afterBlockPassed: number;
  /** Consecutive blocked responses at the end (attackers give up after a while). */
  blockStreak: number;
}

/** One HTTP request of a simulated client. */
export interface SimRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** Read and parse the JSON response body (e.g. for a login token). */
  wantBody?: boolean;
}

/** What the client saw. */
export interface SimResponse {
  status: number;
  blocked: boolean;
  body?: unknown;
}

/** A simulated client: an IP, base headers, and its statistics. */
export class SimClient {
  readonly stats: ClientStats;
  headers: Record<string, string>;
  /** Set after login: sent as `Authorization: Bearer …`. */
  token?: string;
  readonly scenarioStart: number;

  constructor(id: string, scenario: string, ip: string, headers: Record<string, string>, scenarioStart: number) {
    this.stats = { id, scenario, ip, sent: 0, passed: 0, blocked: 0, errors: 0, afterBlockSent: 0, afterBlockPassed: 0, blockStreak: 0 };
    this.headers = headers;
    this.scenarioStart = scenarioStart;
  }

  get ip(): string {
    return this.stats.ip;
  }
}

/** Mulberry32: small seeded PRNG so runs are reproducible (`--seed`). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shared simulation state handed to scenarios. */
export class Sim {
  /** Time compression factor F. */
  readonly factor: number;
  /** Wall-clock deadline (ms since epoch). */
  readonly deadline: number;
  readonly rand: () => number;
  readonly clients: SimClient[] = [];
  private readonly pool: Pool;
  /** Total requests sent (progress). */
  sent = 0;
  /** Requests sent per scenario, and the scenario's count when its first block arrived (requests until stopped). */
  readonly scenarioSent = new Map<string, number>();
  readonly scenarioFirstBlock = new Map<string, number>();
  blocked = 0;

  constructor(opts: { target: string; factor: number; deadline: number; seed: number; connections?: number }) {
    const u = new URL(opts.target);
    if (!['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) throw new RangeError(`simulate only sends traffic to loopback, got ${u.hostname}`);
    this.pool = new Pool(u.origin, { connections: opts.connections ?? 64, pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000 });
    this.factor = opts.factor;
    this.deadline = opts.deadline;
    this.rand = prng(opts.seed);
  }

  /** True while the run has time left. */
  get running(): boolean {
    return Date.now() < this.deadline;
  }

  /** A uniform integer in [a, b]. */
  int(a: number, b: number): number {
    return a + Math.floor(this.rand() * (b - a + 1));
  }

  /** A random element. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** Sleeps `simSeconds` of simulated time (wall: simSeconds / F), never past the deadline. */
  async wait(simSeconds: number): Promise<void> {
    const ms = Math.min((simSeconds * 1000) / this.factor, Math.max(0, this.deadline - Date.now()));
    if (ms > 0) await sleep(ms);
  }

  /** Sleeps a uniform random think time in [min, max] simulated seconds. */
  think(minS: number, maxS: number): Promise<void> {
    return this.wait(minS + this.rand() * (maxS - minS));
  }

  /** Registers a client. */
  client(id: string, scenario: string, ip: string, headers: Record<string, string>, scenarioStart = Date.now()): SimClient {
    const c = new SimClient(id, scenario, ip, headers, scenarioStart);
    this.clients.push(c);
    return c;
  }

  /** Sends one request as `c` and records the outcome. Never throws (transport errors count as errors). */
  async send(c: SimClient, r: SimRequest): Promise<SimResponse> {
    const headers: Record<string, string> = { ...c.headers, ...(r.headers ?? {}), 'x-forwarded-for': c.ip };
    if (c.token !== undefined && headers.authorization === undefined) headers.authorization = `Bearer ${c.token}`;
    let body: string | undefined;
    if (r.json !== undefined) {
      body = JSON.stringify(r.json);
      headers['content-type'] = 'application/json';
    }
    const s = c.stats;
    s.sent++;
    this.sent++;
    const before = this.scenarioSent.get(s.scenario) ?? 0;
    this.scenarioSent.set(s.scenario, before + 1);
    const afterBlock = s.firstBlockIndex !== undefined;
    if (afterBlock) s.afterBlockSent++;
    try {
      const res = await this.pool.request({ method: (r.method ?? 'GET') as 'GET', path: r.path, headers, body });
      const ct = String(res.headers['content-type'] ?? '');
      const blocked = (res.statusCode === 403 || res.statusCode === 429) && ct.includes('problem+json');
      let parsed: unknown;
      if (r.wantBody && !blocked) {
        try {
          parsed = await res.body.json();
        } catch {
          parsed = undefined;
        }
      } else {
        await res.body.dump();
      }
      if (blocked) {
        s.blocked++;
        this.blocked++;
        s.blockStreak++;
        if (!this.scenarioFirstBlock.has(s.scenario)) this.scenarioFirstBlock.set(s.scenario, before);
        if (s.firstBlockIndex === undefined) {
          s.firstBlockIndex = s.sent - 1;
          s.firstBlockMs = Date.now() - c.scenarioStart;
        }
      } else {
        s.blockStreak = 0;
        if (res.statusCode >= 500) s.errors++;
        else {
          s.passed++;
          if (afterBlock) s.afterBlockPassed++;
        }
      }
      return { status: res.statusCode, blocked, body: parsed };
    } catch {
      s.errors++;
      return { status: 0, blocked: false };
    }
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
