import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { roleAllows, SESSION_COOKIE, validUsername } from '../auth.ts';
import { hashPassword } from '../crypto.ts';
import { principalOf, type ControlPlaneContext } from '../context.ts';
import { ApiError, errors } from '../problem.ts';
import { publicUser } from '../store.ts';
import { apiTokenSchema, loginResponse, sessionResponse, tokenCreatedResponse, userSchema } from '../schemas.ts';

const role = z.enum(['admin', 'analyst', 'viewer']);
const username = z.string().min(1).max(64).refine(validUsername, 'expected 1–64 letters, digits, ".", "_", "@", "-"');
/** OWASP ASVS 2.1.1/2.1.2: at least 12 characters, up to at least 64 (we allow 1,024; scrypt input is not truncated). */
const password = z.string().min(12, 'expected at least 12 characters').max(1024);
const idParams = z.strictObject({ id: z.string().min(1).max(64) });

function setSessionCookie(ctx: ControlPlaneContext, request: FastifyRequest, reply: FastifyReply, sessionId: string): void {
  const cfg = ctx.app.policy().controlPlane;
  reply.setCookie(SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https' || cfg.secureCookies,
    path: '/',
    maxAge: Math.floor(cfg.session.absoluteTimeout / 1000),
  });
}

/** Authentication, users and API tokens (docs/api.md "Authentication and roles", "Users and tokens"). */
export async function authRoutes(f: FastifyInstance, ctx: ControlPlaneContext): Promise<void> {
  const r = f.withTypeProvider<ZodTypeProvider>();
  const { auth, store } = ctx;

  r.post('/auth/login', {
    config: { public: true },
    schema: { tags: ['auth'], summary: 'Log in with a username and password; sets the session cookie', body: z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) }), response: { 200: loginResponse } },
  }, async (request, reply) => {
    const res = await auth.login(request.ip, request.body.username, request.body.password);
    // A mistyped password sometimes lands in the username field: record only well-formed usernames.
    const named = validUsername(request.body.username) ? request.body.username : '[not a valid username]';
    if (!res.ok) {
      if (res.reason === 'rate_limited') {
        ctx.audit(request, { action: 'auth.login.rate_limited', resource: 'session', after: { username: named } });
        throw new ApiError(429, 'BWK_RATE_LIMITED', 'too many login attempts', { headers: { 'retry-after': String(res.retryAfterS) } });
      }
      ctx.audit(request, { action: 'auth.login.failed', resource: 'session', after: { username: named } });
      throw errors.unauthenticated('invalid username or password');
    }
    setSessionCookie(ctx, request, reply, res.sessionId);
    request.principal = { id: res.user.id, name: res.user.username, role: res.user.role, kind: 'session', userId: res.user.id };
    ctx.audit(request, { action: 'auth.login', resource: 'session', resourceId: res.user.id });
    return { user: res.user, csrfToken: res.csrfToken, expiresAt: res.expiresAt };
  });

  r.post('/auth/logout', { config: { role: 'viewer' }, schema: { tags: ['auth'], summary: 'End the session' } }, async (request, reply) => {
    const p = principalOf(request);
    if (p.sessionHash) await store.deleteSession(p.sessionHash);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    ctx.audit(request, { action: 'auth.logout', resource: 'session', resourceId: p.userId });
    return reply.code(204).send();
  });

  r.get('/auth/session', { config: { role: 'viewer' }, schema: { tags: ['auth'], summary: 'Who am I; the CSRF token of the session', response: { 200: sessionResponse } } }, async (request) => {
    const p = principalOf(request);
    const s = p.sessionHash ? await auth.csrfOf(p.sessionHash) : undefined;
    return { user: { id: p.id, name: p.name, role: p.role, kind: p.kind }, ...(s ?? {}) };
  });

  r.post('/auth/bootstrap', {
    config: { public: true },
    schema: { tags: ['auth'], summary: 'Create the first admin with the one-time bootstrap token', body: z.strictObject({ token: z.string().min(1).max(128), username, password }) },
  }, async (request, reply) => {
    const user = await auth.useBootstrap(request.body.token, request.body.username, request.body.password);
    request.principal = { id: user.id, name: user.username, role: user.role, kind: 'session', userId: user.id };
    ctx.audit(request, { action: 'user.bootstrap', resource: 'user', resourceId: user.id, after: user });
    return reply.code(201).send({ user });
  });

  r.post('/auth/password', {
    config: { role: 'viewer' },
    schema: { tags: ['auth'], summary: 'Change the own password (sessions only)', body: z.strictObject({ currentPassword: z.string().min(1).max(1024), newPassword: password }) },
  }, async (request, reply) => {
    const p = principalOf(request);
    if (p.kind !== 'session') throw errors.forbidden('password changes need a session, not an API token');
    const user = await store.getUser(p.userId);
    if (!user) throw errors.forbidden('current password is wrong');
    const check = await auth.checkPassword(request.ip, user, request.body.currentPassword);
    if (check.result === 'rate_limited') throw new ApiError(429, 'BWK_RATE_LIMITED', 'too many password attempts', { headers: { 'retry-after': String(check.retryAfterS) } });
    if (check.result !== 'ok') throw errors.forbidden('current password is wrong');
    await store.updateUser(user.id, { passwordHash: await hashPassword(request.body.newPassword) });
    await store.deleteUserSessions(user.id, p.sessionHash);
    ctx.audit(request, { action: 'user.password', resource: 'user', resourceId: user.id });
    return reply.code(204).send();
  });

  // Users (admin).
  r.get('/users', { config: { role: 'admin' }, schema: { tags: ['users'], summary: 'List users', response: { 200: z.object({ items: z.array(userSchema) }) } } }, async () => ({ items: await store.listUsers() }));

  r.post('/users', {
    config: { role: 'admin' },
    schema: { tags: ['users'], summary: 'Create a user', body: z.strictObject({ username, password, role }), response: { 201: userSchema } },
  }, async (request, reply) => {
    if ((await store.getUserByName(request.body.username)) !== undefined) throw errors.conflict('username already exists');
    const u = publicUser(await store.createUser({ username: request.body.username, role: request.body.role, passwordHash: await hashPassword(request.body.password) }));
    ctx.audit(request, { action: 'user.create', resource: 'user', resourceId: u.id, after: u });
    return reply.code(201).send(u);
  });

  r.patch('/users/:id', {
    config: { role: 'admin' },
    schema: { tags: ['users'], summary: 'Change role, disable, or reset the password of a user', params: idParams, body: z.strictObject({ role: role.optional(), disabled: z.boolean().optional(), password: password.optional() }), response: { 200: userSchema } },
  }, async (request) => {
    const cur = await store.getUser(request.params.id);
    if (!cur) throw errors.notFound('user');
    const b = request.body;
    const demotes = (b.role !== undefined && b.role !== 'admin') || b.disabled === true;
    if (cur.role === 'admin' && !cur.disabled && demotes && (await store.countAdmins()) <= 1) throw errors.conflict('cannot demote or disable the last admin');
    const next = (await store.updateUser(cur.id, { role: b.role, disabled: b.disabled, passwordHash: b.password === undefined ? undefined : await hashPassword(b.password) }))!;
    if (b.role !== undefined || b.disabled !== undefined || b.password !== undefined) await store.deleteUserSessions(cur.id);
    const before = publicUser(cur);
    const after = publicUser(next);
    ctx.audit(request, { action: 'user.update', resource: 'user', resourceId: cur.id, before, after: { ...after, passwordChanged: b.password !== undefined } });
    return after;
  });

  r.delete('/users/:id', { config: { role: 'admin' }, schema: { tags: ['users'], summary: 'Delete a user (revokes its sessions and tokens)', params: idParams } }, async (request, reply) => {
    const cur = await store.getUser(request.params.id);
    if (!cur) throw errors.notFound('user');
    if (cur.role === 'admin' && !cur.disabled && (await store.countAdmins()) <= 1) throw errors.conflict('cannot delete the last admin');
    await store.revokeUserTokens(cur.id, Date.now());
    await store.deleteUserSessions(cur.id);
    await store.deleteUser(cur.id);
    ctx.audit(request, { action: 'user.delete', resource: 'user', resourceId: cur.id, before: publicUser(cur) });
    return reply.code(204).send();
  });

  // API tokens (admin).
  r.get('/tokens', { config: { role: 'admin' }, schema: { tags: ['tokens'], summary: 'List API tokens (never the tokens themselves)', response: { 200: z.object({ items: z.array(apiTokenSchema) }) } } }, async () => ({ items: await store.listTokens() }));

  r.post('/tokens', {
    config: { role: 'admin' },
    schema: { tags: ['tokens'], summary: 'Create an API token; the token is shown only in this response', body: z.strictObject({ name: z.string().min(1).max(64), role, ttlS: z.int().min(60).max(31_536_000).optional() }), response: { 201: tokenCreatedResponse } },
  }, async (request, reply) => {
    const p = principalOf(request);
    if (!roleAllows(p.role, request.body.role)) throw errors.forbidden('a token cannot have a higher role than its creator');
    const t = await auth.createToken({ userId: p.userId }, request.body.name, request.body.role, request.body.ttlS);
    const { token: _secret, ...shown } = t;
    ctx.audit(request, { action: 'token.create', resource: 'token', resourceId: t.id, after: shown });
    return reply.code(201).send(t);
  });

  r.delete('/tokens/:id', { config: { role: 'admin' }, schema: { tags: ['tokens'], summary: 'Revoke an API token', params: idParams } }, async (request, reply) => {
    if (!(await store.revokeToken(request.params.id, Date.now()))) throw errors.notFound('token');
    ctx.audit(request, { action: 'token.revoke', resource: 'token', resourceId: request.params.id });
    return reply.code(204).send();
  });
}
