import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * Content-Security-Policy of the dashboard (HTML and assets). Only same-origin scripts, styles and
 * connections; no inline script or style, no eval (`'unsafe-eval'` absent), no plugins, no framing
 * (clickjacking), no `<base>` rewriting. `img-src data:` for ECharts' exported images.
 * Source: OWASP Content Security Policy Cheat Sheet ("strict" policy for a same-origin SPA).
 */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * Top-level page paths of the single-page app. `GET /<page>` and `GET /<page>/*` answer index.html
 * (history-API routing); the app shows the page. Listed explicitly rather than a catch-all `/*`, so the
 * control plane's own answers for unknown `/api/v1/*` routes (401 before authentication) stay untouched.
 */
export const DASHBOARD_PAGES: readonly string[] = ['login', 'overview', 'incidents', 'events', 'decisions', 'policy', 'inventory', 'admin'];

/**
 * Where the built dashboard is (`web/dist` with an `index.html`): `BULWARK_WEB_DIR`, else `web/dist` of the
 * checkout, found from this file both when run from `src/` (Node strips types) and from the `tsc` build
 * (`dist/src/controlplane/`). Returns undefined when the dashboard was not built.
 */
export function findDashboardDir(): string | undefined {
  const candidates = [
    process.env.BULWARK_WEB_DIR,
    fileURLToPath(new URL('../../web/dist', import.meta.url)),
    fileURLToPath(new URL('../../../web/dist', import.meta.url)),
  ];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'index.html')));
}

/** Options of {@link dashboardPlugin}: `dir` overrides {@link findDashboardDir} (tests). */
export interface DashboardOptions {
  dir?: string;
}

/**
 * Serves the dashboard SPA (built by `vite build` into `web/dist`, see `web/vite.config.ts`) on the admin
 * listener: hashed assets under `/assets/` with `@fastify/static` (cached for a year, immutable), and
 * index.html (never cached) at `/` and at every page path of {@link DASHBOARD_PAGES}. Every answer carries
 * the strict {@link DASHBOARD_CSP} and `nosniff` / `X-Frame-Options: DENY` / `Referrer-Policy: no-referrer`.
 * When the dashboard was not built the page paths answer 503 with a hint (the API keeps working).
 * Registered by `controlPlanePlugin` (src/controlplane/plugin.ts), in its own encapsulated scope.
 */
export async function dashboardPlugin(admin: FastifyInstance, opts: DashboardOptions = {}): Promise<void> {
  const dir = opts.dir ?? findDashboardDir();
  await admin.register(async (web) => {
    web.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', DASHBOARD_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('x-frame-options', 'DENY');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('cross-origin-opener-policy', 'same-origin');
      return payload;
    });
    const indexFile = dir && existsSync(join(dir, 'index.html')) ? join(dir, 'index.html') : undefined;
    const sendIndex = async (_request: unknown, reply: import('fastify').FastifyReply) => {
      if (!indexFile) {
        return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send('Bulwark dashboard not built: run `npm run build` (vite build of web/).\nThe API is at /api/v1 and its docs at /api/docs.\n');
      }
      // Read per request (≈1 KB): a rebuild while running is served without restart.
      const html = await readFile(indexFile);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    };
    web.get('/', sendIndex);
    for (const page of DASHBOARD_PAGES) {
      web.get(`/${page}`, sendIndex);
      web.get(`/${page}/*`, sendIndex);
    }
    if (indexFile && dir && existsSync(join(dir, 'assets'))) {
      await web.register(fastifyStatic, {
        root: join(dir, 'assets'),
        prefix: '/assets/',
        decorateReply: false,
        index: false,
        dotfiles: 'deny',
        maxAge: '365d',
        immutable: true,
      });
    }
  });
}
