import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.ts';

/** One readiness check: name → ok plus an optional short reason. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };
}

/** Options of the admin listener. */
export interface AdminOptions {
  metrics: Metrics;
  /** Checks behind `/readyz` (stores open, upstream reachable, policy loaded). */
  readiness: readonly ReadinessCheck[];
  /** Updates gauges that are cheaper to read on scrape than to maintain (event queue depth, decisions). */
  beforeScrape?: () => void;
  /** Maximum request body accepted by the admin listener and the control plane mounted on it (bytes). */
  bodyLimit?: number;
}

/**
 * Builds the admin listener (Fastify, not yet listening): `GET /healthz` (the process is up), `GET /readyz`
 * (every readiness check passes; 503 with the failing checks otherwise), `GET /metrics` (Prometheus text
 * exposition of the gateway's registry). The control plane registers its plugin on the returned instance
 * before `listen()`.
 */
export function createAdminServer(opts: AdminOptions): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 1024 * 1024, trustProxy: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const results: Record<string, { ok: boolean; detail?: string }> = {};
    let ready = true;
    for (const c of opts.readiness) {
      let r: { ok: boolean; detail?: string };
      try {
        r = await c.check();
      } catch (err) {
        r = { ok: false, detail: (err as Error).message };
      }
      results[c.name] = r;
      if (!r.ok) ready = false;
    }
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not-ready', checks: results };
  });
  app.get('/metrics', async (_req, reply) => {
    try {
      opts.beforeScrape?.();
    } catch {
      /* a gauge refresh must not break the scrape */
    }
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  return app;
}
