import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { tempDir } from './bulwark.ts';

/**
 * Runs ES module source `body` in a fresh Node.js child (`node [flags] --input-type=module -e body`), for checks
 * that must not share this test process's loaded modules (which dependencies get loaded, V8 object modes).
 * @returns what the child wrote on stdout.
 * @throws AssertionError (with the child's stderr) when it exits with a non-zero code.
 */
export async function runModule(body: string, flags: readonly string[] = []): Promise<string> {
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', body], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, err);
  return out;
}

/**
 * Starts the app (`startBulwark` with `options`, a temporary data directory and ephemeral ports) in a fresh child,
 * sends one `GET /api/products` through it, closes it, and returns the URLs of the modules resolved on the way
 * that match `pattern`: the check that an optional dependency (ioredis, pg) is loaded only when configured. A
 * child, because the calling test file may import that dependency itself.
 */
export async function modulesLoadedByApp(pattern: RegExp, options: Record<string, unknown>): Promise<string[]> {
  const dataDir = await tempDir();
  const app = pathToFileURL(new URL('../../src/app.ts', import.meta.url).pathname).href;
  const script = `
    import { registerHooks } from 'node:module';
    import { rmSync } from 'node:fs';
    const pattern = new RegExp(${JSON.stringify(pattern.source)}, ${JSON.stringify(pattern.flags)});
    const seen = [];
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (pattern.test(r.url)) seen.push(r.url); return r; } });
    const { startBulwark } = await import(${JSON.stringify(app)});
    const bw = await startBulwark({ dataDir: ${JSON.stringify(dataDir)}, host: '127.0.0.1', gatewayPort: 0, adminPort: 0, demoPort: 0, logLevel: 'silent', watch: false,
      ...${JSON.stringify(options)} });
    await fetch(bw.gatewayUrl + '/api/products').then((r) => r.arrayBuffer());
    await bw.close();
    rmSync(${JSON.stringify(dataDir)}, { recursive: true, force: true });
    process.stdout.write(JSON.stringify(seen));
  `;
  return JSON.parse(await runModule(script)) as string[];
}
