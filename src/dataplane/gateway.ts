import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { RequestContext, originForm } from '../core/context.ts';
// re-exported: callers and tests of the data plane know it from here
export { originForm };
import type { Pipeline } from '../core/pipeline.ts';
import type { Services } from '../core/services.ts';
import type { Action, Decision, ResponseInfo } from '../core/types.ts';
import type { CidrSet } from '../core/ip.ts';
import type { Policy } from '../config/schema.ts';
import type { SecurityEvent } from '../events/types.ts';
import { resolveClient, resolveForwarded, type ClientAddress } from './client-ip.ts';
import { clientKeyOf, formatIp, parseIp, type ParsedIp } from '../core/ip.ts';
import { AcceptedIdentities, extractIdentity } from './identity.ts';
import { declaredLength, hasBody, readBodyPrefix } from './body.ts';
import { connectionTokens, HOP_BY_HOP, statusClass, type Forwarder, type ForwardResult } from './forward.ts';
import { rawProblem, sendProblem } from './problem.ts';

/**
 * Everything a request needs that changes on a policy reload. Swapped atomically as one object: a request
 * reads the state once when it arrives and finishes on it, so a reload never mixes two policies.
 */
export interface GatewayState {
  readonly policy: Policy;
  readonly pipeline: Pipeline;
  /** `policy.trustedProxies`, compiled. */
  readonly trusted: CidrSet;
  readonly forwarder: Forwarder;
}

/** Converts a finished request into a security event (STATE's `toSecurityEvent`). */
export type ToEvent = (ctx: RequestContext, status: number, latencyMs: number) => SecurityEvent;

/** Options of the {@link Gateway}. */
export interface GatewayOptions {
  state: GatewayState;
  services: Services;
  toEvent: ToEvent;
}

/** Request headers the gateway sets itself (values from the client are replaced or appended to). */
const OWN_REQUEST_HEADERS: readonly string[] = ['host', 'expect', 'x-forwarded-for', 'forwarded', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'http2-settings'];

/** Client request headers never copied upstream as they are: hop-by-hop ones and {@link OWN_REQUEST_HEADERS} (one lookup per header). */
const NOT_COPIED: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...OWN_REQUEST_HEADERS]);

/** Client-supplied X-Request-Id values are reused only when short and made of safe characters. */
function safeRequestId(v: string | string[] | undefined): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) return undefined;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95 || c === 46 || c === 58;
    if (!ok) return undefined;
  }
  return v;
}

/** RFC 7239 node value: IPv6 must be quoted and bracketed. */
function forwardedNode(ip: string): string {
  return ip.indexOf(':') === -1 ? ip : `"[${ip}]"`;
}

/**
 * The `Forwarded` element this gateway appends, `for=<peer>;proto=http[;host=<host>]`. The last one built is
 * reused while peer and host stay the same (the usual case: one proxy or load generator, one host name).
 */
let lastElement = { peer: '', host: '', element: '' };
function forwardedElement(peer: string, host: string): string {
  const last = lastElement;
  if (last.peer === peer && last.host === host && last.element !== '') return last.element;
  const element = `for=${forwardedNode(peer)};proto=http${host ? `;host=${forwardedHost(host)}` : ''}`;
  lastElement = { peer, host, element };
  return element;
}

/** RFC 7239 `host=` value: a token or a quoted string. */
function forwardedHost(host: string): string {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const token = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
    if (!token) return JSON.stringify(host);
  }
  return host;
}

/**
 * Headers sent upstream: the client's headers minus hop-by-hop ones (RFC 9110 §7.6.1: Connection and the
 * names it lists, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade) and `Expect`
 * (answered by the gateway itself), plus `X-Forwarded-For` (peer appended), RFC 7239 `Forwarded`
 * (element appended), `X-Forwarded-Proto`/`X-Forwarded-Host` (kept only from trusted proxies) and
 * `X-Request-Id`. `Host` becomes the upstream's (like nginx's default `proxy_set_header Host $proxy_host`);
 * the original is in `X-Forwarded-Host`.
 */
export function upstreamHeaders(ctx: RequestContext, peerTrusted: boolean): string[] {
  const h = ctx.headers;
  const out: string[] = [];
  const conn = connectionTokens(h.connection);
  for (const name in h) {
    if (NOT_COPIED.has(name) || (conn !== undefined && conn.has(name))) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (let i = 0; i < v.length; i++) out.push(name, v[i]!);
  }
  const peer = ctx.peerIp;
  const xff = h['x-forwarded-for'];
  out.push('x-forwarded-for', xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${peer}` : peer);
  const host = h.host ?? '';
  const fwdPrev = h.forwarded;
  const element = forwardedElement(peer, host);
  out.push('forwarded', fwdPrev ? `${fwdPrev}, ${element}` : element);
  const proto = peerTrusted ? h['x-forwarded-proto'] : undefined;
  out.push('x-forwarded-proto', typeof proto === 'string' && proto.length > 0 ? proto : 'http');
  const fhost = peerTrusted ? h['x-forwarded-host'] : undefined;
  if (typeof fhost === 'string' && fhost.length > 0) out.push('x-forwarded-host', fhost);
  else if (host) out.push('x-forwarded-host', host);
  out.push('x-request-id', ctx.id);
  return out;
}

type CounterChild = { inc(): void };

const ACTIONS: readonly Action[] = ['allow', 'log', 'throttle', 'block', 'ban'];


/**
 * Per-connection cache of the peer address: parsed once per TCP connection (keep-alive connections carry
 * many requests), revalidated when the state (trusted proxies, IPv6 prefix) changes.
 */
interface PeerCache {
  state: GatewayState;
  parsed: ParsedIp;
  peerIp: string;
  trusted: boolean;
  /** The resolved client when the peer is not a trusted proxy (then it is the same for every request). */
  direct?: ClientAddress;
}
const kPeer = Symbol('bulwark.peer');

/** Resolves the client of a request, using the connection's cached peer facts. */
function clientOf(req: IncomingMessage, st: GatewayState): ClientAddress {
  const sock = req.socket as Socket & { [kPeer]?: PeerCache };
  let pc = sock[kPeer];
  if (pc === undefined || pc.state !== st) {
    const parsed = parseIp(sock.remoteAddress ?? '');
    if (parsed === undefined) return resolveClient(sock.remoteAddress, req.headers, st.trusted, st.policy.clientIp.ipv6PrefixLength, st.policy.clientIp.forwardedHeader);
    const peerIp = formatIp(parsed);
    const trusted = st.trusted.size > 0 && st.trusted.hasParsed(parsed);
    pc = { state: st, parsed, peerIp, trusted, direct: trusted ? undefined : { clientIp: peerIp, clientKey: clientKeyOf(parsed, st.policy.clientIp.ipv6PrefixLength), peerIp } };
    sock[kPeer] = pc;
  }
  return pc.direct ?? resolveForwarded(pc.parsed, pc.peerIp, req.headers, st.trusted, st.policy.clientIp.ipv6PrefixLength, st.policy.clientIp.forwardedHeader);
}

/**
 * True when the request's TCP peer is a trusted proxy: the connection's cached fact ({@link clientOf} set it),
 * parsed again only when the connection has no cache for the current policy.
 */
function peerTrusted(req: IncomingMessage, st: GatewayState, peerIp: string): boolean {
  const pc = (req.socket as Socket & { [kPeer]?: PeerCache })[kPeer];
  return pc !== undefined && pc.state === st ? pc.trusted : st.trusted.has(peerIp);
}

/**
 * The data plane: a node:http server that builds a {@link RequestContext} per request, runs the pipeline
 * (request phase → optional body prefix → body phase → decide), answers 429/403 problem details or forwards
 * upstream (streaming), then runs the response phase, creates ban decisions, records security events and
 * metrics. Never lets an error escape a request: failures become problem details or a closed connection.
 */
export class Gateway {
  readonly server: Server;
  readonly services: Services;
  private current: GatewayState;
  private readonly toEvent: ToEvent;
  /** API keys and unverified users the upstream accepted (see `RequestContext.identityAccepted`). */
  readonly acceptedIdentities: AcceptedIdentities;
  /** Requests in flight on the current state (a plain counter: the request path touches no Map). */
  private currentInflight = 0;
  /** Requests in flight on replaced states. */
  private readonly inflight = new Map<GatewayState, number>();
  private readonly retired = new Map<GatewayState, () => void>();
  private readonly requestsByAction: Record<Action, CounterChild>;
  private readonly sockets = new Set<Socket>();
  private readonly latencyByClass = new Map<string, { observe(v: number): void }>();

  constructor(opts: GatewayOptions) {
    this.current = opts.state;
    this.services = opts.services;
    this.toEvent = opts.toEvent;
    this.acceptedIdentities = new AcceptedIdentities(opts.state.policy.state.maxKeys);
    const m = opts.services.metrics;
    this.requestsByAction = Object.fromEntries(ACTIONS.map((a) => [a, m.requests.labels(a)])) as Record<Action, CounterChild>;
    // connectionsCheckingInterval: how often Node enforces headersTimeout (default 30 s, which lets a slowloris
    // client hold a connection for up to twice the timeout)
    this.server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0, headersTimeout: opts.state.policy.proxy.clientHeadersTimeout, connectionsCheckingInterval: 1000 }, (req, res) => this.handle(req, res));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // malformed request line / headers: answer 400 without touching the pipeline (Node's parser rejected it:
      // conflicting or duplicate Content-Length, Content-Length with Transfer-Encoding, control characters,
      // header section over 16 KiB, …) — and record it, since hostile input must leave an event
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (typeof err.code === 'string' && err.code.startsWith('HPE_')) this.recordParseError(err, socket);
      else if (timedOut) this.recordParseError(err, socket, 'gateway.header-timeout', 408, 'request header section not complete within the headers timeout (slowloris)');
      // a response already being written on this connection (pipelining): a 400 now would land inside it, so
      // let it finish, then close. One not started yet is this request's (a body the parser rejected): the 400
      // answers it (Node's own rule: write only when no response has sent its headers)
      const busy = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (busy != null && busy.headersSent && !busy.writableFinished && socket.writable && err.code !== 'ECONNRESET') {
        busy.once('finish', () => socket.destroySoon());
        busy.once('close', () => socket.destroy());
      } else if (socket.writable && err.code !== 'ECONNRESET') {
        socket.end(
          timedOut
            ? rawProblem('requestTimeout', 'The request headers did not arrive in time.')
            : rawProblem('badRequest', 'The request could not be parsed.'),
        );
      } else {
        socket.destroy();
      }
    });
    // Expect: 100-continue: Node would answer 100 at once; the exchange sends it only when it is about to read
    // the body, so a request refused on its headers is refused before the client uploads anything
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
    // CONNECT (a forward-proxy tunnel) has no meaning at a reverse proxy; without a listener Node drops the
    // socket silently, leaving no answer and no event
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => {
      const err = Object.assign(new Error('CONNECT'), { code: 'CONNECT' }) as NodeJS.ErrnoException;
      this.recordParseError(err, socket, 'gateway.connect-method', 405, 'CONNECT is not supported by a reverse proxy', `CONNECT ${req.url ?? ''}`);
      socket.on('error', () => socket.destroy());
      socket.end(rawProblem('methodNotAllowed', 'CONNECT is not supported.'));
    });
    this.applyTimeouts(opts.state.policy);
    this.server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** The state requests currently start on. */
  get state(): GatewayState {
    return this.current;
  }

  /**
   * Atomically replaces the state (policy reload). Requests already in flight finish on the old state;
   * `onIdle` runs once none are left (close the old pipeline/forwarder there).
   */
  swap(next: GatewayState, onIdle: (old: GatewayState) => void): void {
    const old = this.current;
    if (old === next) return;
    this.current = next;
    this.applyTimeouts(next.policy);
    const n = this.currentInflight;
    this.currentInflight = this.inflight.get(next) ?? 0;
    this.inflight.delete(next);
    if (n === 0) onIdle(old);
    else {
      this.inflight.set(old, n);
      this.retired.set(old, () => onIdle(old));
    }
  }

  /**
   * Idle-socket timeout: a client that sends nothing and receives nothing for longer than the upstream may
   * legitimately take (max of `proxy.headersTimeout` and `proxy.bodyTimeout`, plus 5 s) is disconnected,
   * so slow-drip request bodies cannot hold connections forever. Header completion is bounded separately
   * (`proxy.clientHeadersTimeout`, Node's slowloris guard: 408 and a `gateway.header-timeout` event).
   */
  private applyTimeouts(p: Policy): void {
    this.server.timeout = Math.max(p.proxy.headersTimeout, p.proxy.bodyTimeout) + 5000;
    this.server.headersTimeout = p.proxy.clientHeadersTimeout;
  }

  /** Starts listening. @returns the bound address (port 0 picks an ephemeral port). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      this.server.once('error', onErr);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onErr);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes the rest.
   */
  async close(graceMs = 5000): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const t = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    t.unref();
    await closed;
    clearTimeout(t);
  }

  private enter(st: GatewayState): void {
    if (st === this.current) this.currentInflight++;
    else this.inflight.set(st, (this.inflight.get(st) ?? 0) + 1);
  }

  private leave(st: GatewayState): void {
    if (st === this.current) {
      this.currentInflight--;
      return;
    }
    const n = (this.inflight.get(st) ?? 1) - 1;
    if (n > 0) {
      this.inflight.set(st, n);
      return;
    }
    this.inflight.delete(st);
    const idle = this.retired.get(st);
    if (idle !== undefined) {
      this.retired.delete(st);
      idle();
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const st = this.current;
    this.enter(st);
    let ex: Exchange | undefined;
    try {
      const policy = st.policy;
      const addr = clientOf(req, st);
      const ctx = new RequestContext({
        id: safeRequestId(req.headers['x-request-id']) ?? randomUUID(),
        clientIp: addr.clientIp,
        clientKey: addr.clientKey,
        peerIp: addr.peerIp,
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        httpVersion: req.httpVersion,
      });
      extractIdentity(ctx, policy.identity, peerTrusted(req, st, addr.peerIp));
      this.acceptedIdentities.mark(ctx);
      ex = new Exchange(this, st, ctx, req, res);
      ex.start();
    } catch (err) {
      this.internalError(err, st, res, ex);
    }
  }

  /** Last-resort handler: a bug in the gateway or a detector escaped; answer 500 and keep serving. */
  internalError(err: unknown, st: GatewayState, res: ServerResponse, ex?: Exchange): void {
    try {
      this.services.logger.error({ err }, 'gateway: internal error while handling a request');
    } catch {
      /* logging must not throw */
    }
    if (!res.headersSent && !res.destroyed) sendProblem(res, 'internal', 'The gateway failed to handle the request.', ex?.ctx.id ?? 'unknown', undefined, true);
    else res.destroy();
    if (ex === undefined) this.leave(st);
    else ex.abandon();
  }

  /** @internal called by an exchange exactly once. */
  done(st: GatewayState): void {
    this.leave(st);
  }

  /** @internal upstream latency, seconds, by status class (children cached: no label hashing per request). */
  observeUpstream(cls: string, seconds: number): void {
    let h = this.latencyByClass.get(cls);
    if (h === undefined) {
      h = this.services.metrics.upstreamLatency.labels(cls);
      this.latencyByClass.set(cls, h);
    }
    h.observe(seconds);
  }

  /** @internal */
  countRequest(action: Action): void {
    this.requestsByAction[action].inc();
  }

  /**
   * Records a request refused before any handler ran as a `block` event (category `protocol`) with the error
   * code: by default one Node's HTTP parser rejected (`gateway.http-parse-error`, 400); also a header section
   * that timed out (`gateway.header-timeout`, 408) and CONNECT (`gateway.connect-method`, 405). The client is
   * the TCP peer: forwarding headers are not believed here. `requestLine` replaces the one read from the
   * parser's raw packet. Never throws.
   */
  private recordParseError(
    err: NodeJS.ErrnoException,
    socket: Socket,
    ruleId = 'gateway.http-parse-error',
    status = 400,
    message = `HTTP parser rejected the request (${err.code})`,
    requestLine?: string,
  ): void {
    try {
      const st = this.current;
      const parsed = parseIp(socket.remoteAddress ?? '');
      const peerIp = parsed ? formatIp(parsed) : (socket.remoteAddress ?? 'unknown');
      const clientKey = parsed ? clientKeyOf(parsed, st.policy.clientIp.ipv6PrefixLength) : peerIp;
      // the request line as far as it is printable ASCII (bounded), for the event summary only
      const raw = (err as { rawPacket?: Buffer }).rawPacket;
      let line = requestLine?.slice(0, 256) ?? '';
      if (raw && requestLine === undefined) {
        for (let i = 0; i < raw.length && i < 256; i++) {
          const c = raw[i]!;
          if (c < 0x20 || c > 0x7e) break;
          line += String.fromCharCode(c);
        }
      }
      const sp = line.indexOf(' ');
      const sp2 = sp === -1 ? -1 : line.indexOf(' ', sp + 1);
      const ctx = new RequestContext({
        id: randomUUID(),
        clientIp: peerIp,
        clientKey,
        peerIp,
        method: sp > 0 ? line.slice(0, Math.min(sp, 16)) : 'UNKNOWN',
        target: sp > 0 ? line.slice(sp + 1, sp2 === -1 ? undefined : sp2) : '',
        headers: {},
      });
      const why = (err as unknown as { reason?: unknown }).reason;
      const reason = (typeof why === 'string' ? why : err.message).slice(0, 128);
      ctx.add({
        ruleId,
        detector: 'gateway',
        category: 'protocol',
        score: 0,
        action: 'block',
        message,
        evidence: { location: { kind: 'request_line' }, detail: { code: err.code ?? 'unknown', reason } },
      });
      ctx.verdict = { action: 'block', wouldBe: 'block', monitor: false, anomalyScore: 0, risk: 0.6, level: 'HIGH', status, reasons: [ruleId] };
      this.countRequest('block');
      this.record(ctx, status, 0);
    } catch (e) {
      this.services.logger.warn({ err: e }, 'gateway: could not record a parser rejection');
    }
  }

  /** @internal */
  record(ctx: RequestContext, status: number, latencyMs: number): void {
    try {
      this.services.events.push(this.toEvent(ctx, status, latencyMs));
    } catch (err) {
      this.services.logger.warn({ err }, 'gateway: could not record a security event');
    }
  }
}

const kExchange = Symbol('bulwark.exchange');
type ExchangeResponse = ServerResponse & { [kExchange]?: Exchange };

/** `close` listener shared by all forwarded responses (a response closes once): no closure per request. */
function onResponseClose(this: ExchangeResponse): void {
  this[kExchange]?.clientClosed();
}

/**
 * One request/response exchange. A class (not closures) so the hot path allocates one object per request.
 */
class Exchange {
  readonly gw: Gateway;
  readonly st: GatewayState;
  readonly ctx: RequestContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  private inspectMs = 0;
  private bodyBuffer: Buffer | null = null;
  private bodyPending: boolean;
  /** The client sent `Expect: 100-continue` and has not been told to go on yet. */
  private continuePending: boolean;
  private finished = false;
  private abort: (() => void) | undefined;
  /** Signals present before the response phase; later ones are response-phase signals. */
  private requestSignalCount = 0;
  private decisionMs = 0;

  constructor(gw: Gateway, st: GatewayState, ctx: RequestContext, req: IncomingMessage, res: ServerResponse) {
    this.gw = gw;
    this.st = st;
    this.ctx = ctx;
    this.req = req;
    this.res = res;
    this.bodyPending = hasBody(req);
    const expect = req.headers.expect;
    this.continuePending = expect !== undefined && expect.toLowerCase() === '100-continue';
  }

  /** Sends the interim `100 Continue` a client waiting with `Expect: 100-continue` needs before its body (once). */
  private continueBody(): void {
    if (!this.continuePending) return;
    this.continuePending = false;
    if (!this.res.headersSent && !this.res.destroyed) this.res.writeContinue();
  }

  start(): void {
    const t0 = performance.now();
    const r = this.st.pipeline.runRequest(this.ctx);
    if (r === undefined) {
      const t1 = performance.now();
      this.inspectMs += t1 - t0;
      this.afterRequestPhase(t1);
    } else {
      r.then(
        () => {
          const t1 = performance.now();
          this.inspectMs += t1 - t0;
          this.afterRequestPhase(t1);
        },
        (err: unknown) => this.gw.internalError(err, this.st, this.res, this),
      );
    }
  }

  private stoppedEarly(): boolean {
    const ctx = this.ctx;
    if (ctx.matchedDecision !== undefined && !ctx.allowListed) return true;
    const s = ctx.signals;
    for (let i = 0; i < s.length; i++) {
      const a = s[i]!.action;
      if ((a === 'block' || a === 'ban') && !s[i]!.monitor && this.st.policy.mode === 'enforce') return true;
    }
    return false;
  }

  /** @param now - `performance.now()` at the end of the request phase (the decide step's start when no body is read). */
  private afterRequestPhase(now: number): void {
    try {
      const policy = this.st.policy;
      const bodyCfg = policy.body;
      if (this.bodyPending && (this.st.pipeline.needsBody || bodyCfg.oversize === 'reject') && !this.stoppedEarly()) {
        const declared = declaredLength(this.req);
        if (bodyCfg.oversize === 'reject' && declared !== undefined && declared > bodyCfg.inspectLimitBytes) {
          this.answerTooLarge();
          return;
        }
        this.continueBody();
        readBodyPrefix(this.req, bodyCfg.inspectLimitBytes, policy.proxy.bodyTimeout).then(
          (r) => {
            if (r.error !== undefined) {
              // client went away or stalled while sending the body: nothing to answer, nothing to forward
              this.res.destroy();
              this.complete(0, 0, 0, true);
              return;
            }
            if (r.oversize && bodyCfg.oversize === 'reject') {
              this.answerTooLarge();
              return;
            }
            if (r.complete) {
              this.bodyBuffer = r.prefix;
              this.bodyPending = false;
            }
            this.ctx.body = { bytes: r.prefix, truncated: !r.complete, declaredLength: declared };
            if (!this.st.pipeline.needsBody) {
              this.decideAndAct();
              return;
            }
            const t0 = performance.now();
            const b = this.st.pipeline.runBody(this.ctx);
            if (b === undefined) {
              const t1 = performance.now();
              this.inspectMs += t1 - t0;
              this.decideAndAct(t1);
            } else {
              b.then(
                () => {
                  const t1 = performance.now();
                  this.inspectMs += t1 - t0;
                  this.decideAndAct(t1);
                },
                (err: unknown) => this.gw.internalError(err, this.st, this.res, this),
              );
            }
          },
          (err: unknown) => this.gw.internalError(err, this.st, this.res, this),
        );
        return;
      }
      this.decideAndAct(now);
    } catch (err) {
      this.gw.internalError(err, this.st, this.res, this);
    }
  }

  /**
   * Records a protocol-level rejection by the gateway itself (oversize body, unforwardable request-target)
   * as a signal so it is decided, counted and recorded as a security event like any other block.
   */
  private protocolReject(ruleId: string, message: string): void {
    this.ctx.add({ ruleId, detector: 'gateway', category: 'protocol', score: 0, action: 'block', message });
    this.ctx.verdict = undefined;
    this.st.pipeline.decide(this.ctx);
    this.requestSignalCount = this.ctx.signals.length;
  }

  private answerTooLarge(): void {
    this.protocolReject('gateway.body-too-large', `request body larger than body.inspectLimitBytes (${this.st.policy.body.inspectLimitBytes} bytes) with body.oversize: reject`);
    const bytes = sendProblem(this.res, 'tooLarge', 'The request body is larger than this gateway accepts.', this.ctx.id, this.ctx.responseHeaders, true);
    this.complete(413, bytes, 0, true);
  }

  /** Creates ban decisions for non-monitor `ban` signals from index `from` on; returns the first one. */
  private applyBans(from: number): Decision | undefined {
    const ctx = this.ctx;
    if (ctx.allowListed || this.st.policy.mode !== 'enforce') return undefined;
    let first: Decision | undefined;
    const s = ctx.signals;
    for (let i = from; i < s.length; i++) {
      const sig = s[i]!;
      if (sig.action !== 'ban' || sig.monitor) continue;
      try {
        const d = this.gw.services.decisions.add({
          scope: sig.ban?.scope ?? 'ip',
          value: sig.ban?.value ?? ctx.clientKey,
          type: 'ban',
          origin: 'rule',
          source: sig.ruleId,
          reason: sig.message ?? sig.ruleId,
          durationMs: sig.ban?.durationMs,
        });
        first ??= d;
      } catch (err) {
        this.gw.services.logger.warn({ err, rule: sig.ruleId }, 'gateway: could not create a ban decision');
      }
    }
    return first;
  }

  /** @param now - `performance.now()` taken just before, when the caller has one (saves a clock read). */
  private decideAndAct(now?: number): void {
    try {
      this.decideAndActUnsafe(now ?? performance.now());
    } catch (err) {
      // also reached from promise callbacks: an exception here must not become an unhandled rejection
      this.gw.internalError(err, this.st, this.res, this);
    }
  }

  private decideAndActUnsafe(t0: number): void {
    const ctx = this.ctx;
    const v = this.st.pipeline.decide(ctx);
    const banned = this.applyBans(0);
    if (banned !== undefined) v.decision = banned;
    else if (ctx.matchedDecision !== undefined && v.decision === undefined) v.decision = ctx.matchedDecision;
    this.decisionMs = performance.now() - t0;
    this.inspectMs += this.decisionMs;
    this.requestSignalCount = ctx.signals.length;
    this.gw.services.metrics.inspectionLatency.observe(this.inspectMs / 1000);

    if (v.status !== 0) {
      const extra: [string, string][] = ctx.responseHeaders.slice();
      if (v.status === 429 && v.retryAfterS !== undefined) extra.push(['retry-after', String(Math.max(1, Math.ceil(v.retryAfterS)))]);
      // an unread body: close unless it is small enough for Node to drain cheaply
      const declared = declaredLength(this.req);
      const close = this.bodyPending && !this.req.complete && (declared === undefined || declared > 64 * 1024);
      const bytes =
        v.status === 429
          ? sendProblem(this.res, 'throttled', 'Rate limit exceeded; retry after the time given in Retry-After.', ctx.id, extra, close)
          : sendProblem(this.res, 'blocked', 'The request was blocked by the gateway security policy.', ctx.id, extra, close);
      this.complete(v.status, bytes, 0, true);
      return;
    }
    if (this.req.destroyed && !this.req.complete) {
      this.complete(0, 0, 0, true);
      return;
    }
    this.forward();
  }

  private forward(): void {
    const ctx = this.ctx;
    const path = originForm(ctx.target);
    if (path === undefined) {
      this.protocolReject('gateway.request-target', 'request-target is neither origin-form nor absolute-form');
      const close = this.bodyPending && !this.req.complete;
      const bytes = sendProblem(this.res, 'badRequest', 'The request-target must be an absolute path (origin-form) or an absolute URI.', ctx.id, ctx.responseHeaders, close);
      this.complete(400, bytes, 0, true);
      return;
    }
    const fromProxy = ctx.peerIp !== ctx.clientIp || peerTrusted(this.req, this.st, ctx.peerIp);
    const body = this.bodyBuffer ?? (this.bodyPending ? this.req : null);
    if (body === this.req) this.continueBody();
    (this.res as ExchangeResponse)[kExchange] = this;
    this.res.on('close', onResponseClose);
    this.abort = this.st.forwarder.forward(
      this.res,
      {
        method: ctx.method,
        path,
        headers: upstreamHeaders(ctx, fromProxy),
        body,
        requestId: ctx.id,
        responseHeaders: ctx.responseHeaders,
        sampleBytes: ctx.wantResponseBody,
      },
      (r) => this.onForwarded(r),
    );
    const minRate = this.st.policy.proxy.minBodyRate;
    if (minRate > 0 && this.bodyPending && !this.req.complete) this.guardBodyRate(minRate, this.st.policy.proxy.minBodyRateWindow);
  }

  /**
   * Answers 408 and aborts the exchange when the client sends the rest of its body slower than `minRate`
   * bytes/s over a window of `windowMs` (policy `proxy.minBodyRate`). A window in which the gateway holds unread
   * body bytes does not count: the upstream is the slow side then (backpressure), not the client.
   */
  private guardBodyRate(minRate: number, windowMs: number): void {
    const req = this.req;
    const socket = req.socket;
    let last = socket.bytesRead;
    const timer = setInterval(() => {
      if (this.finished || req.complete || req.destroyed) {
        clearInterval(timer);
        return;
      }
      const got = socket.bytesRead - last;
      last = socket.bytesRead;
      if (req.readableLength > 0 || got * 1000 >= minRate * windowMs) return;
      clearInterval(timer);
      try {
        this.protocolReject('gateway.slow-body', `request body arrived at ${Math.floor((got * 1000) / windowMs)} bytes/s, under proxy.minBodyRate (${minRate} bytes/s)`);
        const bytes = this.res.headersSent ? 0 : sendProblem(this.res, 'requestTimeout', 'The request body arrived too slowly.', this.ctx.id, this.ctx.responseHeaders, true);
        this.complete(408, bytes, 0, true);
        this.abort?.();
        req.destroy();
      } catch (err) {
        this.gw.services.logger.warn({ err }, 'gateway: slow-body abort failed');
      }
    }, windowMs);
    timer.unref();
  }

  private onForwarded(r: ForwardResult): void {
    try {
      this.onForwardedUnsafe(r);
    } catch (err) {
      this.gw.services.logger.error({ err }, 'gateway: failure after forwarding');
      this.abandon();
    }
  }

  private onForwardedUnsafe(r: ForwardResult): void {
    const m = this.gw.services.metrics;
    if (r.error !== undefined && r.error !== 'client-abort') m.upstreamErrors.inc({ kind: r.error });
    this.gw.observeUpstream(r.error !== undefined && r.byGateway ? 'error' : statusClass(r.status), r.upstreamMs / 1000);
    this.complete(r.status, r.bytes, r.upstreamMs, r.byGateway, r.bodySample);
  }

  /** The client response is done (or abandoned): response phase, post-response bans, event, metrics. */
  private complete(status: number, bytes: number, upstreamMs: number, byGateway: boolean, bodySample?: Buffer): void {
    if (this.finished) return;
    this.finished = true;
    const ctx = this.ctx;
    this.gw.acceptedIdentities.learn(ctx, status, byGateway, this.st.policy);
    this.gw.countRequest(ctx.verdict?.action ?? 'allow');
    const eventLatencyMs = byGateway ? this.decisionMs : upstreamMs;
    if (this.st.pipeline.observesResponse) {
      const info: ResponseInfo = { status, latencyMs: performance.now() - ctx.startedHr, bytes, byGateway, bodySample };
      const p = this.st.pipeline.observeResponse(ctx, info);
      if (p !== undefined) {
        p.then(
          () => this.afterResponse(status, eventLatencyMs),
          () => this.afterResponse(status, eventLatencyMs),
        );
        return;
      }
    }
    this.afterResponse(status, eventLatencyMs);
  }

  private afterResponse(status: number, eventLatencyMs: number): void {
    try {
      const ctx = this.ctx;
      const v = ctx.verdict;
      const postBan = ctx.signals.length > this.requestSignalCount ? this.applyBans(this.requestSignalCount) : undefined;
      if (postBan !== undefined && v !== undefined) v.decision ??= postBan;
      if (v !== undefined && (v.action !== 'allow' || v.monitor || v.wouldBe !== 'allow')) {
        this.gw.services.metrics.decisions.inc({ action: v.monitor ? v.wouldBe : v.action, rule: v.reasons[0] ?? 'anomaly', monitor: v.monitor ? 'true' : 'false' });
      }
      const notable = v !== undefined && (v.action !== 'allow' || v.monitor || v.wouldBe !== 'allow' || postBan !== undefined || this.hasLogSignal());
      const sample = this.st.policy.events.sampleAllowed;
      if (notable || (v !== undefined && sample > 0 && Math.random() < sample)) this.gw.record(ctx, status, eventLatencyMs);
    } catch (err) {
      this.gw.services.logger.warn({ err }, 'gateway: response phase failed');
    } finally {
      this.gw.done(this.st);
    }
  }

  private hasLogSignal(): boolean {
    const s = this.ctx.signals;
    for (let i = 0; i < s.length; i++) if (s[i]!.action !== undefined && s[i]!.action !== 'allow') return true;
    return false;
  }

  /** The client response closed: abort the upstream exchange unless the response was completed. */
  clientClosed(): void {
    if (!this.finished && this.abort !== undefined && !this.res.writableFinished) this.abort();
  }

  /** An internal error ended the exchange early. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.gw.done(this.st);
  }
}
