import type { FastifyRequest } from 'fastify';
import type { SqliteDb } from '../store/sqlite.ts';
import type { AuditInput } from './audit.ts';
import type { AuthService, Principal } from './auth.ts';
import type { ControlPlaneHost } from './host.ts';
import type { PolicyService } from './policy.ts';
import type { TrafficStats } from './stats/traffic.ts';
import type { ControlPlaneStore, Role } from './store.ts';
import type { StreamHub } from './stream.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the control plane's authentication hook (docs/api.md). */
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Minimum role of a control-plane route; routes without it are admin-only. */
    role?: Role;
    /** Public route (login, bootstrap): no credential needed. */
    public?: boolean;
  }
}

/** What a route records in the audit log; actor, actor id and IP come from the request. */
export type AuditFields = Omit<AuditInput, 'actor' | 'actorId' | 'ip'>;

/** Audit helper handed to route plugins: `audit(request, { action, resource, resourceId?, before?, after? })`. */
export type AuditFn = (request: FastifyRequest, entry: AuditFields) => void;

/**
 * Options passed to every control-plane route plugin, including ALERTS' `incidentRoutes` / `alertRoutes`
 * (docs/api.md, "Plugin options for ALERTS").
 */
export interface ControlPlanePluginOptions {
  app: ControlPlaneHost;
  db: SqliteDb;
  audit: AuditFn;
  /** Publishes an `incident` or `alert` message to the live stream. */
  stream: { publish(name: string, data: unknown): void };
}

/** Everything the built-in routes share. */
export interface ControlPlaneContext extends ControlPlanePluginOptions {
  store: ControlPlaneStore;
  auth: AuthService;
  policy: PolicyService;
  stats: TrafficStats;
  hub: StreamHub;
}

/** The principal of an authenticated route (the hook guarantees it). */
export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  if (!p) throw new Error('route reached without a principal (authentication hook missing)');
  return p;
}
