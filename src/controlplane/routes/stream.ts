import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf, type ControlPlaneContext } from '../context.ts';
import { SseConnection } from '../stream.ts';
import { ApiError } from '../problem.ts';
import { decisionFor } from './data.ts';
import type { Decision } from '../../core/types.ts';

const TYPES = ['event', 'decision', 'counters', 'incident', 'alert'] as const;
/** Open streams allowed at once (each costs a socket and up to 1 MiB of buffer): 503 past it. */
export const MAX_STREAMS = 200;
/** Open streams per principal (user or token): 429 past it, so one viewer cannot take every slot. */
export const MAX_STREAMS_PER_PRINCIPAL = 8;

/**
 * `GET /stream`: Server-Sent Events of security events, decision changes, per-second counters and ALERTS'
 * incidents/alerts (docs/api.md "Live stream"). Authenticated like every route (session cookie or token).
 */
export async function streamRoutes(f: FastifyInstance, ctx: ControlPlaneContext): Promise<void> {
  const r = f.withTypeProvider<ZodTypeProvider>();
  const perPrincipal = new Map<string, number>();
  r.get('/stream', {
    config: { role: 'viewer' },
    schema: {
      tags: ['stream'],
      summary: 'Live stream (text/event-stream): hello, event, decision, counters, incident, alert, dropped',
      querystring: z.strictObject({ types: z.string().max(128).regex(/^[a-z,]*$/).optional() }),
    },
  }, async (request, reply) => {
    const p = principalOf(request);
    if (ctx.hub.size >= MAX_STREAMS) throw new ApiError(503, 'BWK_UNAVAILABLE', `too many open streams (${MAX_STREAMS})`, { headers: { 'retry-after': '5' } });
    const open = perPrincipal.get(p.id) ?? 0;
    if (open >= MAX_STREAMS_PER_PRINCIPAL) throw new ApiError(429, 'BWK_RATE_LIMITED', `too many open streams for this user or token (${MAX_STREAMS_PER_PRINCIPAL})`, { headers: { 'retry-after': '5' } });
    let types: Set<string> | undefined;
    if (request.query.types) {
      types = new Set(request.query.types.split(',').filter((t) => (TYPES as readonly string[]).includes(t)));
      types.add('hello');
      types.add('dropped');
    }
    reply.hijack();
    const res = reply.raw;
    perPrincipal.set(p.id, open + 1);
    res.once('close', () => {
      const n = (perPrincipal.get(p.id) ?? 1) - 1;
      if (n <= 0) perPrincipal.delete(p.id);
      else perPrincipal.set(p.id, n);
    });
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    };
    res.writeHead(200, headers);
    res.socket?.setNoDelay(true);
    // Credentials are re-checked at every heartbeat: revoking the token or ending the session closes the stream.
    const transform =
      p.role === 'viewer'
        ? (name: string, data: unknown) => {
            const c = data as { op?: string; decision?: Decision };
            return name === 'decision' && c.op === 'put' && c.decision ? { ...c, decision: decisionFor('viewer', c.decision) } : data;
          }
        : undefined;
    const conn = new SseConnection(res, types, async () => (await ctx.auth.authenticate(request)) !== undefined, transform);
    ctx.hub.add(conn, res);
    conn.send('hello', { principal: { id: p.id, name: p.name, role: p.role, kind: p.kind }, serverTime: Date.now() });
  });
}
