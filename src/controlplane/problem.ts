/**
 * Problem details (RFC 9457) for every control-plane error. Routes throw {@link ApiError}; the error handler
 * in `plugin.ts` turns it (and Fastify/zod validation errors) into an `application/problem+json` body.
 */

/** Stable machine-readable codes of control-plane errors (documented in docs/api.md). */
export type ApiErrorCode =
  | 'BWK_UNAUTHENTICATED'
  | 'BWK_FORBIDDEN'
  | 'BWK_CSRF'
  | 'BWK_BANNED'
  | 'BWK_VALIDATION'
  | 'BWK_NOT_FOUND'
  | 'BWK_CONFLICT'
  | 'BWK_PRECONDITION_FAILED'
  | 'BWK_PRECONDITION_REQUIRED'
  | 'BWK_RATE_LIMITED'
  | 'BWK_POLICY_INVALID'
  | 'BWK_PAYLOAD_TOO_LARGE'
  | 'BWK_UNSUPPORTED_MEDIA_TYPE'
  | 'BWK_UNAVAILABLE'
  | 'BWK_INTERNAL';

/** One validation issue: dotted/indexed path (e.g. `rateLimits[2].limit`) and reason. */
export interface ProblemIssue {
  path: string;
  message: string;
}

/** The RFC 9457 body; `code` and `errors` are extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ApiErrorCode;
  errors?: ProblemIssue[];
}

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * An error a route throws to answer with problem details. `headers` are added to the response (e.g.
 * `Retry-After`, `WWW-Authenticate`).
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: ApiErrorCode;
  readonly errors?: ProblemIssue[];
  readonly headers?: Record<string, string>;

  constructor(statusCode: number, code: ApiErrorCode, detail: string, extra?: { errors?: ProblemIssue[]; headers?: Record<string, string> }) {
    super(detail);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.errors = extra?.errors;
    this.headers = extra?.headers;
  }
}

/** Builds a problem body; `type` is `https://bulwark.dev/problems/<code>` so clients can link to docs. */
export function problem(status: number, code: ApiErrorCode, detail?: string, instance?: string, errors?: ProblemIssue[]): Problem {
  const p: Problem = { type: `https://bulwark.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title: TITLES[status] ?? 'Error', status, code };
  if (detail !== undefined) p.detail = detail;
  if (instance !== undefined) p.instance = instance;
  if (errors !== undefined) p.errors = errors;
  return p;
}

/** Shorthand constructors for the common cases. */
export const errors = {
  notFound: (what: string) => new ApiError(404, 'BWK_NOT_FOUND', `${what} not found`),
  conflict: (detail: string) => new ApiError(409, 'BWK_CONFLICT', detail),
  forbidden: (detail: string) => new ApiError(403, 'BWK_FORBIDDEN', detail),
  unauthenticated: (detail = 'authentication required') => new ApiError(401, 'BWK_UNAUTHENTICATED', detail, { headers: { 'www-authenticate': 'Bearer realm="bulwark"' } }),
  validation: (detail: string, issues?: ProblemIssue[]) => new ApiError(400, 'BWK_VALIDATION', detail, { errors: issues }),
};
