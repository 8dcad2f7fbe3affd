import { existsSync } from 'node:fs';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { recordAudit, storeFor } from './audit.ts';
import { AuthService, roleAllows, type Principal } from './auth.ts';
import type { ControlPlaneContext, ControlPlanePluginOptions } from './context.ts';
import type { ControlPlaneHost } from './host.ts';
import { dashboardPlugin } from './dashboard.ts';
import { PolicyService } from './policy.ts';
import { ApiError, problem, type ProblemIssue } from './problem.ts';
import { trafficStatsFor } from './stats/traffic.ts';
import { StreamHub } from './stream.ts';
import { authRoutes } from './routes/auth.ts';
import { dataRoutes } from './routes/data.ts';
import { policyRoutes } from './routes/policy.ts';
import { streamRoutes } from './routes/stream.ts';

/** Request body limit of every control-plane route (bytes): 1 MiB, enough for a large policy. */
export const CONTROL_PLANE_BODY_LIMIT = 1024 * 1024;

/** CSP of JSON API responses and the docs page. `frame-ancestors 'none'` forbids framing (clickjacking). */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function issuePath(context: string | undefined, instancePath: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  let out = context && context !== 'body' ? context : '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || context || '';
}

/** Turns any error thrown in the control plane into problem details (RFC 9457). Never leaks stack traces. */
function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply, logger: Logger): FastifyReply {
  const instance = request.url.split('?')[0];
  reply.type('application/problem+json');
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers ?? {})) reply.header(k, v);
    return reply.code(err.statusCode).send(problem(err.statusCode, err.code, err.message, instance, err.errors));
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const ctxName = (err as { validationContext?: string }).validationContext;
    const issues: ProblemIssue[] = err.validation.map((v) => ({ path: issuePath(ctxName, v.instancePath), message: v.message ?? 'invalid' }));
    return reply.code(400).send(problem(400, 'BWK_VALIDATION', `invalid ${ctxName ?? 'request'}`, instance, issues));
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return reply.code(413).send(problem(413, 'BWK_PAYLOAD_TOO_LARGE', `request body larger than ${CONTROL_PLANE_BODY_LIMIT} bytes`, instance));
  if (status === 415) return reply.code(415).send(problem(415, 'BWK_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type', instance));
  if (status >= 400 && status < 500) return reply.code(status).send(problem(status, 'BWK_VALIDATION', err.message, instance));
  // The admin listener's Fastify logger is off: report through the gateway's logger (method and path only).
  logger.error({ err, method: request.method, path: instance }, 'control plane: internal error');
  reply.code(500).send(problem(500, 'BWK_INTERNAL', 'internal error', instance));
  return reply;
}

/** Optional route plugins of ALERTS: file, export name. Registered when the file exists. */
const OPTIONAL_PLUGINS: readonly [string, string][] = [
  ['./incidents/routes.ts', 'incidentRoutes'],
  ['./alerts/routes.ts', 'alertRoutes'],
];

/**
 * The control plane: registers, on the admin listener, the management API under `/api/v1` (docs/api.md),
 * the OpenAPI document and interactive docs at `/api/docs`, authentication (sessions, CSRF, API tokens,
 * roles), the audit log, policy versions, statistics, exports and the live stream; and ALERTS' incident and
 * alert route plugins when present.
 *
 * Everything lives in one encapsulated Fastify scope: the zod validator, error handler, security headers
 * and the authentication hook do not touch the admin listener's own routes (/healthz, /readyz, /metrics).
 * Does nothing when the policy sets `controlPlane.enabled: false`.
 * @throws when the control-plane migrations fail or a route plugin throws while registering.
 */
export async function controlPlanePlugin(admin: FastifyInstance, app: ControlPlaneHost): Promise<void> {
  // `controlPlane.enabled: false` keeps the admin listener to /healthz, /readyz, /metrics (read at start).
  if (!app.policy().controlPlane.enabled) return;
  const db = app.services.db;
  const store = storeFor(db);
  const auth = new AuthService(store, app);
  const policy = new PolicyService(store, app);
  await policy.init();
  await auth.bootstrap();
  const stats = trafficStatsFor(db);
  let unsubscribeCounters: (() => void) | undefined;
  const hub = new StreamHub((active) => {
    if (active) unsubscribeCounters = stats.onSecond((t, c) => hub.publish('counters', { t, ...c }));
    else unsubscribeCounters?.();
  });
  const unsubEvents = app.services.events.subscribe((e) => {
    if (hub.size > 0) hub.publish('event', e);
  });
  const unsubDecisions = app.services.decisions.subscribe((c) => {
    if (hub.size > 0) hub.publish('decision', c);
  });

  const audit: ControlPlanePluginOptions['audit'] = (request, entry) => {
    const p = request.principal;
    void recordAudit(db, { actor: p?.name ?? 'anonymous', actorId: p?.id, ip: request.ip, ...entry }).then((id) => {
      if (id === undefined) app.services.logger.error({ action: entry.action }, 'control plane: audit write failed');
    });
  };
  const opts: ControlPlanePluginOptions = { app, db, audit, stream: { publish: (name, data) => hub.publish(name, data) } };
  const ctx: ControlPlaneContext = { ...opts, store, auth, policy, stats, hub };

  const prune = setInterval(() => {
    store.pruneSessions(Date.now(), app.policy().controlPlane.session.idleTimeout).catch(() => {
      /* retried next hour */
    });
  }, 3_600_000);
  prune.unref();

  await admin.register(async (root) => {
    root.setValidatorCompiler(validatorCompiler);
    root.setSerializerCompiler(serializerCompiler);
    root.setErrorHandler((err: FastifyError, request, reply) => errorHandler(err, request, reply, app.services.logger));
    await root.register(cookie);
    root.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, root.getDefaultJsonParser('error', 'error'));
    root.addHook('onRoute', (r) => {
      r.bodyLimit ??= CONTROL_PLANE_BODY_LIMIT;
    });
    root.addHook('onSend', async (request, reply, payload) => {
      const docs = request.url.startsWith('/api/docs');
      if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', docs ? DOCS_CSP : API_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cross-origin-opener-policy', 'same-origin');
      if (!docs) reply.header('cache-control', 'no-store');
      return payload;
    });
    await root.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: { title: 'Bulwark control plane API', version: '1.0.0', description: 'Management API of the Bulwark gateway. See docs/api.md.' },
        components: {
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: 'API token `bwk_…`' },
            session: { type: 'apiKey', in: 'cookie', name: 'bwk_session', description: 'Session cookie; unsafe methods also need X-CSRF-Token' },
          },
        },
        security: [{ bearer: [] }, { session: [] }],
      },
      transform: jsonSchemaTransform,
    });
    await root.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: false });

    await root.register(
      async (api) => {
        api.addHook('onRequest', async (request) => {
          const cfg = request.routeOptions.config;
          let p: Principal | undefined;
          let failure: unknown;
          try {
            p = await auth.authenticate(request);
          } catch (err) {
            failure = err;
          }
          // A ban refuses anonymous callers and failed credentials (login brute force, guessing), not operators
          // who authenticated: a range ban or a shared address (NAT, the same host) that failed logins must not
          // lock out the people who can lift it.
          if (p === undefined && auth.bannedBy(request.ip) !== undefined) throw new ApiError(403, 'BWK_BANNED', 'client is banned');
          if (cfg.public === true) {
            request.principal = p; // public routes ignore stale credentials
            return;
          }
          if (failure !== undefined) throw failure;
          if (!p) throw new ApiError(401, 'BWK_UNAUTHENTICATED', 'authentication required', { headers: { 'www-authenticate': 'Bearer realm="bulwark"' } });
          request.principal = p;
          const min = cfg.role ?? 'admin';
          if (!roleAllows(p.role, min)) throw new ApiError(403, 'BWK_FORBIDDEN', `requires role ${min}`);
        });
        api.setNotFoundHandler((request, reply) => {
          reply.code(404).type('application/problem+json').send(problem(404, 'BWK_NOT_FOUND', 'no such resource', request.url.split('?')[0]));
        });
        await authRoutes(api, ctx);
        await dataRoutes(api, ctx);
        await policyRoutes(api, ctx);
        await streamRoutes(api, ctx);
        for (const [file, name] of OPTIONAL_PLUGINS) {
          const url = new URL(file, import.meta.url);
          if (!existsSync(url) && !existsSync(new URL(file.replace(/\.ts$/, '.js'), import.meta.url))) continue;
          const mod = (await import(existsSync(url) ? file : file.replace(/\.ts$/, '.js'))) as Record<string, unknown>;
          const plugin = mod[name];
          if (typeof plugin === 'function') await api.register(plugin as Parameters<typeof api.register>[0], opts as never);
          else app.services.logger.warn({ file, name }, 'control plane: optional plugin file has no such export');
        }
      },
      { prefix: '/api/v1' },
    );
  });

  await dashboardPlugin(admin); // dashboard SPA (web/dist) at / with a strict CSP: src/controlplane/dashboard.ts

  admin.addHook('preClose', async () => {
    hub.close();
  });
  admin.addHook('onClose', async () => {
    clearInterval(prune);
    unsubEvents();
    unsubDecisions();
    unsubscribeCounters?.();
    hub.close();
    stats.flush();
  });
}
