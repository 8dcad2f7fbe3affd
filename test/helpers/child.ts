import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

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
