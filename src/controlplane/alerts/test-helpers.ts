import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A request received by {@link startWebhookReceiver}. */
export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  path: string;
  at: number;
}

/**
 * A real local webhook receiver on 127.0.0.1 (ephemeral port) for tests. `statuses` are answered in order, then
 * 200; `delayMs` delays every answer (timeout tests). Test support only.
 */
export async function startWebhookReceiver(opts: { statuses?: number[]; delayMs?: number } = {}): Promise<{
  url: string; received: ReceivedHook[]; close(): Promise<void>; server: Server;
}> {
  const statuses = [...(opts.statuses ?? [])];
  const received: ReceivedHook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), path: req.url ?? '', at: Date.now() });
      const status = statuses.shift() ?? 200;
      const reply = () => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'nope');
      };
      if (opts.delayMs) setTimeout(reply, opts.delayMs);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/s3cr3t-path-token`,
    received,
    server,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** A mail received by {@link startSmtpReceiver}: envelope, auth user and the raw RFC 5322 message. */
export interface ReceivedMail {
  from: string;
  to: string[];
  user?: string;
  raw: string;
}

/**
 * A real local SMTP server (the `smtp-server` package) on 127.0.0.1 requiring AUTH with the given credentials;
 * STARTTLS is disabled and plain-text AUTH allowed, loopback only. Test support only.
 */
export async function startSmtpReceiver(creds: { user: string; password: string }): Promise<{
  port: number; mails: ReceivedMail[]; close(): Promise<void>;
}> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === creds.user && auth.password === creds.password) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const user = session.user;
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          ...(typeof user === 'string' ? { user } : {}),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Decodes quoted-printable (RFC 2045 §6.7) into UTF-8 text. */
function decodeQp(s: string): string {
  const bytes: number[] = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Splits a raw MIME message into its leaf parts (`contentType` lower-case, decoded `body`) and top-level headers.
 * Enough for nodemailer's multipart/alternative output; test support only.
 */
export function parseMime(raw: string): { headers: Record<string, string>; parts: { contentType: string; body: string }[] } {
  const parse = (chunk: string): { headers: Record<string, string>; body: string } => {
    const sep = chunk.search(/\r?\n\r?\n/);
    const head = sep === -1 ? chunk : chunk.slice(0, sep);
    const body = sep === -1 ? '' : chunk.slice(sep).replace(/^\r?\n\r?\n/, '');
    const headers: Record<string, string> = {};
    for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    return { headers, body };
  };
  const top = parse(raw);
  const parts: { contentType: string; body: string }[] = [];
  const walk = (h: Record<string, string>, body: string) => {
    const ct = (h['content-type'] ?? 'text/plain').toLowerCase();
    const m = /boundary="?([^";]+)"?/i.exec(h['content-type'] ?? '');
    if (ct.startsWith('multipart/') && m) {
      for (const piece of body.split(`--${m[1]}`).slice(1)) {
        if (piece.startsWith('--')) break;
        const p = parse(piece.replace(/^\r?\n/, ''));
        walk(p.headers, p.body);
      }
      return;
    }
    const enc = (h['content-transfer-encoding'] ?? '7bit').toLowerCase();
    const decoded = enc === 'quoted-printable' ? decodeQp(body) : enc === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : body;
    parts.push({ contentType: ct.split(';')[0]!.trim(), body: decoded });
  };
  walk(top.headers, top.body);
  return { headers: top.headers, parts };
}
