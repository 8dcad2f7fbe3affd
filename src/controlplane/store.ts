import { randomUUID } from 'node:crypto';
import { migrate, type Migration, type SqliteDb } from '../store/sqlite.ts';

/** Control-plane roles, ordered viewer < analyst < admin. */
export type Role = 'admin' | 'analyst' | 'viewer';

/** Rank of each role: a route with minimum role R admits principals whose rank ≥ rank(R). */
export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 0, analyst: 1, admin: 2 };

/** A control-plane user as returned by the API (never the password hash). Times in ms since epoch. */
export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: number;
  lastLoginAt?: number;
  disabled: boolean;
}

/** A stored user with its scrypt hash (see `crypto.ts`). */
export interface UserRecord extends User {
  passwordHash: string;
}

/** A session: `idHash` is the SHA-256 of the cookie value. Times in ms since epoch. */
export interface SessionRecord {
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute expiry. */
  expiresAt: number;
}

/** An API token as returned by the API (never the token or its hash). */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** `bwk_` + first 6 chars, to recognise a token without revealing it. */
  prefix: string;
  userId: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

/** One audit log entry; `before`/`after` are redacted JSON values. */
export interface AuditEntry {
  id: string;
  /** Monotonic sequence, the pagination cursor. */
  seq: number;
  time: number;
  actor: string;
  actorId?: string;
  ip?: string;
  action: string;
  resource: string;
  resourceId?: string;
  before?: unknown;
  after?: unknown;
}

/** Filter for audit queries (AND). */
export interface AuditQuery {
  from?: number;
  to?: number;
  actor?: string;
  action?: string;
  resource?: string;
  resourceId?: string;
  /** Return entries with seq below this (newest first). */
  beforeSeq?: number;
  limit?: number;
}

/** A stored policy version. */
export interface PolicyVersion {
  version: number;
  author: string;
  createdAt: number;
  comment?: string;
  yaml: string;
  diff: string;
  linesAdded: number;
  linesRemoved: number;
}

/** A {@link PolicyVersion} without its YAML and diff (listings). */
export type PolicyVersionMeta = Omit<PolicyVersion, 'yaml' | 'diff'>;

/** Who added an allow/deny list entry and why. */
export interface ListMeta {
  list: 'allow' | 'deny';
  kind: 'ip' | 'api_key';
  value: string;
  addedBy: string;
  reason?: string;
  addedAt: number;
}

/**
 * Control-plane persistence. Narrow on purpose: a PostgreSQL implementation will implement the same
 * interface later, so every method maps to one portable SQL statement (no SQLite-only syntax beyond
 * `INSERT … ON CONFLICT`, which PostgreSQL shares). Every method returns a Promise so that a PostgreSQL
 * implementation (pg, async) fits the same interface; the SQLite one resolves synchronously underneath.
 */
export interface ControlPlaneStore {
  countUsers(): Promise<number>;
  createUser(u: { username: string; role: Role; passwordHash: string }, now?: number): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<User[]>;
  updateUser(id: string, patch: { role?: Role; disabled?: boolean; passwordHash?: string; lastLoginAt?: number }): Promise<UserRecord | undefined>;
  deleteUser(id: string): Promise<boolean>;
  countAdmins(): Promise<number>;

  createSession(s: SessionRecord): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | undefined>;
  touchSession(idHash: string, now: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  deleteUserSessions(userId: string, exceptIdHash?: string): Promise<number>;
  pruneSessions(now: number, idleMs: number): Promise<number>;

  createToken(t: ApiToken & { hash: string }): Promise<void>;
  getTokenByHash(hash: string): Promise<ApiToken | undefined>;
  listTokens(): Promise<ApiToken[]>;
  revokeToken(id: string, now: number): Promise<boolean>;
  revokeUserTokens(userId: string, now: number): Promise<number>;
  touchToken(id: string, now: number): Promise<void>;

  insertAudit(e: Omit<AuditEntry, 'seq'>): Promise<void>;
  queryAudit(q: AuditQuery): Promise<AuditEntry[]>;

  latestPolicyVersion(): Promise<PolicyVersion | undefined>;
  getPolicyVersion(version: number): Promise<PolicyVersion | undefined>;
  /**
   * Versions newer-first without their YAML and diff (a policy with thousands of list entries is stored whole
   * at every edit: listing must not load them); `range` keeps those created in [from, to) ms.
   */
  listPolicyVersions(beforeVersion: number | undefined, limit: number, range?: { from: number; to: number }): Promise<PolicyVersionMeta[]>;
  insertPolicyVersion(v: PolicyVersion): Promise<void>;

  putListMeta(m: ListMeta): Promise<void>;
  deleteListMeta(list: string, kind: string, value: string): Promise<void>;
  listMeta(): Promise<ListMeta[]>;
}

/** Versioned schema of the `controlplane` migration namespace (portable SQL). */
export const CONTROLPLANE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: `
CREATE TABLE cp_users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_login_at INTEGER, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE cp_sessions (
  id_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES cp_users(id) ON DELETE CASCADE, csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX cp_sessions_user ON cp_sessions(user_id);
CREATE TABLE cp_tokens (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, prefix TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, last_used_at INTEGER, revoked_at INTEGER);
CREATE TABLE cp_audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, time INTEGER NOT NULL, actor TEXT NOT NULL, actor_id TEXT,
  ip TEXT, action TEXT NOT NULL, resource TEXT NOT NULL, resource_id TEXT, before_json TEXT, after_json TEXT);
CREATE INDEX cp_audit_time ON cp_audit(time);
CREATE TABLE cp_policy_versions (
  version INTEGER PRIMARY KEY, author TEXT NOT NULL, created_at INTEGER NOT NULL, comment TEXT, yaml TEXT NOT NULL,
  diff TEXT NOT NULL, lines_added INTEGER NOT NULL, lines_removed INTEGER NOT NULL);
CREATE TABLE cp_list_meta (
  list TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, added_by TEXT NOT NULL, reason TEXT, added_at INTEGER NOT NULL,
  PRIMARY KEY (list, kind, value));
`,
  },
];

type Row = Record<string, unknown>;
const opt = <T>(v: unknown): T | undefined => (v === null || v === undefined ? undefined : (v as T));

function toUser(r: Row): UserRecord {
  return {
    id: r.id as string,
    username: r.username as string,
    role: r.role as Role,
    passwordHash: r.password_hash as string,
    createdAt: r.created_at as number,
    lastLoginAt: opt<number>(r.last_login_at),
    disabled: r.disabled === 1,
  };
}

function toToken(r: Row): ApiToken {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    prefix: r.prefix as string,
    userId: r.user_id as string,
    createdAt: r.created_at as number,
    expiresAt: opt<number>(r.expires_at),
    lastUsedAt: opt<number>(r.last_used_at),
    revokedAt: opt<number>(r.revoked_at),
  };
}

function toVersionMeta(r: Row): PolicyVersionMeta {
  return {
    version: r.version as number,
    author: r.author as string,
    createdAt: r.created_at as number,
    comment: opt<string>(r.comment),
    linesAdded: r.lines_added as number,
    linesRemoved: r.lines_removed as number,
  };
}

function toVersion(r: Row): PolicyVersion {
  return { ...toVersionMeta(r), yaml: r.yaml as string, diff: r.diff as string };
}

/** Strips the password hash: what the API may return. */
export function publicUser(u: UserRecord): User {
  const { passwordHash: _h, ...rest } = u;
  return rest;
}

/** {@link ControlPlaneStore} on the embedded SQLite database; applies its migrations on construction. */
export class SqliteControlPlaneStore implements ControlPlaneStore {
  private readonly db: SqliteDb;

  /** @throws when a migration fails. */
  constructor(db: SqliteDb) {
    this.db = db;
    migrate(db, 'controlplane', CONTROLPLANE_MIGRATIONS);
  }

  async countUsers(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM cp_users').get() as { n: number }).n;
  }
  async countAdmins(): Promise<number> {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM cp_users WHERE role = 'admin' AND disabled = 0").get() as { n: number }).n;
  }
  async createUser(u: { username: string; role: Role; passwordHash: string }, now = Date.now()): Promise<UserRecord> {
    const id = randomUUID();
    this.db.prepare('INSERT INTO cp_users (id, username, role, password_hash, created_at, disabled) VALUES (?, ?, ?, ?, ?, 0)').run(id, u.username, u.role, u.passwordHash, now);
    return (await this.getUser(id))!;
  }
  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_users WHERE id = ?').get(id) as Row | undefined;
    return r ? toUser(r) : undefined;
  }
  async getUserByName(username: string): Promise<UserRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_users WHERE username = ?').get(username) as Row | undefined;
    return r ? toUser(r) : undefined;
  }
  async listUsers(): Promise<User[]> {
    return (this.db.prepare('SELECT * FROM cp_users ORDER BY username').all() as Row[]).map((r) => publicUser(toUser(r)));
  }
  async updateUser(id: string, patch: { role?: Role; disabled?: boolean; passwordHash?: string; lastLoginAt?: number }): Promise<UserRecord | undefined> {
    const cur = await this.getUser(id);
    if (!cur) return undefined;
    this.db
      .prepare('UPDATE cp_users SET role = ?, disabled = ?, password_hash = ?, last_login_at = ? WHERE id = ?')
      .run(patch.role ?? cur.role, (patch.disabled ?? cur.disabled) ? 1 : 0, patch.passwordHash ?? cur.passwordHash, patch.lastLoginAt ?? cur.lastLoginAt ?? null, id);
    return this.getUser(id);
  }
  async deleteUser(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM cp_users WHERE id = ?').run(id).changes > 0;
  }

  async createSession(s: SessionRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO cp_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(s.idHash, s.userId, s.csrfToken, s.createdAt, s.lastSeenAt, s.expiresAt);
  }
  async getSession(idHash: string): Promise<SessionRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_sessions WHERE id_hash = ?').get(idHash) as Row | undefined;
    if (!r) return undefined;
    return { idHash: r.id_hash as string, userId: r.user_id as string, csrfToken: r.csrf_token as string, createdAt: r.created_at as number, lastSeenAt: r.last_seen_at as number, expiresAt: r.expires_at as number };
  }
  async touchSession(idHash: string, now: number): Promise<void> {
    this.db.prepare('UPDATE cp_sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, idHash);
  }
  async deleteSession(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM cp_sessions WHERE id_hash = ?').run(idHash);
  }
  async deleteUserSessions(userId: string, exceptIdHash?: string): Promise<number> {
    return this.db.prepare('DELETE FROM cp_sessions WHERE user_id = ? AND id_hash <> ?').run(userId, exceptIdHash ?? '').changes;
  }
  async pruneSessions(now: number, idleMs: number): Promise<number> {
    return this.db.prepare('DELETE FROM cp_sessions WHERE expires_at <= ? OR last_seen_at <= ?').run(now, now - idleMs).changes;
  }

  async createToken(t: ApiToken & { hash: string }): Promise<void> {
    this.db
      .prepare('INSERT INTO cp_tokens (id, name, role, prefix, hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(t.id, t.name, t.role, t.prefix, t.hash, t.userId, t.createdAt, t.expiresAt ?? null);
  }
  async getTokenByHash(hash: string): Promise<ApiToken | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return r ? toToken(r) : undefined;
  }
  async listTokens(): Promise<ApiToken[]> {
    return (this.db.prepare('SELECT * FROM cp_tokens ORDER BY created_at DESC').all() as Row[]).map(toToken);
  }
  async revokeToken(id: string, now: number): Promise<boolean> {
    return this.db.prepare('UPDATE cp_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, id).changes > 0;
  }
  async revokeUserTokens(userId: string, now: number): Promise<number> {
    return this.db.prepare('UPDATE cp_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(now, userId).changes;
  }
  async touchToken(id: string, now: number): Promise<void> {
    this.db.prepare('UPDATE cp_tokens SET last_used_at = ? WHERE id = ?').run(now, id);
  }

  async insertAudit(e: Omit<AuditEntry, 'seq'>): Promise<void> {
    this.db
      .prepare('INSERT INTO cp_audit (id, time, actor, actor_id, ip, action, resource, resource_id, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        e.id, e.time, e.actor, e.actorId ?? null, e.ip ?? null, e.action, e.resource, e.resourceId ?? null,
        e.before === undefined ? null : JSON.stringify(e.before), e.after === undefined ? null : JSON.stringify(e.after),
      );
  }
  async queryAudit(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.from !== undefined) (where.push('time >= ?'), args.push(q.from));
    if (q.to !== undefined) (where.push('time < ?'), args.push(q.to));
    if (q.actor !== undefined) (where.push('actor = ?'), args.push(q.actor));
    if (q.action !== undefined) (where.push('action = ?'), args.push(q.action));
    if (q.resource !== undefined) (where.push('resource = ?'), args.push(q.resource));
    if (q.resourceId !== undefined) (where.push('resource_id = ?'), args.push(q.resourceId));
    if (q.beforeSeq !== undefined) (where.push('seq < ?'), args.push(q.beforeSeq));
    const sql = `SELECT * FROM cp_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY seq DESC LIMIT ?`;
    args.push(Math.min(Math.max(q.limit ?? 100, 1), 10_000));
    return (this.db.prepare(sql).all(...args) as Row[]).map((r) => ({
      id: r.id as string,
      seq: r.seq as number,
      time: r.time as number,
      actor: r.actor as string,
      actorId: opt<string>(r.actor_id),
      ip: opt<string>(r.ip),
      action: r.action as string,
      resource: r.resource as string,
      resourceId: opt<string>(r.resource_id),
      before: r.before_json == null ? undefined : JSON.parse(r.before_json as string),
      after: r.after_json == null ? undefined : JSON.parse(r.after_json as string),
    }));
  }

  async latestPolicyVersion(): Promise<PolicyVersion | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_policy_versions ORDER BY version DESC LIMIT 1').get() as Row | undefined;
    return r ? toVersion(r) : undefined;
  }
  async getPolicyVersion(version: number): Promise<PolicyVersion | undefined> {
    const r = this.db.prepare('SELECT * FROM cp_policy_versions WHERE version = ?').get(version) as Row | undefined;
    return r ? toVersion(r) : undefined;
  }
  async listPolicyVersions(beforeVersion: number | undefined, limit: number, range?: { from: number; to: number }): Promise<PolicyVersionMeta[]> {
    const rows = this.db
      .prepare('SELECT version, author, created_at, comment, lines_added, lines_removed FROM cp_policy_versions WHERE version < ? AND created_at >= ? AND created_at < ? ORDER BY version DESC LIMIT ?')
      .all(beforeVersion ?? Number.MAX_SAFE_INTEGER, range?.from ?? -Number.MAX_SAFE_INTEGER, range?.to ?? Number.MAX_SAFE_INTEGER, limit) as Row[];
    return rows.map(toVersionMeta);
  }
  async insertPolicyVersion(v: PolicyVersion): Promise<void> {
    this.db
      .prepare('INSERT INTO cp_policy_versions (version, author, created_at, comment, yaml, diff, lines_added, lines_removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(v.version, v.author, v.createdAt, v.comment ?? null, v.yaml, v.diff, v.linesAdded, v.linesRemoved);
  }

  async putListMeta(m: ListMeta): Promise<void> {
    this.db
      .prepare('INSERT INTO cp_list_meta (list, kind, value, added_by, reason, added_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (list, kind, value) DO UPDATE SET added_by = excluded.added_by, reason = excluded.reason, added_at = excluded.added_at')
      .run(m.list, m.kind, m.value, m.addedBy, m.reason ?? null, m.addedAt);
  }
  async deleteListMeta(list: string, kind: string, value: string): Promise<void> {
    this.db.prepare('DELETE FROM cp_list_meta WHERE list = ? AND kind = ? AND value = ?').run(list, kind, value);
  }
  async listMeta(): Promise<ListMeta[]> {
    return (this.db.prepare('SELECT * FROM cp_list_meta').all() as Row[]).map((r) => ({
      list: r.list as 'allow' | 'deny',
      kind: r.kind as 'ip' | 'api_key',
      value: r.value as string,
      addedBy: r.added_by as string,
      reason: opt<string>(r.reason),
      addedAt: r.added_at as number,
    }));
  }
}
