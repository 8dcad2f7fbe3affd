import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Forwarder, HOP_BY_HOP } from '../src/dataplane/forward.ts';

/**
 * The bench baseline (b): a minimal reverse proxy with no inspection — node:http in front of the same
 * undici Pool forwarding as the gateway (`Forwarder`), stripping hop-by-hop headers and appending
 * X-Forwarded-For, which any correct proxy must do. The gateway's overhead over this is what Bulwark adds.
 */
export async function startMinimalProxy(opts: { upstream: string; port?: number; host?: string; connections?: number }): Promise<{ url: string; close(): Promise<void> }> {
  const fwd = new Forwarder({ upstreams: [opts.upstream], connections: opts.connections ?? 128, headersTimeout: 30_000, bodyTimeout: 60_000 });
  const noHeaders: readonly (readonly [string, string])[] = [];
  const server = createServer({ keepAliveTimeout: 5000 }, (req: IncomingMessage, res) => {
    const headers: string[] = [];
    const h = req.headers;
    for (const name in h) {
      if (HOP_BY_HOP.has(name) || name === 'host') continue;
      const v = h[name];
      if (typeof v === 'string') headers.push(name, v);
      else if (v !== undefined) for (const x of v) headers.push(name, x);
    }
    headers.push('x-forwarded-for', req.socket.remoteAddress ?? '');
    const hasBody = h['content-length'] !== undefined || h['transfer-encoding'] !== undefined;
    const abort = fwd.forward(res, { method: req.method ?? 'GET', path: req.url ?? '/', headers, body: hasBody ? req : null, requestId: '', responseHeaders: noHeaders, sampleBytes: 0 }, () => {});
    res.once('close', () => {
      if (!res.writableFinished) abort();
    });
  });
  server.on('connection', (s) => s.setNoDelay(true));
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const a = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${a.port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await fwd.close();
    },
  };
}
