import type { ServerResponse } from 'node:http';

/** Per-connection buffer bounds: messages waiting while the socket is congested. */
export const SSE_MAX_QUEUED = 1000;
/** Per-connection buffer bound in bytes (1 MiB). */
export const SSE_MAX_QUEUED_BYTES = 1024 * 1024;
/** Heartbeat comment interval (ms): keeps proxies from closing idle streams and detects dead peers. */
export const SSE_HEARTBEAT_MS = 15_000;

/**
 * One Server-Sent Events connection (WHATWG HTML §9.2 event stream format). Writes go straight to the
 * socket while it accepts them; when the socket is congested (`write` returned false) messages queue up to
 * {@link SSE_MAX_QUEUED} / {@link SSE_MAX_QUEUED_BYTES} and further ones are dropped and counted, so a slow
 * consumer costs bounded memory and never slows the gateway. After the queue drains a `dropped` event tells
 * the client how many it missed.
 */
export class SseConnection {
  private readonly res: ServerResponse;
  private readonly types?: ReadonlySet<string>;
  private queue: string[] = [];
  private queuedBytes = 0;
  private congested = false;
  /** Messages dropped since the last `dropped` notice. */
  dropped = 0;
  /** Messages dropped over the connection's life. */
  droppedTotal = 0;
  closed = false;
  /**
   * Re-checks the credential the stream was opened with (called at each heartbeat): a revoked token,
   * logged-out or expired session ends the stream within one heartbeat interval.
   */
  readonly revalidate?: () => Promise<boolean>;

  /** Rewrites a message for this connection's principal (e.g. masks API keys for viewers). */
  private readonly transform?: (name: string, data: unknown) => unknown;

  constructor(res: ServerResponse, types?: ReadonlySet<string>, revalidate?: () => Promise<boolean>, transform?: (name: string, data: unknown) => unknown) {
    this.res = res;
    this.types = types;
    this.revalidate = revalidate;
    this.transform = transform;
    res.on('drain', () => this.drain());
    res.on('close', () => {
      this.closed = true;
      this.queue = [];
    });
  }

  /** Sends one event (`event: name`, `data: <json>`); filtered by the connection's `types`. */
  send(name: string, data: unknown): void {
    if (this.closed || (this.types && !this.types.has(name))) return;
    this.write(`event: ${name}\ndata: ${JSON.stringify(this.transform ? this.transform(name, data) : data)}\n\n`);
  }

  /** Ends the response. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.res.end();
  }

  /** Sends a comment line (heartbeat). */
  comment(text: string): void {
    if (!this.closed) this.write(`: ${text}\n\n`);
  }

  private write(msg: string): void {
    if (this.congested) {
      if (this.queue.length >= SSE_MAX_QUEUED || this.queuedBytes + msg.length > SSE_MAX_QUEUED_BYTES) {
        this.dropped++;
        this.droppedTotal++;
        return;
      }
      this.queue.push(msg);
      this.queuedBytes += msg.length;
      return;
    }
    if (!this.res.write(msg)) this.congested = true;
  }

  private drain(): void {
    this.congested = false;
    while (this.queue.length > 0 && !this.congested) {
      const m = this.queue.shift()!;
      this.queuedBytes -= m.length;
      if (!this.res.write(m)) this.congested = true;
    }
    if (!this.congested && this.dropped > 0) {
      const n = this.dropped;
      this.dropped = 0;
      this.send('dropped', { count: n });
    }
  }
}

/**
 * Fan-out of live messages to every open SSE connection. Publishers (events, decisions, counters, and
 * ALERTS' incidents/alerts through `publish`) never block: each connection buffers on its own.
 */
export class StreamHub {
  private readonly conns = new Set<SseConnection>();
  private heartbeat?: NodeJS.Timeout;
  /** Called when the first connection opens / the last one closes (to start/stop per-second counters). */
  private readonly onActive: (active: boolean) => void;

  private readonly heartbeatMs: number;

  /** @param heartbeatMs - heartbeat and credential re-check interval (default {@link SSE_HEARTBEAT_MS}). */
  constructor(onActive: (active: boolean) => void = () => {}, heartbeatMs = SSE_HEARTBEAT_MS) {
    this.onActive = onActive;
    this.heartbeatMs = heartbeatMs;
  }

  /** Number of open connections. */
  get size(): number {
    return this.conns.size;
  }

  /** Registers a connection until its response closes. */
  add(c: SseConnection, res: ServerResponse): void {
    this.conns.add(c);
    if (this.conns.size === 1) {
      this.heartbeat = setInterval(() => {
        for (const x of this.conns) {
          if (!x.revalidate) {
            x.comment('ping');
            continue;
          }
          x.revalidate().then(
            (ok) => (ok ? x.comment('ping') : x.end()),
            () => x.end(),
          );
        }
      }, this.heartbeatMs);
      this.heartbeat.unref();
      this.onActive(true);
    }
    res.on('close', () => {
      this.conns.delete(c);
      if (this.conns.size === 0) {
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.heartbeat = undefined;
        this.onActive(false);
      }
    });
  }

  /** Sends an event to every connection. Never throws. */
  publish(name: string, data: unknown): void {
    for (const c of this.conns) {
      try {
        c.send(name, data);
      } catch {
        /* a broken connection is closed by its own 'close' handler */
      }
    }
  }

  /** Stops the heartbeat and ends every open stream (server shutdown must not wait for idle streams). */
  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const c of this.conns) c.end();
    this.conns.clear();
  }
}
