import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the test upstream received it. */
export interface RecordedRequest {
  method: string;
  /** Raw request-target as received. */
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** Total body bytes received. */
  bodyBytes: number;
  /** The body, kept only up to `keepBodyBytes` (default 1 MiB). */
  body: Buffer;
  remoteAddress: string;
}

/** Options of {@link startUpstream}. */
export interface UpstreamOptions {
  /** Custom handler; the request is recorded (headers only) before it runs and the body is left to it. */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Delay before answering, ms (to test 504). */
  delayMs?: number;
  /** Status of the default echo answer (200). */
  status?: number;
  /** Body bytes kept per recorded request (default 1 MiB); counting continues past it. */
  keepBodyBytes?: number;
  /** Extra response headers of the default echo answer. */
  responseHeaders?: Record<string, string | string[]>;
}

/** A running test upstream on 127.0.0.1 (ephemeral port). */
export interface TestUpstream {
  url: string;
  port: number;
  server: Server;
  /** Requests seen, in arrival order (pushed when the body has been read, for the echo handler). */
  requests: RecordedRequest[];
  /** Resolves with the next fully received request. */
  next(): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/**
 * Starts a recording upstream. Default behaviour: reads the whole body (counting bytes, keeping up to
 * `keepBodyBytes`), then answers `status` with a JSON echo `{method, url, headers, bodyBytes}`.
 */
export async function startUpstream(opts: UpstreamOptions = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<(r: RecordedRequest) => void> = [];
  const keep = opts.keepBodyBytes ?? 1024 * 1024;
  const record = (r: RecordedRequest): void => {
    requests.push(r);
    const w = waiters.shift();
    if (w) w(r);
  };
  const server = createServer((req, res) => {
    const rec: RecordedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyBytes: 0,
      body: Buffer.alloc(0),
      remoteAddress: req.socket.remoteAddress ?? '',
    };
    if (opts.handler) {
      record(rec);
      opts.handler(req, res);
      return;
    }
    const kept: Buffer[] = [];
    let keptBytes = 0;
    req.on('data', (c: Buffer) => {
      rec.bodyBytes += c.length;
      if (keptBytes < keep) {
        const part = c.subarray(0, keep - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
    });
    req.on('end', () => {
      rec.body = Buffer.concat(kept);
      record(rec);
      const answer = (): void => {
        if (res.destroyed) return;
        const text = JSON.stringify({ method: rec.method, url: rec.url, headers: rec.headers, bodyBytes: rec.bodyBytes });
        res.writeHead(opts.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...opts.responseHeaders });
        res.end(text);
      };
      if (opts.delayMs) setTimeout(answer, opts.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    requests,
    next: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound then released), for "upstream down" tests. */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
