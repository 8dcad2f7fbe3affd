/**
 * Test helpers for the control plane (used by `test/controlplane*.test.ts`): a Bulwark instance with the
 * control plane mounted and its log lines captured, and a small HTTP client that keeps the session cookie
 * and CSRF token like the dashboard does. Every response body is recorded for the no-secrets check.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { startTestBulwark, type TestBulwark } from '../../test/helpers/bulwark.ts';
import type { StartOptions } from '../app.ts';
import { controlPlanePlugin } from './plugin.ts';

/** A running gateway + control plane for a test. */
export interface CpFixture {
  bw: TestBulwark;
  /** Admin listener base URL, e.g. `http://127.0.0.1:40123`. */
  base: string;
  /** Every log line written so far (JSON text). */
  logs: string[];
  /** Every response body received by clients of this fixture. */
  bodies: string[];
  /** A client with no credentials. */
  anon(): CpClient;
  /** Logs in and returns a session client (throws when login fails). */
  login(username: string, password: string): Promise<CpClient>;
  /** A client using an API token. */
  withToken(token: string): CpClient;
  stop(): Promise<void>;
}

/** Response of {@link CpClient.req}: status, headers, text and parsed JSON (when JSON). */
export interface CpResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** An HTTP client bound to one credential. */
export interface CpClient {
  cookie?: string;
  csrf?: string;
  token?: string;
  /**
   * Sends a request. JSON bodies are serialised; `csrf: false` omits the CSRF header (to test CSRF).
   */
  req(method: string, path: string, body?: unknown, opts?: { headers?: Record<string, string>; csrf?: boolean | string; contentType?: string }): Promise<CpResponse>;
}

/**
 * Starts Bulwark with the control plane. Sets `BULWARK_ADMIN_PASSWORD` from `adminPassword` (unset it with
 * `null` to get a bootstrap token instead).
 */
export async function startControlPlane(opts: Partial<StartOptions> & { adminPassword?: string | null } = {}): Promise<CpFixture> {
  const { adminPassword = 'admin-password-0123', ...rest } = opts;
  if (adminPassword === null) delete process.env.BULWARK_ADMIN_PASSWORD;
  else process.env.BULWARK_ADMIN_PASSWORD = adminPassword;
  delete process.env.BULWARK_ADMIN_USER;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const bw = await startTestBulwark({ plugins: [controlPlanePlugin], logger, ...rest });
  delete process.env.BULWARK_ADMIN_PASSWORD;
  const base = bw.adminUrl;
  const bodies: string[] = [];

  function client(init: { cookie?: string; csrf?: string; token?: string }): CpClient {
    const c: CpClient = {
      ...init,
      async req(method, path, body, o = {}) {
        const headers: Record<string, string> = { ...(o.headers ?? {}) };
        if (c.cookie) headers.cookie = c.cookie;
        if (c.token) headers.authorization = `Bearer ${c.token}`;
        if (c.csrf && o.csrf !== false && method !== 'GET') headers['x-csrf-token'] = typeof o.csrf === 'string' ? o.csrf : c.csrf;
        let payload: string | undefined;
        if (body !== undefined) {
          payload = typeof body === 'string' ? body : JSON.stringify(body);
          headers['content-type'] = o.contentType ?? 'application/json';
        }
        const res = await fetch(base + path, { method, headers, body: payload });
        const text = await res.text();
        bodies.push(text);
        for (const [k, v] of res.headers) bodies.push(`${k}: ${v}`);
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: res.status, headers: res.headers, text, json };
      },
    };
    return c;
  }

  return {
    bw,
    base,
    logs,
    bodies,
    anon: () => client({}),
    async login(username, password) {
      const c = client({});
      const r = await c.req('POST', '/api/v1/auth/login', { username, password });
      if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.text}`);
      c.cookie = r.headers.get('set-cookie')!.split(';')[0];
      c.csrf = r.json.csrfToken;
      return c;
    },
    withToken: (token) => client({ token }),
    stop: () => bw.stop(),
  };
}
