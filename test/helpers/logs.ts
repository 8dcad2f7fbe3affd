import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/**
 * A pino logger at `level` whose output is kept in memory: `lines` holds each JSON log line as written
 * (for asserting what was logged, and that a secret never was).
 */
export function captureLogs(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
