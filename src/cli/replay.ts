import type { Command } from 'commander';
import { connect } from 'node:net';
import { readCorpus, type CorpusRecord } from '../engine/eval/corpus.ts';
import { emptyConfusion, percentile, rates, record, type Confusion } from '../engine/eval/metrics.ts';
import { formatTable, type EvalReport } from '../engine/eval/run.ts';

/**
 * `bulwark replay --corpus FILE --target URL [--concurrency N]`: sends a labeled corpus to a live gateway over
 * raw TCP (one connection per request, `Connection: close`), so the request-target goes on the wire exactly
 * as recorded (no client-side normalisation), and prints the same table as `bulwark eval` from the status
 * codes: 403 or any other 4xx except 404/405 counts as detected (blocked); 2xx/3xx/404/405/5xx as passed.
 * Only loopback targets are accepted unless `--allow-remote` is given (load tooling must not hit others).
 */

/** Loopback host names and addresses accepted without `--allow-remote`. */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Sends one raw request and resolves with the response status (0 on a connection error or timeout). */
export function sendRaw(host: string, port: number, r: CorpusRecord, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    let buf = '';
    let done = false;
    const finish = (status: number) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve(status);
    };
    sock.setTimeout(timeoutMs, () => finish(0));
    sock.on('error', () => finish(0));
    sock.on('connect', () => {
      const lines = [`${r.method} ${r.target} HTTP/1.1`];
      let hasHost = false;
      for (const [k, v] of r.headers) {
        const lk = k.toLowerCase();
        if (lk === 'connection') continue;
        if (lk === 'host') hasHost = true;
        lines.push(`${k}: ${v}`);
      }
      if (!hasHost) lines.push(`Host: ${host}`);
      lines.push('Connection: close', '', '');
      sock.write(lines.join('\r\n'), 'latin1');
      if (r.body) sock.write(Buffer.from(r.body, 'utf8'));
    });
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol !== -1) {
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(buf.slice(0, eol));
        finish(m ? Number(m[1]) : 0);
      } else if (buf.length > 8192) finish(0);
    });
    sock.on('end', () => finish(0));
  });
}

/** Blocked by the gateway: 403, 429, or another 4xx except 404/405 (which the upstream may answer). */
export function isBlockedStatus(s: number): boolean {
  return s === 403 || s === 429 || (s >= 400 && s < 500 && s !== 404 && s !== 405);
}

/**
 * Registers `bulwark replay` (see the module comment). Exit code 0; 2 on bad input (unreadable corpus,
 * non-loopback target without `--allow-remote`, non-http URL).
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description('send a labeled corpus to a live gateway (raw request-targets) and score the status codes')
    .requiredOption('--corpus <file>', 'labeled corpus, JSONL or JSONL.gz')
    .requiredOption('--target <url>', 'gateway base URL, e.g. http://127.0.0.1:8080')
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--limit <n>', 'stop after N records', '0')
    .option('--json', 'print one JSON object {overall, categories, timing_us}')
    .option('--allow-remote', 'allow a non-loopback target')
    .action(async (opts: { corpus: string; target: string; concurrency: string; limit: string; json?: boolean; allowRemote?: boolean }) => {
      try {
        const url = new URL(opts.target);
        if (url.protocol !== 'http:') throw new Error('--target: only http:// is supported');
        if (!opts.allowRemote && !LOOPBACK.has(url.hostname)) throw new Error('--target: not a loopback address (use --allow-remote)');
        const port = Number(url.port || 80);
        const conc = Math.max(1, Math.min(256, Number(opts.concurrency) || 8));
        const overall = emptyConfusion();
        const cats = new Map<string, Confusion>();
        const times: number[] = [];
        let n = 0;
        const it = readCorpus(opts.corpus, Number(opts.limit) || 0)[Symbol.asyncIterator]();
        let exhausted = false;
        const next = async (): Promise<CorpusRecord | undefined> => {
          if (exhausted) return undefined;
          const x = await it.next();
          if (x.done) exhausted = true;
          return x.done ? undefined : x.value;
        };
        let queue = Promise.resolve();
        const take = () => {
          const p = queue.then(next);
          queue = p.then(() => undefined);
          return p;
        };
        const worker = async () => {
          for (let r = await take(); r; r = await take()) {
            const t0 = performance.now();
            const status = await sendRaw(url.hostname, port, r);
            times.push((performance.now() - t0) * 1000);
            const attack = r.label === 'attack';
            const cat = r.category ?? (attack ? 'uncategorized' : 'benign');
            record(overall, attack, isBlockedStatus(status));
            let c = cats.get(cat);
            if (!c) cats.set(cat, (c = emptyConfusion()));
            record(c, attack, isBlockedStatus(status));
            n++;
          }
        };
        await Promise.all(Array.from({ length: conc }, worker));
        const categories = Object.fromEntries([...cats.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, rates(v)]));
        const rep: EvalReport = {
          overall: rates(overall),
          categories,
          timing_us: { p50: Math.round(percentile(times, 50)), p99: Math.round(percentile(times, 99)) },
          flagged: { overall: rates(overall), categories },
          records: n,
        };
        if (opts.json) process.stdout.write(JSON.stringify({ overall: rep.overall, categories: rep.categories, timing_us: rep.timing_us }) + '\n');
        else process.stdout.write(formatTable(rep, `bulwark replay ${opts.corpus} → ${opts.target} (round-trip time, not inspection time)`) + '\n');
      } catch (err) {
        process.stderr.write(`bulwark replay: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
