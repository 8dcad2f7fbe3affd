import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { SCRATCH_IP_BYTES, scratchKey, type RequestContext } from '../core/context.ts';
import type { Decision, DecisionScope } from '../core/types.ts';
import type { Policy } from '../config/schema.ts';
import type { Metrics } from '../observability/metrics.ts';
import { CidrList, parseCidr, parseIp } from './cidr.ts';
import { isMaskedApiKey, maskApiKey } from '../events/record.ts';
import type { DecisionChange, DecisionFilter, DecisionService, DecisionStore, NewDecision } from './types.ts';

type Change = Exclude<DecisionChange, { op: 'sync' }>;

/** The request's API key as decisions store it (masked), computed once per request. */
const SCRATCH_MASKED_KEY = scratchKey<string>('apiKey.masked');

/** Severity of a decision type for `match`: ban beats throttle/captcha. */
const TYPE_RANK: Readonly<Record<string, number>> = { ban: 2, throttle: 1, captcha: 1 };

/** Hash-indexed scopes (everything but `range`). */
const HASH_SCOPES = ['ip', 'api_key', 'user', 'fingerprint'] as const;

/**
 * Escalated duration for a repeat offender (CrowdSec-style): `base × multiplier^(offence − 1)`, capped by `max`.
 * @param baseMs - first-offence duration, ms.
 * @param offence - 1 for a first offence.
 */
export function escalatedDuration(baseMs: number, offence: number, multiplier: number, maxMs: number): number {
  const d = baseMs * Math.pow(multiplier, Math.max(0, offence - 1));
  return Math.min(maxMs, Number.isFinite(d) ? d : maxMs);
}

/** Options of {@link createDecisionService}. */
export interface DecisionServiceOptions {
  store: DecisionStore;
  /** Current policy (read on every add, so hot reloads apply to new decisions). */
  policy: () => Policy;
  metrics?: Metrics;
  logger?: Logger;
  /** Expiry sweep period, ms (default 5,000). Expired decisions are also ignored on read. */
  sweepIntervalMs?: number;
  /** First retry delay for failed store writes, ms (default 500, doubling up to 30 s). */
  retryBaseMs?: number;
  /** Bound on pending store writes (default 100,000); past it the oldest are dropped and logged. */
  maxPendingWrites?: number;
  /**
   * Bound on decisions held in memory (default 250,000, about 150 MB at ~600 B each). Past it, the oldest
   * rule-made decision is evicted from the index (it stays in the store until it expires) so a flood of
   * offenders from rotating IPs cannot grow memory without bound; manual decisions are never evicted.
   */
  maxDecisions?: number;
}

type Pending = { op: 'put'; decision: Decision; after?: () => void } | { op: 'delete'; id: string };

/**
 * The in-memory decision index over a persistent {@link DecisionStore}.
 *
 * - `match` is synchronous: one Map lookup per hash scope (ip by `ctx.clientKey` and `ctx.clientIp`, api_key,
 *   user, fingerprint) plus a scan of the `range` decisions (CIDR containment on the client IP). An `api_key`
 *   decision may hold the key itself or its masked form as shown in events (`maskApiKey`: first 4 chars + `…`
 *   + 8 hex of SHA-256), so operators can ban a key seen in an event and rule bans store no secret.
 * - Expiry: expired decisions are skipped on read and removed by a periodic sweep.
 * - Escalation: `add` counts earlier decisions for the same (scope, value, source) within
 *   `decisions.offenceWindow` (in memory, then corrected from the store in the background, which also
 *   covers offences from before a restart or from other instances) and sets
 *   `duration = base × escalationMultiplier^(offence−1)`, capped by `decisions.maxBanDuration`.
 * - Persistence is write-behind: `add`/`remove` update the index at once and queue the store write; failed
 *   writes are logged and retried with exponential backoff, never awaited on the request path.
 */
export class DecisionIndex implements DecisionService {
  private readonly store: DecisionStore;
  private readonly policy: () => Policy;
  private readonly metrics?: Metrics;
  private readonly logger?: Logger;
  private readonly byId = new Map<string, Decision>();
  private readonly byScope: Record<(typeof HASH_SCOPES)[number], Map<string, Decision[]>> = {
    ip: new Map(),
    api_key: new Map(),
    user: new Map(),
    fingerprint: new Map(),
  };
  private readonly ranges = new CidrList<Decision>();
  /** Recent offence times per `scope\0value\0source` (bounded by the offence window, swept). */
  private readonly offences = new Map<string, number[]>();
  private readonly maxDecisions: number;
  /** Rule-made decisions in creation order (FIFO for eviction at the bound; stale entries skipped). */
  private ruleFifo: Decision[] = [];
  private ruleFifoHead = 0;
  /** Decisions evicted by the memory bound since start. */
  evicted = 0;
  private lastEvictLog = 0;
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly pending: Pending[] = [];
  private readonly maxPending: number;
  private readonly retryBaseMs: number;
  private retryDelay = 0;
  private writing = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private idle: (() => void)[] = [];

  constructor(opts: DecisionServiceOptions) {
    this.store = opts.store;
    this.policy = opts.policy;
    this.metrics = opts.metrics;
    this.logger = opts.logger;
    this.maxPending = opts.maxPendingWrites ?? 100_000;
    this.maxDecisions = opts.maxDecisions ?? 250_000;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    const every = opts.sweepIntervalMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(Date.now()), every);
      this.timer.unref();
    }
  }

  /** Loads active decisions from the store and subscribes to its changes. */
  async start(now = Date.now()): Promise<void> {
    const active = await this.store.loadActive(now);
    active.sort((a, b) => a.createdAt - b.createdAt);
    for (const d of active) {
      this.index(d);
      if (d.origin === 'rule') this.ruleFifo.push(d);
    }
    if (this.byId.size > this.maxDecisions) this.evictOldest(now);
    this.store.onChange?.((c) => this.applyRemote(c));
    this.gauge();
  }

  /** Number of decisions in the index (including expired ones not yet swept). */
  get size(): number {
    return this.byId.size;
  }

  private gauge(): void {
    this.metrics?.activeDecisions.set(this.byId.size);
  }

  private index(d: Decision): void {
    const old = this.byId.get(d.id);
    if (old) this.unindex(old);
    this.byId.set(d.id, d);
    if (d.scope === 'range') {
      if (!this.ranges.add(d.value, d)) this.logger?.warn({ decisionId: d.id }, 'range decision with an invalid CIDR ignored');
      return;
    }
    const m = this.byScope[d.scope];
    const list = m.get(d.value);
    if (list) list.push(d);
    else m.set(d.value, [d]);
  }

  private unindex(d: Decision): void {
    this.byId.delete(d.id);
    if (d.scope === 'range') {
      this.ranges.removeWhere((x) => x.id === d.id);
      return;
    }
    const m = this.byScope[d.scope];
    const list = m.get(d.value);
    if (!list) return;
    const i = list.findIndex((x) => x.id === d.id);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) m.delete(d.value);
  }

  private static better(a: Decision | undefined, b: Decision): boolean {
    if (a === undefined) return true;
    const ra = TYPE_RANK[a.type] ?? 0;
    const rb = TYPE_RANK[b.type] ?? 0;
    return rb > ra || (rb === ra && b.expiresAt > a.expiresAt);
  }

  private pick(best: Decision | undefined, list: Decision[] | undefined, now: number): Decision | undefined {
    if (list === undefined) return best;
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      if (d.expiresAt > now && DecisionIndex.better(best, d)) best = d;
    }
    return best;
  }

  private rangeBest: Decision | undefined;
  private rangeNow = 0;
  private readonly onRange = (d: Decision): void => {
    if (d.expiresAt > this.rangeNow && DecisionIndex.better(this.rangeBest, d)) this.rangeBest = d;
  };

  /** See {@link DecisionService.match}. Never throws. */
  match(ctx: RequestContext, now = Date.now()): Decision | undefined {
    if (this.byId.size === 0) return undefined;
    let best: Decision | undefined;
    const ip = this.byScope.ip;
    if (ip.size > 0) {
      best = this.pick(best, ip.get(ctx.clientKey), now);
      if (ctx.clientIp !== ctx.clientKey) best = this.pick(best, ip.get(ctx.clientIp), now);
    }
    if (ctx.apiKey !== undefined && this.byScope.api_key.size > 0) {
      const m = this.byScope.api_key;
      best = this.pick(best, m.get(ctx.apiKey), now);
      // api_key decisions may hold the masked key as shown in events (no secret in the store).
      let masked = ctx.scratch.get(SCRATCH_MASKED_KEY);
      if (masked === undefined) {
        masked = maskApiKey(ctx.apiKey);
        ctx.scratch.set(SCRATCH_MASKED_KEY, masked);
      }
      best = this.pick(best, m.get(masked), now);
    }
    if (ctx.user !== undefined && this.byScope.user.size > 0) best = this.pick(best, this.byScope.user.get(ctx.user), now);
    if (ctx.fingerprint !== undefined && this.byScope.fingerprint.size > 0) best = this.pick(best, this.byScope.fingerprint.get(ctx.fingerprint), now);
    if (this.ranges.size > 0) {
      let bytes = ctx.scratch.get(SCRATCH_IP_BYTES);
      if (bytes === undefined) {
        bytes = parseIp(ctx.clientIp);
        if (bytes) ctx.scratch.set(SCRATCH_IP_BYTES, bytes);
      }
      if (bytes) {
        this.rangeBest = best;
        this.rangeNow = now;
        this.ranges.forEachMatch(bytes, this.onRange);
        best = this.rangeBest;
        this.rangeBest = undefined;
      }
    }
    return best;
  }

  private offenceKey(scope: DecisionScope, value: string, source: string): string {
    return `${scope}\u0000${value}\u0000${source}`;
  }

  /**
   * See {@link DecisionService.add}. Synchronous; persistence is queued. A missing, zero, negative or
   * non-finite `durationMs` means the policy's `decisions.defaultBanDuration`.
   * @throws {RangeError} for a `range` decision whose value is not a CIDR, or an empty value.
   */
  add(input: NewDecision, now = Date.now()): Decision {
    if (typeof input.value !== 'string' || input.value === '') throw new RangeError('decision value must be a non-empty string');
    if (input.scope === 'range' && parseCidr(input.value) === undefined) throw new RangeError(`range decision value is not a CIDR: ${input.value.slice(0, 64)}`);
    // API keys are secrets: an api_key decision stores the masked key (match() accepts it), never the key.
    if (input.scope === 'api_key' && !isMaskedApiKey(input.value)) input = { ...input, value: maskApiKey(input.value) };
    const pol = this.policy().decisions;
    const base = input.durationMs !== undefined && Number.isFinite(input.durationMs) && input.durationMs > 0 ? input.durationMs : pol.defaultBanDuration;
    const escalate = input.escalate ?? input.origin === 'rule';
    const key = this.offenceKey(input.scope, input.value, input.source);
    const since = now - pol.offenceWindow;
    let times = this.offences.get(key);
    if (times) {
      times = times.filter((t) => t >= since);
      this.offences.set(key, times);
    }
    const offence = (times?.length ?? 0) + 1;
    const dur = escalate ? escalatedDuration(base, offence, pol.escalationMultiplier, Math.max(base, pol.maxBanDuration)) : base;
    const d: Decision = {
      id: randomUUID(),
      scope: input.scope,
      value: input.value,
      type: input.type,
      origin: input.origin,
      source: input.source,
      reason: input.reason,
      createdAt: now,
      expiresAt: now + dur,
      offence,
    };
    if (times) times.push(now);
    else this.offences.set(key, [now]);
    this.index(d);
    if (d.origin === 'rule') this.ruleFifo.push(d);
    if (this.byId.size > this.maxDecisions) this.evictOldest(now);
    this.gauge();
    this.enqueue({ op: 'put', decision: d, after: escalate ? () => this.correctOffence(d, base, since) : undefined });
    this.emit({ op: 'put', decision: d });
    return d;
  }

  /** Drops the oldest rule-made decisions from memory until under the bound (they remain in the store). */
  private evictOldest(now: number): void {
    const fifo = this.ruleFifo;
    let n = 0;
    while (this.byId.size > this.maxDecisions && this.ruleFifoHead < fifo.length) {
      const d = fifo[this.ruleFifoHead]!;
      fifo[this.ruleFifoHead++] = undefined as unknown as Decision;
      if (this.byId.get(d.id) !== d) continue; // already expired or removed
      this.unindex(d);
      n++;
    }
    if (this.ruleFifoHead > 4096 && this.ruleFifoHead * 2 > fifo.length) {
      this.ruleFifo = fifo.slice(this.ruleFifoHead);
      this.ruleFifoHead = 0;
    }
    this.evicted += n;
    if (n > 0 && now - this.lastEvictLog > 10_000) {
      this.lastEvictLog = now;
      this.logger?.warn({ evicted: this.evicted, max: this.maxDecisions }, 'decision index full: oldest rule decisions evicted from memory');
    }
    // In-memory offence history is only a fast path (the store is consulted too): keep it bounded as well.
    if (this.offences.size > 2 * this.maxDecisions) this.offences.clear();
  }

  /**
   * Background escalation check against the store (offences before a restart or on other instances):
   * when the store knows more earlier offences than memory, the decision is lengthened and re-persisted.
   * Runs after `d` itself was written, so the store's count includes `d`.
   */
  private correctOffence(d: Decision, base: number, since: number): void {
    this.store.countOffences(d.scope, d.value, d.source, since).then(
      (earlier) => {
        const offence = Math.max(d.offence, earlier);
        if (offence <= d.offence || this.byId.get(d.id) !== d) return;
        const pol = this.policy().decisions;
        d.offence = offence;
        d.expiresAt = d.createdAt + escalatedDuration(base, offence, pol.escalationMultiplier, Math.max(base, pol.maxBanDuration));
        this.enqueue({ op: 'put', decision: d });
        this.emit({ op: 'put', decision: d });
      },
      (err: unknown) => this.logger?.warn({ err }, 'decision offence count failed; escalation uses in-memory count'),
    );
  }

  /** See {@link DecisionService.remove}. Resolves once the index is updated (the store write is queued). */
  async remove(id: string): Promise<boolean> {
    const d = this.byId.get(id);
    if (d) {
      this.unindex(d);
      this.gauge();
    }
    this.enqueue({ op: 'delete', id });
    if (d) this.emit({ op: 'delete', id });
    return d !== undefined;
  }

  /** Decisions in the index matching `filter` (active only unless `includeExpired`), newest first. */
  list(filter: DecisionFilter = {}, now = Date.now()): Decision[] {
    const out: Decision[] = [];
    for (const d of this.byId.values()) {
      if (!filter.includeExpired && d.expiresAt <= now) continue;
      if (filter.scope !== undefined && d.scope !== filter.scope) continue;
      if (filter.value !== undefined && d.value !== filter.value) continue;
      if (filter.type !== undefined && d.type !== filter.type) continue;
      if (filter.origin !== undefined && d.origin !== filter.origin) continue;
      out.push(d);
    }
    return out.sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): Decision | undefined {
    return this.byId.get(id);
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: Change): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        this.logger?.warn({ err }, 'decision listener threw');
      }
    }
  }

  /** A change made by another instance (shared store): index it without writing it back. */
  private applyRemote(c: DecisionChange): void {
    if (c.op === 'sync') {
      const active = new Set<string>();
      for (const d of c.decisions) {
        active.add(d.id);
        this.applyRemote({ op: 'put', decision: d });
      }
      // deleted elsewhere while this instance was not listening; spare decisions created after the read and
      // local ones not yet written
      const unwritten = new Set<string>();
      for (const p of this.pending) if (p.op === 'put') unwritten.add(p.decision.id);
      for (const d of [...this.byId.values()]) {
        if (active.has(d.id) || d.createdAt >= c.readAt || unwritten.has(d.id)) continue;
        this.applyRemote({ op: 'delete', id: d.id });
      }
      return;
    }
    if (c.op === 'put') {
      const prev = this.byId.get(c.decision.id);
      this.index(c.decision);
      // A replaced object leaves a stale FIFO entry (skipped at eviction); track the new one.
      if (prev !== c.decision && c.decision.origin === 'rule') this.ruleFifo.push(c.decision);
      if (this.byId.size > this.maxDecisions) this.evictOldest(Date.now());
      const key = this.offenceKey(c.decision.scope, c.decision.value, c.decision.source);
      const times = this.offences.get(key);
      if (!times) this.offences.set(key, [c.decision.createdAt]);
      else if (!times.includes(c.decision.createdAt)) times.push(c.decision.createdAt);
    } else {
      const d = this.byId.get(c.id);
      if (!d) return;
      this.unindex(d);
    }
    this.gauge();
    this.emit(c);
  }

  /** Removes expired decisions from the index and stale offence history; returns how many decisions. */
  sweep(now: number): number {
    let n = 0;
    for (const d of [...this.byId.values()]) {
      if (d.expiresAt <= now) {
        this.unindex(d);
        n++;
      }
    }
    let since: number;
    try {
      since = now - this.policy().decisions.offenceWindow;
    } catch {
      since = now - 86_400_000;
    }
    for (const [k, times] of this.offences) {
      const keep = times.filter((t) => t >= since);
      if (keep.length === 0) this.offences.delete(k);
      else if (keep.length !== times.length) this.offences.set(k, keep);
    }
    if (n > 0) {
      this.ruleFifo = this.ruleFifo.slice(this.ruleFifoHead).filter((d) => this.byId.get(d.id) === d);
      this.ruleFifoHead = 0;
      this.gauge();
    }
    return n;
  }

  /** Deletes decisions that expired before the offence window from the store (retention). */
  async prune(now = Date.now()): Promise<number> {
    return this.store.prune(now - this.policy().decisions.offenceWindow);
  }

  private enqueue(p: Pending): void {
    if (this.closed) return;
    this.pending.push(p);
    if (this.pending.length > this.maxPending) {
      // the head may be the write in progress (drain removes it when done): drop the oldest not yet started
      const [lost] = this.pending.splice(this.writing ? 1 : 0, 1);
      if (lost) this.logger?.error({ op: lost.op, decisionId: lost.op === 'put' ? lost.decision.id : lost.id }, 'decision write queue full: oldest pending write dropped');
    }
    if (!this.writing && this.retryTimer === undefined) void this.drain();
  }

  /** Writes pending operations in order; on failure waits with exponential backoff and retries. */
  private async drain(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const p = this.pending[0]!;
        try {
          if (p.op === 'put') await this.store.put(p.decision);
          else await this.store.delete(p.id);
          if (this.pending[0] === p) this.pending.shift();
          if (p.op === 'put' && p.after) p.after();
          this.retryDelay = 0;
        } catch (err) {
          this.retryDelay = Math.min(30_000, this.retryDelay === 0 ? this.retryBaseMs : this.retryDelay * 2);
          this.logger?.error({ err, op: p.op, retryInMs: this.retryDelay }, 'decision store write failed; will retry');
          if (this.closed) return;
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            void this.drain();
          }, this.retryDelay);
          this.retryTimer.unref();
          return;
        }
      }
    } finally {
      this.writing = false;
      if (this.pending.length === 0) {
        const w = this.idle;
        this.idle = [];
        for (const f of w) f();
      }
    }
  }

  /** Resolves when every queued write has reached the store (tests, shutdown). */
  flush(): Promise<void> {
    if (this.pending.length === 0 && !this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      if (!this.writing && this.retryTimer === undefined) void this.drain();
    });
  }

  /** Flushes pending writes (waiting at most `timeoutMs`, default 5 s), stops timers and closes the store. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.pending.length > 0) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        void this.drain();
      }
      let t: NodeJS.Timeout | undefined;
      await Promise.race([this.flush(), new Promise<void>((r) => { t = setTimeout(r, timeoutMs); })]);
      if (t) clearTimeout(t);
      if (this.pending.length > 0) {
        const ids = this.pending.slice(0, 20).map((p) => (p.op === 'put' ? p.decision.id : p.id));
        this.logger?.error({ lost: this.pending.length, decisionIds: ids, timeoutMs }, 'decision store writes still pending at shutdown were not persisted');
      }
    }
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listeners.clear();
    await this.store.close();
  }
}

/**
 * Creates the decision service and loads the active decisions from the store (restart persistence).
 * @throws when the store cannot be read at start (the gateway should not start without its bans).
 */
export async function createDecisionService(opts: DecisionServiceOptions): Promise<DecisionIndex> {
  const s = new DecisionIndex(opts);
  await s.start();
  return s;
}
