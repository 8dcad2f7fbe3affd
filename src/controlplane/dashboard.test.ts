import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { DASHBOARD_CSP, dashboardPlugin } from './dashboard.ts';

async function serve(dir: string | undefined): Promise<{ app: FastifyInstance; base: string }> {
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Stands in for the control plane's API scope: its own 401 for unknown routes must not become index.html.
  app.register(
    async (api) => {
      api.setNotFoundHandler((_req, reply) => reply.code(401).send({ code: 'BWK_UNAUTHENTICATED' }));
    },
    { prefix: '/api/v1' },
  );
  await dashboardPlugin(app, dir === undefined ? { dir: join(tmpdir(), 'bulwark-no-such-dashboard') } : { dir });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base };
}

test('dashboard: index.html on page paths with the strict CSP, hashed assets cached, API paths untouched', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-web-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/assets/index-abc.js"></script>');
  await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
  const { app, base } = await serve(dir);
  t.after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const path of ['/', '/overview', '/incidents/0193-abc', '/events', '/policy', '/admin', '/login']) {
    const r = await fetch(base + path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type')!, /^text\/html/);
    assert.equal(r.headers.get('content-security-policy'), DASHBOARD_CSP);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(await r.text(), /index-abc\.js/);
  }
  const js = await fetch(`${base}/assets/index-abc.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type')!, /javascript/);
  assert.match(js.headers.get('cache-control')!, /max-age=31536000.*immutable/);
  assert.equal(js.headers.get('content-security-policy'), DASHBOARD_CSP);
  // Path traversal out of the assets directory (encoded, so fetch does not normalise it away).
  const trav = await fetch(`${base}/assets/..%2findex.html`);
  assert.notEqual(trav.status, 200);
  assert.doesNotMatch(await trav.text(), /<!doctype/i);
  assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404);
  assert.equal((await fetch(`${base}/api/v1/anything`)).status, 401);
  assert.equal((await fetch(`${base}/not-a-page`)).status, 404);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('dashboard: not built → 503 with a hint on page paths, the rest keeps working', async (t) => {
  const { app, base } = await serve(undefined);
  t.after(() => app.close());
  const r = await fetch(`${base}/overview`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /npm run build/);
  assert.equal(r.headers.get('content-security-policy'), DASHBOARD_CSP);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});
