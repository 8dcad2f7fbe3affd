import { createHash, randomUUID } from 'node:crypto';
import { Redis } from '../core/redis.ts';
import type { Decision, DecisionScope } from '../core/types.ts';
import type { DecisionChange, DecisionStore } from './types.ts';

type Change = DecisionChange;

/**
 * Decisions in Redis, shared by every gateway instance using the same `prefix`, with change notification
 * over pub/sub so a ban added on one instance applies on all within one round trip.
 *
 * Layout (all under `<prefix>dec:`): `data` hash id → JSON decision; `exp` sorted set id by expiresAt (active
 * lookup and pruning); `off:<sha256(scope,value,source)>` sorted set of decision ids by createdAt (offence
 * counting; values are hashed so API keys never appear in key names), expiring after `offenceRetentionMs`.
 * Changes are published on `<prefix>dec:changes` as `{ from, op, decision | id }`; an instance ignores its own.
 */
export class RedisDecisionStore implements DecisionStore {
  private readonly redis: Redis;
  private sub?: Redis;
  private readonly owned: boolean;
  private readonly p: string;
  private readonly instance = randomUUID();
  private readonly offenceRetentionMs: () => number;
  private readonly listeners: ((c: Change) => void)[] = [];
  /** Settles once the first SUBSCRIBE is confirmed and the active decisions were re-announced. */
  private subscribed?: Promise<void>;

  /**
   * @param redis - URL (`redis://127.0.0.1:6379`) or an ioredis client (then not closed by {@link close};
   *   a duplicate connection is opened for pub/sub either way).
   * @param opts.prefix - key prefix (default `bulwark:`).
   * @param opts.offenceRetentionMs - how long offence history is kept after the last offence, ms (default
   *   30 days; should exceed `decisions.offenceWindow`). A function is read on every write, so a policy
   *   reload that lengthens the window can lengthen the retention too.
   */
  constructor(redis: string | Redis, opts: { prefix?: string; offenceRetentionMs?: number | (() => number) } = {}) {
    this.owned = typeof redis === 'string';
    this.redis = typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: 2 }) : redis;
    if (this.owned) this.redis.on('error', () => { /* surfaced through rejected calls */ });
    this.p = (opts.prefix ?? 'bulwark:') + 'dec:';
    const retention = opts.offenceRetentionMs ?? 30 * 86_400_000;
    this.offenceRetentionMs = typeof retention === 'function' ? retention : () => retention;
  }

  private offKey(scope: DecisionScope, value: string, source: string): string {
    return this.p + 'off:' + createHash('sha256').update(`${scope}\u0000${value}\u0000${source}`).digest('base64url').slice(0, 32);
  }

  async loadActive(now: number): Promise<Decision[]> {
    const ids = await this.redis.zrangebyscore(this.p + 'exp', `(${now}`, '+inf');
    if (ids.length === 0) return [];
    const out: Decision[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const vals = await this.redis.hmget(this.p + 'data', ...ids.slice(i, i + 500));
      for (const v of vals) if (v) out.push(JSON.parse(v) as Decision);
    }
    return out;
  }

  async put(d: Decision): Promise<void> {
    const off = this.offKey(d.scope, d.value, d.source);
    const retention = Math.ceil(this.offenceRetentionMs());
    await this.redis
      .multi()
      .hset(this.p + 'data', d.id, JSON.stringify(d))
      .zadd(this.p + 'exp', d.expiresAt, d.id)
      .zadd(off, d.createdAt, d.id)
      // a repeat offender's history would otherwise only grow: entries older than the retention no longer count
      .zremrangebyscore(off, '-inf', `(${d.createdAt - retention}`)
      .pexpire(off, retention)
      .publish(this.p + 'changes', JSON.stringify({ from: this.instance, op: 'put', decision: d }))
      .exec();
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.redis
      .multi()
      .hdel(this.p + 'data', id)
      .zrem(this.p + 'exp', id)
      .publish(this.p + 'changes', JSON.stringify({ from: this.instance, op: 'delete', id }))
      .exec();
    return Number(r?.[0]?.[1] ?? 0) > 0;
  }

  /** Decisions for (scope, value, source) created at or after `since` (offence history survives deletion of the decision). */
  async countOffences(scope: DecisionScope, value: string, source: string, since: number): Promise<number> {
    const k = this.offKey(scope, value, source);
    return this.redis.zcount(k, since, '+inf');
  }

  /** Round trip to Redis (readiness): resolves when it answers PING, rejects otherwise. */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async prune(before: number): Promise<number> {
    const ids = await this.redis.zrangebyscore(this.p + 'exp', '-inf', `(${before}`);
    if (ids.length === 0) return 0;
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.redis.multi().hdel(this.p + 'data', ...chunk).zrem(this.p + 'exp', ...chunk).exec();
    }
    return ids.length;
  }

  /** Subscribes (on a second connection) to changes made by other instances. */
  onChange(listener: (c: Change) => void): void {
    this.listeners.push(listener);
    if (this.sub) return;
    const sub = this.redis.duplicate();
    sub.on('error', () => { /* reconnects on its own */ });
    this.sub = sub;
    const channel = this.p + 'changes';
    // Changes published while the subscriber was not (yet) subscribed are lost: once the subscription is
    // confirmed, and after every reconnect, hand over the active set (a `sync`: puts are idempotent by id, and
    // decisions missing from it were unbanned meanwhile). The first resync covers bans added between the
    // owner's initial loadActive and the SUBSCRIBE.
    const resync = (): Promise<void> => {
      const readAt = Date.now();
      return this.loadActive(readAt).then(
        (all) => {
          for (const l of this.listeners) l({ op: 'sync', decisions: all, readAt });
        },
        () => undefined,
      );
    };
    this.subscribed = sub.subscribe(channel).then(resync, () => undefined);
    let connectedOnce = false;
    sub.on('ready', () => {
      if (!connectedOnce) {
        connectedOnce = true;
        return;
      }
      void resync();
    });
    sub.on('message', (ch: string, msg: string) => {
      if (ch !== channel) return;
      let m: { from?: string; op?: string; decision?: Decision; id?: string };
      try {
        m = JSON.parse(msg) as typeof m;
      } catch {
        return;
      }
      if (m.from === this.instance) return;
      const c: Change | undefined = m.op === 'put' && m.decision ? { op: 'put', decision: m.decision } : m.op === 'delete' && typeof m.id === 'string' ? { op: 'delete', id: m.id } : undefined;
      if (c) for (const l of this.listeners) l(c);
    });
  }

  /**
   * Resolves once the pub/sub subscription is confirmed and the active decisions were re-announced (or
   * the SUBSCRIBE failed: ioredis gives up after `maxRetriesPerRequest`). The gateway awaits it before it
   * listens; tests too.
   */
  async ready(): Promise<void> {
    await this.subscribed;
  }

  async close(): Promise<void> {
    if (this.sub) await this.sub.quit().catch(() => this.sub?.disconnect());
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
