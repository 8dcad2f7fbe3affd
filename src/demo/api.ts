import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The bundled demo upstream: a small FinTech-like JSON API so a newcomer sees Bulwark protect something
 * real in one command. Everything is in memory and resets on restart. It is deliberately plain (no
 * protection of its own): the gateway in front of it is the point.
 *
 * Seeded users (also listed in the README): `alice` / `wonderland`, `bob` / `builder`, `carol` / `pa55word`.
 */

/** A demo account. */
interface Account {
  id: number;
  username: string;
  /** SHA-256 of the password (demo only: a real service would use a slow KDF such as scrypt). */
  passwordHash: Buffer;
  name: string;
  balanceCents: number;
  history: { id: number; time: string; amountCents: number; to?: string; from?: string; memo: string }[];
}

/** Seeded demo users: username → password. Printed in the README for the curl examples. */
export const DEMO_USERS: Readonly<Record<string, string>> = { alice: 'wonderland', bob: 'builder', carol: 'pa55word' };

const PRODUCTS = [
  { id: 1, name: 'Everyday Account', kind: 'account', monthlyFeeCents: 0 },
  { id: 2, name: 'Savings Plus', kind: 'savings', interestRate: 0.031 },
  { id: 3, name: 'Travel Card', kind: 'card', foreignFeeRate: 0 },
  { id: 4, name: 'Small Business Loan', kind: 'loan', apr: 0.079 },
  { id: 5, name: 'Green Mortgage', kind: 'mortgage', apr: 0.041 },
];

const MAX_BODY = 16 * 1024;
const MAX_SESSIONS = 10_000;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

/** A running demo API. */
export interface DemoApi {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:3001`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Creates the demo API's request handler with fresh in-memory state (exported for tests and benches that
 * want the handler without a listener).
 */
export function createDemoHandler(): (req: IncomingMessage, res: ServerResponse) => void {
  const accounts = new Map<string, Account>();
  const byId = new Map<number, Account>();
  let nextId = 1;
  let txId = 1000;
  for (const [username, password] of Object.entries(DEMO_USERS)) {
    const a: Account = {
      id: nextId++,
      username,
      passwordHash: sha256(password),
      name: username[0]!.toUpperCase() + username.slice(1),
      balanceCents: 250_000 + nextId * 13_37,
      history: [],
    };
    a.history.push({ id: txId++, time: new Date(Date.UTC(2026, 0, 2)).toISOString(), amountCents: a.balanceCents, memo: 'opening balance' });
    accounts.set(username, a);
    byId.set(a.id, a);
  }
  const sessions = new Map<string, string>(); // token → username (bounded, oldest evicted)

  function auth(req: IncomingMessage): Account | undefined {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return undefined;
    const user = sessions.get(h.slice(7).trim());
    return user === undefined ? undefined : accounts.get(user);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    const unauthorized = (): void => send(res, 401, { error: 'unauthorized', message: 'Send Authorization: Bearer <token> from POST /api/login' });

    if (path === '/api/login' && method === 'POST') {
      void readJson(req).then((body) => {
        const b = body as { username?: unknown; password?: unknown } | undefined;
        if (!b || typeof b.username !== 'string' || typeof b.password !== 'string') {
          send(res, 400, { error: 'bad_request', message: 'expected JSON {"username": string, "password": string}' });
          return;
        }
        const a = accounts.get(b.username);
        const given = sha256(b.password);
        if (a === undefined || !timingSafeEqual(given, a.passwordHash)) {
          send(res, 401, { error: 'invalid_credentials' });
          return;
        }
        const token = randomBytes(24).toString('base64url');
        sessions.set(token, a.username);
        if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
        send(res, 200, { token, tokenType: 'Bearer', expiresIn: 3600, user: { id: a.id, username: a.username } });
      });
      return;
    }
    if (path === '/api/balance' && method === 'GET') {
      const a = auth(req);
      if (!a) return unauthorized();
      return send(res, 200, { accountId: a.id, currency: 'EUR', balanceCents: a.balanceCents });
    }
    if (path === '/api/history' && method === 'GET') {
      const a = auth(req);
      if (!a) return unauthorized();
      return send(res, 200, { accountId: a.id, transactions: a.history.slice(-50).reverse() });
    }
    if (path === '/api/transaction' && method === 'POST') {
      const a = auth(req);
      if (!a) {
        req.resume();
        return unauthorized();
      }
      void readJson(req).then((body) => {
        const b = body as { to?: unknown; amountCents?: unknown; memo?: unknown } | undefined;
        const to = typeof b?.to === 'string' ? accounts.get(b.to) : undefined;
        const amount = b?.amountCents;
        if (!b || to === undefined || typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) {
          send(res, 400, { error: 'bad_request', message: 'expected JSON {"to": username, "amountCents": positive integer, "memo"?: string}' });
          return;
        }
        if (amount > a.balanceCents) {
          send(res, 422, { error: 'insufficient_funds' });
          return;
        }
        const memo = typeof b.memo === 'string' ? b.memo.slice(0, 140) : '';
        a.balanceCents -= amount;
        to.balanceCents += amount;
        const time = new Date().toISOString();
        const id = txId++;
        a.history.push({ id, time, amountCents: -amount, to: to.username, memo });
        to.history.push({ id, time, amountCents: amount, from: a.username, memo });
        if (a.history.length > 500) a.history.shift();
        if (to.history.length > 500) to.history.shift();
        send(res, 201, { id, status: 'completed', balanceCents: a.balanceCents });
      });
      return;
    }
    if (path.startsWith('/api/users/') && method === 'GET') {
      const idText = path.slice('/api/users/'.length);
      const id = /^[0-9]{1,9}$/.test(idText) ? Number(idText) : NaN;
      const a = byId.get(id);
      if (!a) return send(res, 404, { error: 'not_found', message: 'no such user' });
      return send(res, 200, { id: a.id, username: a.username, name: a.name });
    }
    if (path === '/api/products' && method === 'GET') return send(res, 200, { products: PRODUCTS });
    if (path === '/api/search' && method === 'GET') {
      const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      const term = (params.get('q') ?? '').slice(0, 100).toLowerCase();
      const results = PRODUCTS.filter((p) => p.name.toLowerCase().includes(term));
      return send(res, 200, { query: term, count: results.length, results });
    }
    if (path === '/api/admin' || path.startsWith('/api/admin/')) {
      // honeypot-style bait: looks like a real but locked admin surface; nobody legitimate calls it
      req.resume();
      return send(res, 404, { error: 'not_found', message: 'admin console moved', hint: '/api/admin/login' }, { server: 'demo-admin/1.0' });
    }
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    req.resume();
    return send(res, 404, { error: 'not_found', message: 'no such endpoint' });
  };
}

/**
 * Starts the demo API on `host:port` (port 0 = ephemeral).
 * @throws when the port cannot be bound.
 */
export async function startDemoApi(opts: { port?: number; host?: string } = {}): Promise<DemoApi> {
  const server = createServer({ keepAliveTimeout: 10_000 }, createDemoHandler());
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 3001, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const h = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `http://${h === '[::]' ? '[::1]' : h === '0.0.0.0' ? '127.0.0.1' : h}:${addr.port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
