import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { EventSink, EventStore, SecurityEvent } from './types.ts';

/** Options of {@link BatchingEventSink}. */
export interface BatchingEventSinkOptions {
  /** Maximum events waiting (including the batch being written); past it new events are dropped (`queue_full`). */
  queueLimit: number;
  /** Events per store write (one transaction). */
  batchSize: number;
  /** Period of the background flush, ms. A full batch is written sooner. */
  flushIntervalMs: number;
  metrics?: Metrics;
  logger?: Logger;
  /** First retry delay after a failed write, ms (default 100, doubling up to `maxRetryDelayMs`). */
  retryBaseMs?: number;
  /** Cap of the retry delay, ms (default 5,000). */
  maxRetryDelayMs?: number;
  /**
   * Consecutive failures after which the oldest batch is given up (`store_error` drops) so one poison batch
   * cannot wedge the queue; default 30 (about two minutes of retries at the default delays).
   */
  maxBatchAttempts?: number;
}

/**
 * The data plane's event sink: a bounded FIFO in memory, written to an {@link EventStore} in batches off the
 * hot path (a timer or `setImmediate`, never inside `push`).
 *
 * - `push` is O(1), never throws and never waits; when `queueLimit` events are already waiting, the event is
 *   dropped and counted in `bulwark_events_dropped_total{reason="queue_full"}` — traffic is never blocked.
 * - A batch stays in the queue until the store acknowledges it, so a store that fails and recovers before
 *   the queue fills loses nothing; failed writes are retried with exponential backoff.
 * - `bulwark_event_queue_depth` follows the queue length; `bulwark_events_written_total` counts writes.
 */
export class BatchingEventSink implements EventSink {
  private readonly store: EventStore;
  private readonly opts: Required<Omit<BatchingEventSinkOptions, 'metrics' | 'logger'>>;
  private readonly metrics?: Metrics;
  private readonly logger?: Logger;
  private q: SecurityEvent[] = [];
  private head = 0;
  private readonly listeners = new Set<(e: SecurityEvent) => void>();
  private inflight?: Promise<boolean>;
  private scheduled = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly timer: NodeJS.Timeout;
  private failures = 0;
  private lastError: unknown;
  private closed = false;
  /** Events dropped since creation, by reason. */
  readonly dropped = { queue_full: 0, store_error: 0, closed: 0 };
  /** Events written since creation. */
  written = 0;

  /** @throws {RangeError} when a size or interval is not positive. */
  constructor(store: EventStore, opts: BatchingEventSinkOptions) {
    if (!(opts.queueLimit > 0) || !(opts.batchSize > 0) || !(opts.flushIntervalMs > 0)) throw new RangeError('queueLimit, batchSize and flushIntervalMs must be positive');
    this.store = store;
    this.metrics = opts.metrics;
    this.logger = opts.logger;
    this.opts = {
      queueLimit: opts.queueLimit,
      batchSize: opts.batchSize,
      flushIntervalMs: opts.flushIntervalMs,
      retryBaseMs: opts.retryBaseMs ?? 100,
      maxRetryDelayMs: opts.maxRetryDelayMs ?? 5000,
      maxBatchAttempts: opts.maxBatchAttempts ?? 30,
    };
    this.timer = setInterval(() => this.kick(), opts.flushIntervalMs);
    this.timer.unref();
  }

  /** Events waiting to be written (including a batch being written). */
  get depth(): number {
    return this.q.length - this.head;
  }

  private drop(reason: 'queue_full' | 'store_error' | 'closed', n = 1): void {
    this.dropped[reason] += n;
    this.metrics?.eventsDropped.inc({ reason }, n);
  }

  /** Queues an event; O(1), never throws. */
  push(event: SecurityEvent): void {
    try {
      if (this.closed) {
        this.drop('closed');
        return;
      }
      if (this.depth >= this.opts.queueLimit) {
        this.drop('queue_full');
      } else {
        this.q.push(event);
        this.metrics?.eventQueueDepth.set(this.depth);
        if (this.depth >= this.opts.batchSize && !this.scheduled && this.retryTimer === undefined) {
          this.scheduled = true;
          setImmediate(() => {
            this.scheduled = false;
            this.kick();
          });
        }
      }
      for (const l of this.listeners) {
        try {
          l(event);
        } catch (err) {
          this.logger?.warn({ err }, 'event listener threw');
        }
      }
    } catch {
      /* push must never throw on the request path */
    }
  }

  subscribe(listener: (e: SecurityEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the background writer unless it runs or waits for a retry. */
  private kick(): void {
    if (this.inflight || this.retryTimer !== undefined || this.depth === 0) return;
    void this.pump();
  }

  /** Writes batches until the queue is empty or a write fails (then schedules a retry). */
  private async pump(): Promise<void> {
    while (this.depth > 0) {
      const ok = await this.writeBatch();
      if (!ok) {
        if (this.closed) return;
        const delay = Math.min(this.opts.maxRetryDelayMs, this.opts.retryBaseMs * 2 ** Math.min(20, this.failures - 1));
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
    }
  }

  /** Writes the oldest batch once; resolves true on success. Concurrent callers share the write. */
  private writeBatch(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    if (this.depth === 0) return Promise.resolve(true);
    const batch = this.q.slice(this.head, this.head + this.opts.batchSize);
    let p: Promise<void>;
    try {
      p = this.store.insertBatch(batch);
    } catch (err) {
      p = Promise.reject(err);
    }
    this.inflight = p.then(
      () => {
        this.inflight = undefined;
        this.consume(batch.length);
        this.failures = 0;
        this.written += batch.length;
        this.metrics?.eventsWritten.inc(batch.length);
        return true;
      },
      (err: unknown) => {
        this.inflight = undefined;
        this.failures++;
        this.lastError = err;
        if (this.failures === 1 || this.failures % 10 === 0) this.logger?.error({ err, failures: this.failures, depth: this.depth }, 'event store write failed; retrying');
        if (this.failures >= this.opts.maxBatchAttempts) {
          this.consume(batch.length);
          this.drop('store_error', batch.length);
          this.failures = 0;
          this.logger?.error({ dropped: batch.length }, 'event batch dropped after repeated store failures');
        }
        return false;
      },
    );
    return this.inflight;
  }

  /** Removes `n` events from the head; compacts the array once the consumed prefix is large. */
  private consume(n: number): void {
    this.head += n;
    if (this.head >= this.q.length) {
      this.q = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.q.length) {
      this.q = this.q.slice(this.head);
      this.head = 0;
    }
    this.metrics?.eventQueueDepth.set(this.depth);
  }

  /**
   * Writes everything queued now.
   * @throws the store's error when a write fails (events stay queued and the background retry continues).
   */
  async flush(): Promise<void> {
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    while (this.depth > 0) {
      const ok = await this.writeBatch();
      if (!ok) {
        this.kickLater();
        throw this.lastError instanceof Error ? this.lastError : new Error(String(this.lastError));
      }
    }
  }

  private kickLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.opts.retryBaseMs);
    this.retryTimer.unref();
  }

  /**
   * Stops the timer, tries to write what is queued (for at most `timeoutMs`, default 5 s) and counts the rest
   * as `closed` drops. Does not close the store (the composition root owns it).
   */
  async close(timeoutMs = 5000): Promise<void> {
    clearInterval(this.timer);
    const deadline = Date.now() + timeoutMs;
    while (this.depth > 0 && Date.now() < deadline) {
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      const ok = await this.writeBatch();
      if (!ok) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.depth > 0) {
      this.drop('closed', this.depth);
      this.q = [];
      this.head = 0;
    }
    this.listeners.clear();
    this.metrics?.eventQueueDepth.set(0);
  }
}
