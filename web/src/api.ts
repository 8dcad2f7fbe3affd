/**
 * HTTP client of the control-plane API (docs/api.md): same-origin fetch with the session cookie, the
 * `X-CSRF-Token` header on unsafe methods, and problem details (RFC 9457) turned into {@link ApiError}.
 */
import { signal } from '@preact/signals';

/** A validation issue of a problem details body: `path` like `rateLimits[2].limit`. */
export interface Issue {
  path: string;
  message: string;
}

/** An error answer of the API (problem details). `status` 0 means a network failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code?: string;
  readonly errors: Issue[];
  constructor(status: number, message: string, code?: string, errors: Issue[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

/** Principal of the session (GET /api/v1/auth/session). */
export interface Principal {
  id: string;
  name: string;
  role: 'admin' | 'analyst' | 'viewer';
  kind: 'session' | 'token';
}

/** Signed-in principal, or null when signed out (undefined while unknown). */
export const principal = signal<Principal | null | undefined>(undefined);
let csrf = '';

/** Sets the CSRF token issued at login / by GET /auth/session. */
export function setCsrf(token: string | undefined): void {
  csrf = token ?? '';
}

/** Called on any 401: the session ended, back to the login page. */
export const onUnauthenticated = { fn: (): void => {} };

/**
 * Sends a request to `/api/v1${path}` and parses the JSON answer (undefined for 204).
 * @throws ApiError with the problem details' status, code, detail and `errors`.
 */
export async function api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD' && csrf) h['x-csrf-token'] = csrf;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers: h, body: payload, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(0, `network error: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/auth/login') onUnauthenticated.fn();
    const detail = json?.detail ?? json?.title ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, String(detail), json?.code, Array.isArray(json?.errors) ? json.errors : []);
  }
  lastEtag = res.headers.get('etag') ?? lastEtag;
  return json as T;
}

/** ETag of the last answer that carried one (the policy's `"v<n>"`). */
export let lastEtag = '';

/** Builds a query string from defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Loads the current session; sets {@link principal} (null when signed out). */
export async function loadSession(): Promise<void> {
  try {
    const s = await api<{ user: Principal; csrfToken?: string }>('GET', '/auth/session');
    setCsrf(s.csrfToken);
    principal.value = s.user;
  } catch {
    principal.value = null;
  }
}

/** Role order: viewer < analyst < admin. */
export function can(role: Principal['role']): boolean {
  const order = { viewer: 0, analyst: 1, admin: 2 };
  const p = principal.value;
  return !!p && order[p.role] >= order[role];
}
