/**
 * `npm run bench [section ...]`: runs every `bench/sections/*.ts` (sorted by file name) or only the named
 * ones (substring match). Each section exports `run(): Promise<void>` and prints its own figures. Sections
 * start their servers in child processes (bench/lib.ts) so the load generator does not share their event loop.
 *
 * Servers run from the compiled `dist/` when present (`npm run bench` builds first), else from sources.
 * Knobs (environment): BENCH_SOURCE=1 (run servers from sources), BENCH_DURATION (s per run, default 5), BENCH_CONNECTIONS (50), BENCH_ROUNDS (3),
 * BENCH_FLOOD_IPS (1,000,000), BENCH_FLOOD_MAX_S (180).
 */
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { SERVER_ENTRY } from './lib.ts';

const dir = new URL('./sections/', import.meta.url);
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

console.log(`# Bulwark bench — node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), loopback only; servers from ${SERVER_ENTRY.includes('/dist/') ? 'dist/ (compiled)' : 'TypeScript sources'}`);
let failed = 0;
for (const f of files) {
  const mod = (await import(new URL(f, dir).href)) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') {
    console.log(`(skipping ${f}: no run() export)`);
    continue;
  }
  try {
    await mod.run();
  } catch (err) {
    failed++;
    console.error(`section ${f} failed:`, err);
  }
}
process.exit(failed ? 1 : 0);
