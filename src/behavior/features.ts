import { LruMap } from '../core/lru.ts';
import { scratchKey, type RequestContext } from '../core/context.ts';
import { boundedCopy } from '../core/strings.ts';
import type { ResponseInfo } from '../core/types.ts';

/**
 * Per-client behaviour features for the anomaly model (Isolation Forest), windowed and bounded.
 *
 * A client is its identity when known (API key, else user), else its client key (IPv4 address or IPv6 /64):
 * users behind one carrier-NAT address with their own keys/sessions are separate clients.
 *
 * Each client has a tumbling window of `windowMs`; features describe the current window:
 * | # | name | unit / transform |
 * |---|---|---|
 * | 0 | `rate` | log(1 + requests per minute), counted over the window (a partial window is a lower bound, consistent with the closed windows the model trains on) |
 * | 1 | `interArrivalCv` | coefficient of variation of gaps between requests (σ/μ; bots ≈ 0, humans > 1) |
 * | 2 | `distinctEndpoints` | distinct templated routes (saturates at 32) |
 * | 3 | `errorRatio` | share of responses with status ≥ 400 (404 excluded) |
 * | 4 | `notFoundRatio` | share of 404 responses |
 * | 5 | `meanAnomalyScore` | mean payload anomaly score per request |
 * | 6 | `meanBytesIn` | log(1 + mean request body bytes) |
 * | 7 | `meanBytesOut` | log(1 + mean response bytes) |
 *
 * Memory: one object of 20 fields plus up to 32 route hashes per client (~300–500 bytes with the LRU entry and
 * key); `maxClients` bounds the total (100,000 → ~50 MB worst case).
 */
export const FEATURE_NAMES = ['rate', 'interArrivalCv', 'distinctEndpoints', 'errorRatio', 'notFoundRatio', 'meanAnomalyScore', 'meanBytesIn', 'meanBytesOut'] as const;

/** Feature vector length. */
export const FEATURE_DIMS = FEATURE_NAMES.length;

const MAX_DISTINCT = 32;

/** Per-client window state. */
export interface ClientWindow {
  start: number;
  last: number;
  n: number;
  gapN: number;
  gapMean: number;
  gapM2: number;
  /** Hashes of the distinct routes seen (a plain array: small typed arrays cost an off-heap backing store each). */
  routes: number[];
  distinct: number;
  responses: number;
  errors: number;
  notFound: number;
  scoreSum: number;
  bytesIn: number;
  bytesOut: number;
  /** Latest anomaly-model score and when (request count) it was computed. */
  score: number;
  scoredAt: number;
  /** When (ms) the score was computed. */
  scoredT: number;
  explanation?: string;
}

function hash(s: string): number {
  let h = 0x811c9dc5;
  const n = Math.min(s.length, 512);
  for (let i = 0; i < n; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) || 1;
}

const IDENTITY = scratchKey<string>('behavior.client');

/**
 * Client identity key for per-client models: `k:<api key>`, `u:<user key>` ({@link RequestContext.userKey}) or
 * `ip:<client key>` (capped at 256 chars). An API key or unverified user counts only once the upstream accepted
 * it (`RequestContext.identityAccepted`).
 * Computed once per request (cached in `ctx.scratch`; the anomaly model and the risk step key their per-client
 * maps by it), so its hash is computed once too.
 */
export function clientIdentity(ctx: RequestContext): string {
  let id = ctx.scratch.get(IDENTITY);
  if (id === undefined) {
    // identities a client can make up per request only count once the upstream accepted them
    if (ctx.apiKey !== undefined && ctx.apiKey !== '' && ctx.identityAccepted) id = 'k:' + boundedCopy(ctx.apiKey, 256);
    else if (ctx.user !== undefined && ctx.user !== '' && (ctx.userVerified || (ctx.identityAccepted && !ctx.apiKey))) id = 'u:' + boundedCopy(ctx.userKey()!, 256);
    else id = 'ip:' + ctx.clientKey;
    ctx.scratch.set(IDENTITY, id);
  }
  return id;
}

function fresh(now: number): ClientWindow {
  return { start: now, last: 0, n: 0, gapN: 0, gapMean: 0, gapM2: 0, routes: [], distinct: 0, responses: 0, errors: 0, notFound: 0, scoreSum: 0, bytesIn: 0, bytesOut: 0, score: 0, scoredAt: 0, scoredT: 0 };
}

/**
 * Tracks per-client windows in a bounded LRU. `onWindowClosed` receives the feature vector of every window
 * that closes with at least `minRequests` requests (the training stream of the anomaly model).
 */
export class FeatureTracker {
  /** A client's window, or just the time of its only request so far (admission on the second request). */
  private readonly clients: LruMap<string, ClientWindow | number>;
  readonly windowMs: number;
  readonly minRequests: number;
  private readonly onWindowClosed?: (v: Float64Array) => void;

  /**
   * @param windowMs - window length, ms; @param maxClients - LRU bound; @param minRequests - requests for a
   * window to be a training vector; @param onWindowClosed - training sink.
   */
  constructor(windowMs: number, maxClients: number, minRequests: number, onWindowClosed?: (v: Float64Array) => void) {
    this.windowMs = windowMs;
    this.minRequests = minRequests;
    this.onWindowClosed = onWindowClosed;
    this.clients = new LruMap(maxClients);
  }

  /** Clients tracked. */
  get size(): number {
    return this.clients.size;
  }

  /** The window of a client (without touching recency); undefined before its second request. */
  peek(id: string): ClientWindow | undefined {
    const v = this.clients.peek(id);
    return typeof v === 'number' ? undefined : v;
  }

  /**
   * Records a request arrival (request phase). A client's first request only stores its time (~100 bytes with
   * the key): a flood of one-request IPs never allocates windows; the window starts at the second request
   * (counting the first: n = 2, one gap; the first request's route, size and response are not recorded).
   * @returns the client's window, or undefined after a first request.
   */
  onRequest(id: string, route: string, bytesIn: number, now: number): ClientWindow | undefined {
    const cur = this.clients.get(id);
    let w: ClientWindow;
    if (cur === undefined) {
      this.clients.add(id, now);
      return undefined;
    }
    if (typeof cur === 'number' && now - cur >= this.windowMs) {
      this.clients.set(id, now);
      return undefined;
    }
    if (typeof cur === 'number') {
      w = fresh(cur);
      w.n = 1;
      w.last = cur;
      this.clients.set(id, w);
    } else if (now - cur.start < this.windowMs) {
      w = cur;
    } else {
      w = cur;
      if (w.n >= this.minRequests && this.onWindowClosed) this.onWindowClosed(this.vector(w, w.start + this.windowMs));
      const f = fresh(now);
      f.score = w.score;
      f.explanation = w.explanation;
      w = f;
      this.clients.set(id, w);
    }
    if (w.n > 0) {
      const gap = Math.max(0, now - w.last);
      w.gapN++;
      const d = gap - w.gapMean;
      w.gapMean += d / w.gapN;
      w.gapM2 += d * (gap - w.gapMean);
    }
    w.n++;
    w.last = now;
    if (w.distinct < MAX_DISTINCT) {
      const h = hash(route);
      let seen = false;
      for (let i = 0; i < w.distinct; i++) {
        if (w.routes[i] === h) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        w.routes.push(h);
        w.distinct++;
      }
    }
    if (bytesIn > 0) w.bytesIn += bytesIn;
    return w;
  }

  /** Records the response facts and the request's payload anomaly score (response phase). */
  onResponse(id: string, res: ResponseInfo, anomalyScore: number): void {
    const w = this.clients.peek(id);
    if (w === undefined || typeof w === 'number') return;
    w.responses++;
    if (res.status === 404) w.notFound++;
    else if (res.status >= 400) w.errors++;
    w.scoreSum += anomalyScore;
    w.bytesOut += res.bytes;
  }

  /** Feature vector of a window at `now` (see {@link FEATURE_NAMES}). */
  vector(w: ClientWindow, now: number): Float64Array {
    const v = new Float64Array(FEATURE_DIMS);
    void now;
    v[0] = Math.log1p((w.n * 60_000) / this.windowMs);
    v[1] = w.gapN >= 2 && w.gapMean > 0 ? Math.sqrt(w.gapM2 / (w.gapN - 1)) / w.gapMean : 0;
    v[2] = w.distinct;
    v[3] = w.responses > 0 ? w.errors / w.responses : 0;
    v[4] = w.responses > 0 ? w.notFound / w.responses : 0;
    v[5] = w.n > 0 ? w.scoreSum / w.n : 0;
    v[6] = Math.log1p(w.n > 0 ? w.bytesIn / w.n : 0);
    v[7] = Math.log1p(w.responses > 0 ? w.bytesOut / w.responses : 0);
    return v;
  }
}
