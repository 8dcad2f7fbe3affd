import type { IncomingHttpHeaders } from 'node:http';
import pino from 'pino';
import { RequestContext } from '../core/context.ts';
import type { Services } from '../core/services.ts';
import { Metrics } from '../observability/metrics.ts';
import { MemoryDecisionStore } from '../decisions/memory-store.ts';
import { createDecisionService } from '../decisions/service.ts';
import type { Policy } from '../config/schema.ts';

/** A request context for detector unit tests; `user` is verified (`ctx.userVerified`) unless `userVerified: false`. */
export function makeCtx(init: { ip?: string; clientKey?: string; method?: string; target?: string; headers?: IncomingHttpHeaders; apiKey?: string; user?: string; userVerified?: boolean; fingerprint?: string } = {}): RequestContext {
  const ip = init.ip ?? '192.0.2.1';
  const c = new RequestContext({ id: 'req', clientIp: ip, clientKey: init.clientKey ?? ip, peerIp: ip, method: init.method ?? 'GET', target: init.target ?? '/', headers: init.headers ?? {} });
  if (init.apiKey !== undefined) c.apiKey = init.apiKey;
  if (init.user !== undefined) {
    c.user = init.user;
    c.userVerified = init.userVerified ?? true;
  }
  if (init.fingerprint !== undefined) c.fingerprint = init.fingerprint;
  return c;
}

/** Minimal real services (memory decision store, silent logger, private metrics registry) for detector tests. */
export async function makeServices(policy: Policy, extra: Partial<Services> = {}): Promise<Services> {
  const decisions = await createDecisionService({ store: new MemoryDecisionStore(), policy: () => policy, sweepIntervalMs: 0 });
  return {
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(false),
    decisions,
    events: undefined as unknown as Services['events'],
    eventStore: undefined as unknown as Services['eventStore'],
    db: undefined as unknown as Services['db'],
    dataDir: '/nonexistent',
    ...extra,
  };
}
