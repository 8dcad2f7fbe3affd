import { randomUUID } from 'node:crypto';
import type { SqliteDb } from '../store/sqlite.ts';
import { sha256 } from './crypto.ts';
import { SqliteControlPlaneStore, type ControlPlaneStore } from './store.ts';

/** What a caller records; `actor` is a user name, `token:<name>` or `system`. */
export interface AuditInput {
  actor: string;
  actorId?: string;
  /** Client IP of the change, when it came over HTTP. */
  ip?: string;
  /** Dotted verb, e.g. `decision.create`, `policy.update`, `auth.login.failed`. */
  action: string;
  /** Resource kind, e.g. `decision`, `policy`, `user`, `token`, `list`, `incident`, `alert`, `channel`. */
  resource: string;
  resourceId?: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Field names whose values are secrets and are replaced by `[redacted]` anywhere in `before`/`after`
 * (passwords, hashes, tokens, signing secrets, webhook URLs, SMTP credentials, cookies).
 */
const SECRET_KEY = /pass|secret|token|hash|authorization|cookie|webhook|url|smtp|signing|credential|privatekey|^key$/i;

/**
 * Masks an API key the way events do: first 4 characters + `…` + first 8 hex chars of its SHA-256, so the
 * same key is recognisable without being revealed.
 */
export function maskApiKey(key: string): string {
  return `${key.slice(0, 4)}…${sha256(key).slice(0, 8)}`;
}

/**
 * Deep copy of `v` with secret-named fields redacted and API key lists masked; depth-bounded (8 levels) and
 * size-bounded (arrays cut at 1,000 items, strings at 4,096 chars) so one audit row stays small.
 */
export function redact(v: unknown, depth = 0): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'string') return v.length > 4096 ? v.slice(0, 4096) + '…' : v;
  if (typeof v !== 'object') return v;
  if (depth >= 8) return '[truncated]';
  if (Array.isArray(v)) return v.slice(0, 1000).map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === 'apiKeys' && Array.isArray(x)) out[k] = x.slice(0, 1000).map((s) => (typeof s === 'string' ? maskApiKey(s) : '[redacted]'));
    else if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else out[k] = redact(x, depth + 1);
  }
  return out;
}

const stores = new WeakMap<SqliteDb, ControlPlaneStore>();

/** The control-plane store of a database (created and migrated on first use, then cached per connection). */
export function storeFor(db: SqliteDb): ControlPlaneStore {
  let s = stores.get(db);
  if (!s) {
    s = new SqliteControlPlaneStore(db);
    stores.set(db, s);
  }
  return s;
}

/**
 * Records one change in the audit log (table `cp_audit`), with secrets in `before`/`after` redacted.
 * Never rejects: an audit failure resolves to undefined so the caller can log it; the change itself has
 * already happened. (With SQLite the row is written before this returns its Promise.)
 * @returns the entry id, or undefined when the write failed.
 */
export async function recordAudit(db: SqliteDb, entry: AuditInput, now = Date.now()): Promise<string | undefined> {
  const id = randomUUID();
  try {
    await storeFor(db).insertAudit({
      id,
      time: now,
      actor: entry.actor,
      actorId: entry.actorId,
      ip: entry.ip,
      action: entry.action,
      resource: entry.resource,
      resourceId: entry.resourceId,
      before: entry.before === undefined ? undefined : redact(entry.before),
      after: entry.after === undefined ? undefined : redact(entry.after),
    });
    return id;
  } catch {
    return undefined;
  }
}
