import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { sendProblem } from './problem.ts';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy `Keep-Alive` and `Proxy-Connection`): meaningful only
 * for one connection, never forwarded. Headers named in `Connection` are removed as well.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Outcome of one forwarded exchange, reported once when the response is finished or failed. */
export interface ForwardResult {
  /** Status sent to the client (upstream status, or 502/504 from the gateway; 0 if the client went away first). */
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Time from dispatch to upstream response headers, ms (or to the failure). */
  upstreamMs: number;
  /** True when the gateway answered (upstream failure). */
  byGateway: boolean;
  /** Failure class when the upstream exchange failed. */
  error?: 'connect' | 'timeout' | 'reset' | 'client-abort' | 'body';
  /** Up to `sampleBytes` of the upstream response body. */
  bodySample?: Buffer;
}

/** What to send upstream for one request. */
export interface ForwardRequest {
  method: string;
  /** Origin-form request-target, raw (percent-encoding preserved). */
  path: string;
  /** Flat name/value list, hop-by-hop headers already removed. */
  headers: string[];
  /** The request stream (possibly with an unshifted prefix), a fully read body, or null. */
  body: IncomingMessage | Buffer | null;
  requestId: string;
  /** Headers added to the client response (RateLimit headers), lower-case names. */
  responseHeaders: readonly (readonly [string, string])[];
  /** Response body bytes to capture for the response phase (0 = none). */
  sampleBytes: number;
}

/**
 * Names listed in a `Connection` header value (lower-cased), which are hop-by-hop for this message
 * (RFC 9110 §7.6.1). Returns undefined when there are none beyond the standard set. Every token counts (one linear
 * pass; the header section is bounded by Node's 16 KiB limit): stopping early would forward a hop-by-hop
 * header listed late.
 */
export function connectionTokens(v: string | string[] | undefined): Set<string> | undefined {
  if (v === undefined) return undefined;
  // the usual values, without scanning
  if (v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close') return undefined;
  const s = Array.isArray(v) ? v.join(',') : v;
  let out: Set<string> | undefined;
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i === s.length || s.charCodeAt(i) === 44) {
      const t = s.slice(start, i).trim().toLowerCase();
      if (t.length > 0 && t !== 'close' && t !== 'keep-alive') (out ??= new Set()).add(t);
      start = i + 1;
    }
  }
  return out;
}

function statusClass(status: number): string {
  if (status >= 500) return '5xx';
  if (status >= 400) return '4xx';
  if (status >= 300) return '3xx';
  if (status >= 200) return '2xx';
  return '1xx';
}

/** Upstream status class label for metrics (`2xx`, `4xx`, …, `error`). */
export { statusClass };

interface Upstream {
  readonly origin: string;
  /** Path prefix of the upstream base URL without a trailing slash (`''` for `/`). */
  readonly basePath: string;
  readonly pool: Pool;
}

function classify(err: unknown): ForwardResult['error'] {
  const code = (err as { code?: string } | undefined)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'body';
    case 'UND_ERR_ABORTED':
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'client-abort';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'connect';
  }
}

/**
 * The dispatch handler of one proxied exchange: streams the upstream response into the client response
 * with backpressure (pauses undici while the client socket is full), strips hop-by-hop response headers,
 * adds the gateway's headers, and maps failures before the response started to 502/504 problem details.
 */
class ProxyHandler implements Dispatcher.DispatchHandler {
  private readonly res: ServerResponse;
  private readonly fr: ForwardRequest;
  private readonly done: (r: ForwardResult) => void;
  private readonly t0: number;
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private bytes = 0;
  private upstreamMs = 0;
  private finished = false;
  private sample: Buffer[] | undefined;
  private sampleSize = 0;
  /** Resumes the upstream once the client socket drained; created on the first backpressure only. */
  private onDrain: (() => void) | undefined;

  constructor(res: ServerResponse, fr: ForwardRequest, done: (r: ForwardResult) => void) {
    this.res = res;
    this.fr = fr;
    this.done = done;
    this.t0 = performance.now();
    if (fr.sampleBytes > 0) this.sample = [];
  }

  /** The client went away: abort the upstream exchange (frees the pooled connection). */
  abortFromClient(): void {
    if (this.finished) return;
    this.controller?.abort(Object.assign(new Error('client aborted'), { code: 'UND_ERR_ABORTED' }));
    this.finish('client-abort', 0);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.finished) controller.abort(new Error('client aborted'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx informational: not relayed
    this.upstreamMs = performance.now() - this.t0;
    this.status = statusCode;
    const res = this.res;
    if (res.destroyed) {
      controller.abort(new Error('client gone'));
      return;
    }
    const out: string[] = [];
    const conn = connectionTokens(headers.connection);
    for (const name in headers) {
      if (HOP_BY_HOP.has(name) || (conn !== undefined && conn.has(name))) continue;
      const v = headers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) out.push(name, v[i]!);
      else out.push(name, v);
    }
    const extra = this.fr.responseHeaders;
    for (let i = 0; i < extra.length; i++) out.push(extra[i]![0], extra[i]![1]);
    try {
      res.writeHead(statusCode, statusMessage || undefined, out as unknown as OutgoingHttpHeader[]);
      // headers normally leave with the first body chunk (one write); an event stream may not send one for a
      // long time, and its client waits for the headers to start
      const ct = headers['content-type'];
      if (typeof ct === 'string' && ct.startsWith('text/event-stream')) res.flushHeaders();
    } catch {
      controller.abort(new Error('invalid upstream response headers'));
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.sample !== undefined && this.sampleSize < this.fr.sampleBytes) {
      const take = Math.min(chunk.length, this.fr.sampleBytes - this.sampleSize);
      this.sample.push(take === chunk.length ? chunk : chunk.subarray(0, take));
      this.sampleSize += take;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', (this.onDrain ??= (): void => this.controller?.resume()));
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(undefined, this.status);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.finished) return;
    const kind = classify(err);
    const res = this.res;
    if (this.upstreamMs === 0) this.upstreamMs = performance.now() - this.t0;
    if (kind === 'client-abort' || res.destroyed) {
      this.finish('client-abort', 0);
      return;
    }
    if (!res.headersSent) {
      // the request body may be half-sent: close the client connection rather than re-sync it
      const closeConn = this.fr.body !== null;
      const status = kind === 'timeout' ? 504 : 502;
      const bytes =
        kind === 'timeout'
          ? sendProblem(res, 'gatewayTimeout', 'The upstream did not answer in time.', this.fr.requestId, this.fr.responseHeaders, closeConn)
          : sendProblem(res, 'badGateway', 'The upstream could not be reached.', this.fr.requestId, this.fr.responseHeaders, closeConn);
      this.bytes = bytes;
      this.finish(kind, status, true);
    } else {
      // mid-stream failure: the only honest signal left is to cut the connection
      res.destroy(err);
      this.finish(kind, this.status);
    }
  }

  private finish(error: ForwardResult['error'], status: number, byGateway = false): void {
    if (this.finished) return;
    this.finished = true;
    if (this.onDrain !== undefined) this.res.removeListener('drain', this.onDrain);
    const bodySample = this.sample !== undefined && this.sample.length > 0 ? Buffer.concat(this.sample, this.sampleSize) : undefined;
    this.done({ status, bytes: this.bytes, upstreamMs: this.upstreamMs, byGateway, error, bodySample });
  }
}

/** Options of a {@link Forwarder}. Times in ms. */
export interface ForwarderOptions {
  /** Upstream base URLs (`http://host:port[/base]`), used round robin. At least one. */
  upstreams: readonly string[];
  /** Keep-alive connections per upstream (policy `proxy.connections`). */
  connections: number;
  /** Wait for upstream response headers before answering 504 (policy `proxy.headersTimeout`). */
  headersTimeout: number;
  /** Idle time between body chunks before the exchange is aborted (policy `proxy.bodyTimeout`). */
  bodyTimeout: number;
}

/**
 * Forwards requests to upstreams over undici keep-alive {@link Pool}s (one per upstream, round robin),
 * streaming both bodies. Uses `dispatch` with a handler rather than `request()` so no intermediate
 * response stream is created per request (the hot path writes upstream chunks straight to the socket).
 *
 * @throws {TypeError} from the constructor when an upstream URL is not http(s).
 */
export class Forwarder {
  private readonly ups: Upstream[];
  private next = 0;
  readonly options: ForwarderOptions;

  constructor(opts: ForwarderOptions) {
    if (opts.upstreams.length === 0) throw new TypeError('Forwarder needs at least one upstream');
    this.options = opts;
    this.ups = opts.upstreams.map((u) => {
      const url = new URL(u);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`upstream must be http(s): ${u}`);
      const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
      const pool = new Pool(url.origin, {
        connections: opts.connections,
        pipelining: 1,
        keepAliveTimeout: 10_000,
        headersTimeout: opts.headersTimeout,
        bodyTimeout: opts.bodyTimeout,
        connect: { timeout: Math.min(10_000, opts.headersTimeout) },
      });
      return { origin: url.origin, basePath, pool };
    });
  }

  /** The upstream origins, in round-robin order. */
  get origins(): string[] {
    return this.ups.map((u) => u.origin);
  }

  /**
   * Sends one request upstream and streams the answer to `res`. `done` is called exactly once.
   * Never throws: dispatch errors become 502 problem details.
   * @returns a function that aborts the exchange (call it when the client goes away).
   */
  forward(res: ServerResponse, fr: ForwardRequest, done: (r: ForwardResult) => void): () => void {
    const up = this.ups.length === 1 ? this.ups[0]! : this.ups[this.next++ % this.ups.length]!;
    if (this.next > 1e9) this.next = 0;
    const handler = new ProxyHandler(res, fr, done);
    try {
      up.pool.dispatch(
        {
          path: up.basePath === '' ? fr.path : up.basePath + fr.path,
          method: fr.method,
          headers: fr.headers,
          body: fr.body,
          headersTimeout: this.options.headersTimeout,
          bodyTimeout: this.options.bodyTimeout,
          // requests are only safe to retry when the method is; undici uses this for pipelining decisions
          idempotent: fr.method === 'GET' || fr.method === 'HEAD',
        },
        handler,
      );
    } catch (err) {
      handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, err as Error);
    }
    return () => handler.abortFromClient();
  }

  /**
   * Readiness probe: true when a TCP connection to some upstream opens within `timeoutMs`.
   */
  async probe(timeoutMs = 1000): Promise<boolean> {
    for (const u of this.ups) {
      const url = new URL(u.origin);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host, port });
        const t = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, timeoutMs);
        s.once('connect', () => {
          clearTimeout(t);
          s.destroy();
          resolve(true);
        });
        s.once('error', () => {
          clearTimeout(t);
          resolve(false);
        });
      });
      if (ok) return true;
    }
    return false;
  }

  /** Closes the pools after their in-flight requests complete (bounded by `graceMs`, then destroyed). */
  async close(graceMs = 5000): Promise<void> {
    await Promise.all(
      this.ups.map(async (u) => {
        const t = setTimeout(() => void u.pool.destroy().catch(() => {}), graceMs);
        try {
          await u.pool.close();
        } catch {
          /* already closed/destroyed */
        } finally {
          clearTimeout(t);
        }
      }),
    );
  }
}
