import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createInterface } from 'node:readline';
import type { IncomingHttpHeaders } from 'node:http';
import { RequestContext } from '../../core/context.ts';

/**
 * Labeled HTTP corpus records (`../shared/corpora/README.md` format): one JSON object per line with the raw
 * request-target, ordered headers and body.
 */
export interface CorpusRecord {
  id: string;
  source?: string;
  label: 'attack' | 'benign';
  /** Attack category (`sqli`, `xss`, …); null for benign records. */
  category: string | null;
  method: string;
  /** Raw request-target as sent on the wire (percent-encoding kept). */
  target: string;
  /** Header name/value pairs in wire order. */
  headers: [string, string][];
  body?: string;
  note?: string;
}

/** Error for an unreadable corpus file or a malformed line (`code` is stable). */
export class CorpusError extends Error {
  readonly code: 'BWK_CORPUS_READ' | 'BWK_CORPUS_LINE';
  constructor(code: 'BWK_CORPUS_READ' | 'BWK_CORPUS_LINE', message: string) {
    super(`${code}: ${message}`);
    this.name = 'CorpusError';
    this.code = code;
  }
}

function validate(o: unknown, line: number): CorpusRecord {
  const r = o as Partial<CorpusRecord>;
  if (
    typeof r !== 'object' || r === null || (r.label !== 'attack' && r.label !== 'benign') || typeof r.method !== 'string' ||
    typeof r.target !== 'string' || !Array.isArray(r.headers)
  ) {
    throw new CorpusError('BWK_CORPUS_LINE', `line ${line}: expected {label, method, target, headers[]}`);
  }
  return {
    id: typeof r.id === 'string' ? r.id : `line-${line}`,
    source: r.source,
    label: r.label,
    category: typeof r.category === 'string' ? r.category : null,
    method: r.method,
    target: r.target,
    headers: r.headers,
    body: typeof r.body === 'string' ? r.body : '',
    note: r.note,
  };
}

/**
 * Streams the records of a `.jsonl` or `.jsonl.gz` file (gzip detected by the `.gz` suffix).
 * @param limit - stop after this many records (0 = all).
 * @throws {CorpusError} `BWK_CORPUS_READ` when the file cannot be read, `BWK_CORPUS_LINE` for a bad line.
 */
export async function* readCorpus(file: string, limit = 0): AsyncGenerator<CorpusRecord> {
  const raw = createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const failed = new Promise<never>((_, reject) => {
    const onErr = (e: Error) => reject(new CorpusError('BWK_CORPUS_READ', `${file}: ${e.message}`));
    raw.on('error', onErr);
    input.on('error', onErr);
  });
  failed.catch(() => undefined);
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  let line = 0;
  const it = rl[Symbol.asyncIterator]();
  try {
    while (true) {
      const next = await Promise.race([it.next(), failed]);
      if (next.done) break;
      line++;
      const text = next.value.trim();
      if (!text) continue;
      let o: unknown;
      try {
        o = JSON.parse(text);
      } catch {
        throw new CorpusError('BWK_CORPUS_LINE', `line ${line}: not JSON`);
      }
      yield validate(o, line);
      if (limit > 0 && ++n >= limit) break;
    }
  } finally {
    rl.close();
    raw.destroy();
  }
}

/**
 * Node-style parsed headers from an ordered list, as `http.IncomingMessage` builds them: names lower-cased,
 * `set-cookie` kept as an array, `cookie` joined with `; `, other duplicates joined with `, `.
 */
export function toIncomingHeaders(list: readonly [string, string][]): IncomingHttpHeaders {
  const h: Record<string, string | string[]> = {};
  for (const [k, v] of list) {
    const name = k.toLowerCase();
    const prev = h[name];
    if (prev === undefined) h[name] = name === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else h[name] = prev + (name === 'cookie' ? '; ' : ', ') + v;
  }
  return h as IncomingHttpHeaders;
}

/**
 * Builds the {@link RequestContext} the gateway would build for a record's request head (client 192.0.2.1,
 * TEST-NET-1, RFC 5737). The body prefix is built separately by {@link bodyOf} and set before the body phase,
 * as the data plane does.
 * @param _inspectLimitBytes - accepted for call-site symmetry with {@link bodyOf}; the head does not use it.
 * @param seq - record number, used as the request id when the record has none.
 */
export function contextFromRecord(r: CorpusRecord, _inspectLimitBytes: number, seq = 0): RequestContext {
  const ctx = new RequestContext({
    id: r.id || `eval-${seq}`,
    clientIp: '192.0.2.1',
    clientKey: '192.0.2.1',
    peerIp: '192.0.2.1',
    method: r.method.toUpperCase(),
    target: r.target,
    headers: toIncomingHeaders(r.headers),
    rawHeaders: r.headers.flat(),
    httpVersion: '1.1',
  });
  return ctx;
}

/** The body prefix for a record: UTF-8 bytes of `body`, cut at `inspectLimitBytes`. */
export function bodyOf(r: CorpusRecord, inspectLimitBytes: number): RequestContext['body'] {
  if (!r.body) return undefined;
  const all = Buffer.from(r.body, 'utf8');
  const declared = Number(r.headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1]);
  return {
    bytes: all.length > inspectLimitBytes ? all.subarray(0, inspectLimitBytes) : all,
    truncated: all.length > inspectLimitBytes,
    declaredLength: Number.isFinite(declared) ? declared : undefined,
  };
}
