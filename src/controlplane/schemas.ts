import { z } from 'zod';

/**
 * Response schemas of the control-plane API (zod → OpenAPI through fastify-type-provider-zod). Responses are
 * encoded through them, so only the declared fields leave the server (a stray `passwordHash` or token hash
 * would be stripped, not leaked).
 */
export const roleSchema = z.enum(['admin', 'analyst', 'viewer']);

/** A user as the API returns it. Times in ms since epoch. */
export const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: roleSchema,
  createdAt: z.number(),
  lastLoginAt: z.number().optional(),
  disabled: z.boolean(),
});

/** An API token without its secret. */
export const apiTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  prefix: z.string(),
  userId: z.string(),
  createdAt: z.number(),
  expiresAt: z.number().optional(),
  lastUsedAt: z.number().optional(),
  revokedAt: z.number().optional(),
});

/** The caller. */
export const principalSchema = z.object({ id: z.string(), name: z.string(), role: roleSchema, kind: z.enum(['session', 'token']) });

/** `POST /auth/login`. */
export const loginResponse = z.object({ user: userSchema, csrfToken: z.string(), expiresAt: z.number() });
/** `GET /auth/session`. */
export const sessionResponse = z.object({ user: principalSchema, csrfToken: z.string().optional(), expiresAt: z.number().optional() });
/** `POST /tokens`: the only response that carries the token. */
export const tokenCreatedResponse = apiTokenSchema.extend({ token: z.string() });

/** Counters of one timeline bucket. */
export const countersSchema = z.object({ allowed: z.number(), logged: z.number(), throttled: z.number(), blocked: z.number(), monitored: z.number() });
/** `GET /stats/timeline`. */
export const timelineResponse = z.object({ bucket: z.enum(['minute', 'hour']), from: z.number(), to: z.number(), items: z.array(countersSchema.extend({ t: z.number() })) });

/** `GET /policy/versions`. */
export const versionsResponse = z.object({
  items: z.array(z.object({ version: z.number(), author: z.string(), createdAt: z.number(), comment: z.string().optional(), linesAdded: z.number(), linesRemoved: z.number() })),
  nextCursor: z.string().optional(),
});
/** Result of applying a policy change. */
export const appliedResponse = z.object({ version: z.number(), etag: z.string(), linesAdded: z.number(), linesRemoved: z.number() });
