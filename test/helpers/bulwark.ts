import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBulwark, type BulwarkApp, type StartOptions } from '../../src/app.ts';

/** A Bulwark instance for a test, with its temporary data directory. */
export interface TestBulwark extends BulwarkApp {
  /** The temporary data directory (`<tmp>/bulwark-test-*`). */
  dataDir: string;
  /** Closes the app and removes the data directory (unless `keepDataDir`). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts Bulwark for a test: listeners on 127.0.0.1 with ephemeral ports, logs silent, a fresh temporary
 * `dataDir` (or the given one, e.g. to test persistence across a restart), no file watching unless asked.
 * Pass `upstream` (e.g. from `startUpstream()`) or leave it out to get the bundled demo API on an ephemeral port.
 *
 * Example:
 * ```ts
 * const up = await startUpstream();
 * const bw = await startTestBulwark({ upstream: up.url, policy: { rateLimits: [] } });
 * t.after(() => Promise.all([bw.stop(), up.close()]));
 * ```
 */
export async function startTestBulwark(opts: Partial<StartOptions> & { keepDataDir?: boolean } = {}): Promise<TestBulwark> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'bulwark-test-')));
  const { keepDataDir, ...rest } = opts;
  const app = await startBulwark({
    host: '127.0.0.1',
    gatewayPort: 0,
    adminPort: 0,
    demoPort: 0,
    logLevel: process.env.BULWARK_TEST_LOG ?? 'silent',
    watch: false,
    ...rest,
    dataDir,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await app.close();
      if (!keepDataDir && opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    })());
  return Object.assign(app, { dataDir, stop });
}

/** A fresh temporary directory (for restart tests that reuse one dataDir); remove it with `rm`. */
export function tempDir(prefix = 'bulwark-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
