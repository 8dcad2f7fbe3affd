import type { IncomingHttpHeaders } from 'node:http';
import { RequestContext } from '../../core/context.ts';
import type { Detector } from '../../core/detector.ts';
import type { ResponseInfo, Signal } from '../../core/types.ts';
import { policySchema, type Policy } from '../../config/schema.ts';
import { markGoodBot } from './common.ts';

/**
 * Test helpers for the behavioural detectors (used by their `*.test.ts` files): policies with overrides,
 * request contexts built directly, and a driver that runs the request, body and response phases like the
 * pipeline does.
 */

/** A validated policy with the given `behavior` overrides (and optional top-level fields). */
export function policyWith(behavior: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Policy {
  return policySchema.parse({ ...top, behavior });
}

/** Request facts for {@link makeCtx}. `t` is the start time in ms (drives every window). */
export interface ReqInit {
  ip?: string;
  method?: string;
  target?: string;
  headers?: IncomingHttpHeaders;
  body?: string;
  t?: number;
  user?: string;
  /** Whether `user` came from a trusted auth layer (default true: `ctx.userVerified`). */
  userVerified?: boolean;
  apiKey?: string;
  fingerprint?: string;
  /** Templated route as API discovery would set it. */
  route?: string;
  /** Whether the API key / unverified user was accepted by the upstream before (default true when one is set). */
  identityAccepted?: boolean;
  /** Marked as a verified good crawler, as the bots detector does. */
  goodBot?: boolean;
}

let seq = 0;

/** Builds a {@link RequestContext} as the data plane would (client key = IP). */
export function makeCtx(r: ReqInit = {}): RequestContext {
  const ip = r.ip ?? '198.51.100.1';
  const headers: IncomingHttpHeaders = { host: 'api.test', ...(r.headers ?? {}) };
  if (r.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const ctx = new RequestContext({
    id: `t${++seq}`,
    clientIp: ip,
    clientKey: ip,
    peerIp: ip,
    method: r.method ?? 'GET',
    target: r.target ?? '/',
    headers,
    startedAt: r.t ?? 1_700_000_000_000,
  });
  if (r.user) {
    ctx.user = r.user;
    ctx.userVerified = r.userVerified ?? true;
  }
  if (r.apiKey) ctx.apiKey = r.apiKey;
  // as after an earlier request the upstream accepted (the gateway learns it); `identityAccepted: false` for a made-up one
  if (r.apiKey || r.user) ctx.identityAccepted = r.identityAccepted ?? true;
  if (r.goodBot) markGoodBot(ctx, true);
  if (r.fingerprint) ctx.fingerprint = r.fingerprint;
  if (r.route) ctx.route = r.route;
  if (r.body !== undefined) ctx.body = { bytes: Buffer.from(r.body), truncated: false, declaredLength: Buffer.byteLength(r.body) };
  return ctx;
}

/** A response as the data plane reports it (forwarded upstream answer unless `byGateway`). */
export function makeRes(status: number, opts: Partial<ResponseInfo> = {}): ResponseInfo {
  return { status, latencyMs: 5, bytes: 100, byGateway: false, ...opts };
}

/**
 * Runs one request through a detector: request phase, body phase (when a body is set), then — unless the
 * request phase asked for block/ban/throttle — the response phase with `status`.
 * @returns every signal emitted, in order.
 */
export async function drive(d: Detector, r: ReqInit, status = 200, res: Partial<ResponseInfo> = {}): Promise<Signal[]> {
  const ctx = makeCtx(r);
  ctx.add(await d.inspectRequest?.(ctx));
  if (ctx.body) ctx.add(await d.inspectBody?.(ctx));
  const stopped = ctx.signals.some((s) => !s.monitor && (s.action === 'ban' || s.action === 'block' || s.action === 'throttle'));
  const info = stopped ? makeRes(s403(ctx.signals), { byGateway: true }) : makeRes(status, res);
  ctx.add(await d.observeResponse?.(ctx, info));
  return ctx.signals;
}

function s403(sigs: Signal[]): number {
  return sigs.some((s) => s.action === 'throttle') && !sigs.some((s) => s.action === 'ban' || s.action === 'block') ? 429 : 403;
}

/** Rule ids of the signals. */
export function ids(sigs: readonly Signal[]): string[] {
  return sigs.map((s) => s.ruleId);
}
