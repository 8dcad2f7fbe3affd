import type { ServerResponse } from 'node:http';

/** The problem types the gateway answers with (RFC 9457 `type` URIs, stable for clients to match on). */
export const PROBLEM_TYPES = {
  throttled: { type: 'urn:bulwark:problem:rate-limited', title: 'Too Many Requests', status: 429 },
  blocked: { type: 'urn:bulwark:problem:blocked', title: 'Forbidden', status: 403 },
  requestTimeout: { type: 'urn:bulwark:problem:request-timeout', title: 'Request Timeout', status: 408 },
  tooLarge: { type: 'urn:bulwark:problem:body-too-large', title: 'Content Too Large', status: 413 },
  badRequest: { type: 'urn:bulwark:problem:bad-request', title: 'Bad Request', status: 400 },
  methodNotAllowed: { type: 'urn:bulwark:problem:method-not-allowed', title: 'Method Not Allowed', status: 405 },
  badGateway: { type: 'urn:bulwark:problem:upstream-unavailable', title: 'Bad Gateway', status: 502 },
  gatewayTimeout: { type: 'urn:bulwark:problem:upstream-timeout', title: 'Gateway Timeout', status: 504 },
  internal: { type: 'urn:bulwark:problem:internal', title: 'Internal Server Error', status: 500 },
} as const;

/** One of {@link PROBLEM_TYPES}. */
export type ProblemKind = keyof typeof PROBLEM_TYPES;

/**
 * Writes an RFC 9457 problem details response (`application/problem+json`: type, title, status, detail,
 * instance). `detail` is a fixed gateway text — request data is never echoed, and the body is built with
 * `JSON.stringify` so even the request id (which may come from the client) is escaped.
 *
 * @param instance - the request id (RFC 9457 `instance`: identifies this occurrence).
 * @param extra - additional headers as name/value pairs (RateLimit headers, Retry-After).
 * @param close - ask the client to close the connection (an unread request body follows).
 * @returns the number of body bytes written. Never throws (a response already started is left alone).
 */
export function sendProblem(
  res: ServerResponse,
  kind: ProblemKind,
  detail: string,
  instance: string,
  extra?: readonly (readonly [string, string])[],
  close = false,
): number {
  if (res.headersSent || res.destroyed) return 0;
  const p = PROBLEM_TYPES[kind];
  const body = JSON.stringify({ type: p.type, title: p.title, status: p.status, detail, instance });
  const headers: string[] = [
    'content-type', 'application/problem+json',
    'content-length', String(Buffer.byteLength(body)),
    'cache-control', 'no-store',
    'x-request-id', instance,
  ];
  if (extra) for (const [k, v] of extra) headers.push(k, v);
  if (close) headers.push('connection', 'close');
  try {
    res.writeHead(p.status, headers);
    res.end(body);
  } catch {
    res.destroy();
    return 0;
  }
  return body.length;
}

/**
 * A whole `application/problem+json` response as raw HTTP/1.1 text with `connection: close`, for a socket that
 * has no `ServerResponse` (Node's parser rejected the request, or CONNECT). `detail` is a fixed gateway text.
 */
export function rawProblem(kind: ProblemKind, detail: string): string {
  const p = PROBLEM_TYPES[kind];
  const body = JSON.stringify({ type: p.type, title: p.title, status: p.status, detail });
  return `HTTP/1.1 ${p.status} ${p.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
