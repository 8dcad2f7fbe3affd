import { connect } from 'node:net';
import { request as undiciRequest, type Dispatcher } from 'undici';

/** A buffered HTTP response. */
export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON. @throws SyntaxError when it is not JSON. */
  json<T = any>(): T;
}

/**
 * Sends one request with undici and buffers the answer. `path` is sent as is (raw request-target).
 * Keep-alive is off by default (`reset: true`) so tests do not leak pooled sockets.
 */
export async function send(
  baseUrl: string,
  path = '/',
  init: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer | NodeJS.ReadableStream | Iterable<Buffer> | AsyncIterable<Buffer>; dispatcher?: Dispatcher } = {},
): Promise<TestResponse> {
  const url = new URL(baseUrl);
  const r = await undiciRequest(url.origin, {
    path,
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: init.headers,
    body: init.body as Dispatcher.RequestOptions['body'],
    dispatcher: init.dispatcher,
    reset: true,
  } as Parameters<typeof undiciRequest>[1]);
  const body = await r.body.text();
  return {
    status: r.statusCode,
    headers: r.headers as Record<string, string | string[] | undefined>,
    body,
    json: () => JSON.parse(body),
  };
}

/** A raw response: status line code, lower-cased headers (last value wins), body text. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/**
 * Writes `raw` bytes to 127.0.0.1:`port` as is (request-target, header order and malformed input preserved)
 * and reads until the server closes or `timeoutMs` passes. Send `Connection: close` to get a prompt answer.
 * @returns the parsed first response (status 0 when nothing parseable arrived).
 */
export function sendRaw(port: number, raw: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('connect', () => sock.write(raw));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => {
      clearTimeout(t);
      if (chunks.length) resolve(parseRaw(Buffer.concat(chunks).toString('latin1')));
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(t);
      resolve(parseRaw(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

/** Parses the first HTTP/1.1 response in `text` (enough for tests: no chunked decoding beyond a single body). */
export function parseRaw(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: '', raw: text };
  const lines = text.slice(0, end).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  let body = text.slice(end + 4);
  const cl = headers['content-length'];
  if (cl !== undefined) body = body.slice(0, Number(cl));
  return { status, headers, body, raw: text };
}

/** GETs a URL and returns the body text (admin endpoints). */
export async function getText(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const u = new URL(url);
  const r = await send(u.origin, u.pathname + u.search);
  return { status: r.status, body: r.body, headers: r.headers };
}

/** Reads one sample value of a Prometheus metric from `/metrics` text (labels matched as a substring). */
export function metricValue(metricsText: string, name: string, labels = ''): number {
  let total = 0;
  let found = false;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !rest.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? total : Number.NaN;
}
