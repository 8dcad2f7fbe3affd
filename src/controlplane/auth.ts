import { RequestContext } from '../core/context.ts';
import { clientKey } from '../core/ip.ts';
import { LruMap } from '../core/lru.ts';
import { gcra } from '../ratelimit/gcra.ts';
import type { ControlPlanePolicy } from './schema.ts';
import type { ControlPlaneHost } from './host.ts';
import { ApiError, errors } from './problem.ts';
import { hashPassword, newApiToken, randomToken, safeEqual, sha256, TOKEN_PREFIX, verifyDummy, verifyPassword } from './crypto.ts';
import { publicUser, ROLE_RANK, type ApiToken, type ControlPlaneStore, type Role, type User, type UserRecord } from './store.ts';

/** Who is calling: set on `request.principal` by the authentication hook. */
export interface Principal {
  /** User id (sessions) or token id (tokens). */
  id: string;
  /** User name, or `token:<name>` for API tokens. */
  name: string;
  role: Role;
  kind: 'session' | 'token';
  /** For sessions: the SHA-256 of the session id (used by logout / CSRF). */
  sessionHash?: string;
  /** Owning user id (tokens: the creator). */
  userId: string;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'bwk_session';
/** Header carrying the CSRF token on cookie-authenticated unsafe requests (double-submit). */
export const CSRF_HEADER = 'x-csrf-token';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Session `last_seen_at` is written at most this often (ms): bounds writes, costs ≤ 1 min of idle precision. */
const TOUCH_EVERY_MS = 60_000;

/** The minimal request facts authentication needs (a Fastify request satisfies it). */
export interface AuthRequest {
  method: string;
  ip: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  cookies?: Record<string, string | undefined>;
}

/** Login attempt outcome. */
export type LoginResult =
  | { ok: true; user: User; sessionId: string; csrfToken: string; expiresAt: number }
  | { ok: false; reason: 'bad_credentials' }
  | { ok: false; reason: 'rate_limited'; retryAfterS: number };

/**
 * Authentication and sessions of the control plane: passwords (scrypt), session cookies with idle and
 * absolute expiry (OWASP Session Management Cheat Sheet), CSRF double-submit tokens, API tokens (`bwk_…`,
 * stored as SHA-256), first-run bootstrap, and login protection — GCRA per IP and per username
 * (`src/ratelimit/gcra.ts`) and a ban of the client IP through the DecisionService after repeated failures
 * (source `controlplane.login`), so brute force against the control plane is stopped by Bulwark's own mechanism.
 */
export class AuthService {
  readonly store: ControlPlaneStore;
  private readonly host: ControlPlaneHost;
  /** GCRA theoretical arrival times per `ip:<key>` / `user:<name>`; bounded. */
  private readonly tats = new LruMap<string, number>(20_000);
  /** Failed logins per client key within the failure window; bounded. */
  private readonly failures = new LruMap<string, { count: number; since: number }>(20_000);
  /** One-time bootstrap token (only while no user exists and no admin password was given). */
  private bootstrapToken?: string;

  constructor(store: ControlPlaneStore, host: ControlPlaneHost) {
    this.store = store;
    this.host = host;
  }

  private get cfg(): ControlPlanePolicy {
    return this.host.policy().controlPlane;
  }

  /**
   * First run: with no user, creates the admin from `BULWARK_ADMIN_PASSWORD` (user `BULWARK_ADMIN_USER`,
   * default `admin`), or else generates a one-time bootstrap token and logs it once. Never a default password.
   * @returns what happened, for logs and tests.
   */
  async bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<'exists' | 'created' | 'token'> {
    if ((await this.store.countUsers()) > 0) return 'exists';
    const log = this.host.services.logger;
    const password = env.BULWARK_ADMIN_PASSWORD;
    const username = env.BULWARK_ADMIN_USER || 'admin';
    if (password && password.length >= 12 && password.length <= 1024 && validUsername(username)) {
      await this.store.createUser({ username, role: 'admin', passwordHash: await hashPassword(password) });
      log.info({ user: username }, 'control plane: admin user created from BULWARK_ADMIN_PASSWORD');
      return 'created';
    }
    if (password) log.error('control plane: BULWARK_ADMIN_PASSWORD ignored (needs 12–1024 characters); using a bootstrap token');
    this.bootstrapToken = randomToken();
    // The brief's first-run contract: the one-time token is printed once; it stops working after first use.
    log.warn(`control plane: no user yet; create the first admin with POST /api/v1/auth/bootstrap — bootstrap token: ${this.bootstrapToken}`);
    return 'token';
  }

  /** True while a bootstrap token is waiting to be used. */
  get bootstrapPending(): boolean {
    return this.bootstrapToken !== undefined;
  }

  /**
   * Exchanges the one-time bootstrap token for the first admin.
   * @throws {ApiError} 403 when the token is wrong or a user already exists.
   */
  async useBootstrap(token: string, username: string, password: string): Promise<User> {
    const want = this.bootstrapToken;
    if (want === undefined || (await this.store.countUsers()) > 0 || !safeEqual(token, want)) throw errors.forbidden('bootstrap not available or token invalid');
    this.bootstrapToken = undefined;
    return publicUser(await this.store.createUser({ username, role: 'admin', passwordHash: await hashPassword(password) }));
  }

  /** Client key of an IP (IPv6 aggregated to the policy's prefix) used for login limits and bans. */
  keyOf(ip: string): string {
    return clientKey(ip, this.host.policy().clientIp.ipv6PrefixLength);
  }

  private take(key: string, now: number): { allowed: boolean; retryAfterS: number } {
    const l = this.cfg.login;
    const r = gcra(this.tats.peek(key), now, { limit: l.ratePerMinute, windowMs: 60_000, burst: l.burst });
    if (r.allowed) this.tats.set(key, r.tat);
    return r;
  }

  /**
   * Checks a username/password. Rate limited per client IP and per username (GCRA, `controlPlane.login`);
   * each failure counts toward a ban of the client IP (`banAfterFailures` within `failureWindow`).
   */
  async login(ip: string, username: string, password: string, now = Date.now()): Promise<LoginResult> {
    const key = this.keyOf(ip);
    const a = this.take(`ip:${key}`, now);
    const b = this.take(`user:${username.toLowerCase()}`, now);
    if (!a.allowed || !b.allowed) {
      this.fail(key, now);
      return { ok: false, reason: 'rate_limited', retryAfterS: Math.max(a.retryAfterS, b.retryAfterS) };
    }
    const user = await this.store.getUserByName(username);
    const ok = user && !user.disabled ? await verifyPassword(password, user.passwordHash) : await verifyDummy(password);
    if (!ok || !user) {
      this.fail(key, now);
      return { ok: false, reason: 'bad_credentials' };
    }
    this.failures.delete(key);
    const sessionId = randomToken();
    const csrfToken = randomToken();
    const expiresAt = now + this.cfg.session.absoluteTimeout;
    await this.store.createSession({ idHash: sha256(sessionId), userId: user.id, csrfToken, createdAt: now, lastSeenAt: now, expiresAt });
    const updated = (await this.store.updateUser(user.id, { lastLoginAt: now })) ?? user;
    return { ok: true, user: publicUser(updated), sessionId, csrfToken, expiresAt };
  }

  /** Counts a failed login; at the threshold, bans the client key through the DecisionService. */
  private fail(key: string, now: number): void {
    const l = this.cfg.login;
    let f = this.failures.get(key);
    if (!f || now - f.since > l.failureWindow) {
      f = { count: 0, since: now };
      this.failures.set(key, f);
    }
    f.count++;
    if (f.count >= l.banAfterFailures) {
      this.failures.delete(key);
      try {
        this.host.services.decisions.add(
          { scope: key.includes('/') ? 'range' : 'ip', value: key, type: 'ban', origin: 'rule', source: 'controlplane.login', reason: `${f.count} failed control-plane logins within ${Math.round(l.failureWindow / 1000)} s`, durationMs: l.banDuration },
          now,
        );
        this.host.services.logger.warn({ client: key }, 'control plane: client banned after repeated failed logins');
      } catch (err) {
        this.host.services.logger.error({ err }, 'control plane: could not create login ban');
      }
    }
  }

  /** The active ban/throttle decision matching this client IP, if any (checked on every control-plane request). */
  bannedBy(ip: string, now = Date.now()): string | undefined {
    const key = this.keyOf(ip);
    const ctx = new RequestContext({ id: 'controlplane', clientIp: ip, clientKey: key, peerIp: ip, method: 'GET', target: '/', headers: {} });
    const d = this.host.services.decisions.match(ctx, now);
    return d && d.type === 'ban' ? d.id : undefined;
  }

  /**
   * Authenticates a request: Bearer API token first, then the session cookie (with CSRF check on unsafe
   * methods). Returns undefined when no credential was presented.
   * @throws {ApiError} 401 for an invalid/expired/revoked credential, 403 `BWK_CSRF` for a missing or wrong CSRF token.
   */
  async authenticate(req: AuthRequest, now = Date.now()): Promise<Principal | undefined> {
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && auth.length > 0) {
      const m = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(auth);
      if (!m || !m[1]!.startsWith(TOKEN_PREFIX)) throw errors.unauthenticated('invalid Authorization header: expected Bearer bwk_…');
      return this.tokenPrincipal(m[1]!, now);
    }
    const sid = req.cookies?.[SESSION_COOKIE];
    if (!sid) return undefined;
    const s = await this.store.getSession(sha256(sid));
    if (!s) throw errors.unauthenticated('session expired or invalid');
    const idle = this.cfg.session.idleTimeout;
    if (now >= s.expiresAt || now - s.lastSeenAt > idle) {
      await this.store.deleteSession(s.idHash);
      throw errors.unauthenticated('session expired');
    }
    const user = await this.store.getUser(s.userId);
    if (!user || user.disabled) throw errors.unauthenticated('session expired or invalid');
    if (UNSAFE.has(req.method)) {
      const h = req.headers[CSRF_HEADER];
      if (typeof h !== 'string' || !safeEqual(h, s.csrfToken)) throw new ApiError(403, 'BWK_CSRF', 'missing or invalid X-CSRF-Token header');
    }
    if (now - s.lastSeenAt >= TOUCH_EVERY_MS) await this.store.touchSession(s.idHash, now);
    return { id: user.id, name: user.username, role: user.role, kind: 'session', sessionHash: s.idHash, userId: user.id };
  }

  private async tokenPrincipal(token: string, now: number): Promise<Principal> {
    const t = await this.store.getTokenByHash(sha256(token));
    if (!t || t.revokedAt !== undefined) throw errors.unauthenticated('token invalid or revoked');
    if (t.expiresAt !== undefined && now >= t.expiresAt) throw errors.unauthenticated('token expired');
    const owner = await this.store.getUser(t.userId);
    if (!owner || owner.disabled) throw errors.unauthenticated('token owner disabled or deleted');
    if (t.lastUsedAt === undefined || now - t.lastUsedAt >= TOUCH_EVERY_MS) await this.store.touchToken(t.id, now);
    // A token never exceeds its owner's current role.
    const role = ROLE_RANK[t.role] <= ROLE_RANK[owner.role] ? t.role : owner.role;
    return { id: t.id, name: `token:${t.name}`, role, kind: 'token', userId: t.userId };
  }

  /** The CSRF token of a session (for `GET /auth/session`). */
  async csrfOf(sessionHash: string): Promise<{ csrfToken: string; expiresAt: number } | undefined> {
    const s = await this.store.getSession(sessionHash);
    return s ? { csrfToken: s.csrfToken, expiresAt: s.expiresAt } : undefined;
  }

  /**
   * Creates an API token. The clear token is returned once and never stored.
   * @param ttlS - lifetime in seconds; no expiry when undefined.
   */
  async createToken(owner: { userId: string }, name: string, role: Role, ttlS: number | undefined, now = Date.now()): Promise<ApiToken & { token: string }> {
    const token = newApiToken();
    const rec: ApiToken = {
      id: crypto.randomUUID(),
      name,
      role,
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      userId: owner.userId,
      createdAt: now,
      expiresAt: ttlS === undefined ? undefined : now + ttlS * 1000,
    };
    await this.store.createToken({ ...rec, hash: sha256(token) });
    return { ...rec, token };
  }

  /**
   * Verifies the current password for a password change, with the login's limits: the username's GCRA bucket
   * (shared with logins) and the client's failure count toward a ban. Without them a hijacked session could
   * guess the password without bound.
   * @returns `ok`, `wrong`, or `rate_limited` with the Retry-After in seconds.
   */
  async checkPassword(ip: string, user: UserRecord, password: string, now = Date.now()): Promise<{ result: 'ok' | 'wrong' | 'rate_limited'; retryAfterS: number }> {
    const key = this.keyOf(ip);
    const b = this.take(`user:${user.username.toLowerCase()}`, now);
    if (!b.allowed) {
      this.fail(key, now);
      return { result: 'rate_limited', retryAfterS: b.retryAfterS };
    }
    if (await verifyPassword(password, user.passwordHash)) return { result: 'ok', retryAfterS: 0 };
    this.fail(key, now);
    return { result: 'wrong', retryAfterS: 0 };
  }
}

/** Allowed user names: 1–64 of letters, digits, `.`, `_`, `@`, `-`. */
export function validUsername(s: string): boolean {
  return /^[A-Za-z0-9._@-]{1,64}$/.test(s);
}

/** True when `role` is at least `min`. */
export function roleAllows(role: Role, min: Role): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[min];
}
