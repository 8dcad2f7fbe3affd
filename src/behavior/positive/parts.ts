import type { RequestContext } from '../../core/context.ts';
import type { Location } from '../../core/types.ts';
import type { Part } from '../../engine/types.ts';
import { decodeComponent, segmentPlaceholder } from '../discovery/classify.ts';

/**
 * Parameter extraction for the positive security model, producing the payload engine's {@link Part} shape
 * (location + decoded value). Query and `x-www-form-urlencoded` pairs are percent-decoded; JSON bodies are
 * flattened to key paths (`user.address.city`, arrays as `items[]`; object keys that are identifiers become
 * `{id}` so id-keyed maps do not grow the profile); multipart fields by name. Bounded: at most `MAX_PARTS`
 * parts, JSON depth `MAX_DEPTH`, names 128 chars. Never throws.
 *
 * Note: written against the `Part` contract of `src/engine/types.ts`; when the engine's own target
 * extraction is used instead, only this module changes.
 */

/** Most parts extracted from one request (the rest are ignored). */
export const MAX_PARTS = 256;
/** Deepest JSON nesting followed. */
export const MAX_DEPTH = 12;

/** A JSON leaf also carries its JSON type, so `1` (number) and `"1"` (string) can be told apart. */
export interface ModelPart extends Part {
  /** For JSON leaves: `string`, `number`, `boolean`, `null`, or `object`/`array` for empty containers. */
  jsonType?: string;
}

function pairs(raw: string, kind: Location['kind'], out: ModelPart[]): void {
  let start = 0;
  const n = raw.length;
  for (let i = 0; i <= n && out.length < MAX_PARTS; i++) {
    if (i === n || raw.charCodeAt(i) === 38) {
      if (i > start) {
        const eq = raw.indexOf('=', start);
        const hasEq = eq !== -1 && eq < i;
        const name = decodeComponent(raw.slice(start, hasEq ? eq : i)).slice(0, 128);
        const value = hasEq ? decodeComponent(raw.slice(eq + 1, i)) : '';
        if (name !== '') out.push({ loc: { kind, name }, value });
      }
      start = i + 1;
    }
  }
}

/** Query-string parameters of a request. */
export function queryParts(ctx: RequestContext): ModelPart[] {
  const out: ModelPart[] = [];
  if (ctx.rawQuery !== '') pairs(ctx.rawQuery, 'query', out);
  return out;
}

function walkJson(v: unknown, path: string, depth: number, out: ModelPart[]): void {
  if (out.length >= MAX_PARTS) return;
  if (v === null || typeof v !== 'object') {
    const jsonType = v === null ? 'null' : typeof v;
    out.push({ loc: { kind: 'json', name: path || '$' }, value: v === null ? '' : String(v), jsonType });
    return;
  }
  if (depth >= MAX_DEPTH) {
    out.push({ loc: { kind: 'json', name: (path || '$') + '…' }, value: '', jsonType: 'deep' });
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) out.push({ loc: { kind: 'json', name: path + '[]' }, value: '', jsonType: 'array' });
    // every element shares the `[]` path; look at a bounded number of elements
    const lim = Math.min(v.length, 32);
    for (let i = 0; i < lim; i++) walkJson(v[i], path + '[]', depth + 1, out);
    return;
  }
  let any = false;
  for (const k in v as Record<string, unknown>) {
    any = true;
    const key = k.length > 64 ? '{blob}' : (segmentPlaceholder(k) ?? k);
    walkJson((v as Record<string, unknown>)[k], path ? path + '.' + key : key, depth + 1, out);
    if (out.length >= MAX_PARTS) return;
  }
  if (!any) out.push({ loc: { kind: 'json', name: path || '$' }, value: '', jsonType: 'object' });
}

function multipart(body: string, boundary: string, out: ModelPart[]): void {
  const delim = '--' + boundary;
  let pos = body.indexOf(delim);
  while (pos !== -1 && out.length < MAX_PARTS) {
    const start = pos + delim.length;
    const next = body.indexOf(delim, start);
    const chunk = body.slice(start, next === -1 ? body.length : next);
    pos = next;
    const hdrEnd = chunk.indexOf('\r\n\r\n');
    if (hdrEnd === -1) continue;
    const head = chunk.slice(0, hdrEnd);
    const ni = head.toLowerCase().indexOf(' name="');
    if (ni === -1) continue;
    const ne = head.indexOf('"', ni + 7);
    if (ne === -1) continue;
    const name = head.slice(ni + 7, ne).slice(0, 128);
    let value = chunk.slice(hdrEnd + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    const isFile = head.toLowerCase().indexOf('filename=') !== -1;
    out.push({ loc: { kind: isFile ? 'filename' : 'multipart', name }, value: isFile ? '' : value.slice(0, 4096) });
  }
}

/** Body kind by Content-Type: `form`, `json`, `multipart`, `other`, or `none` without a body. */
export function bodyKind(ctx: RequestContext): 'none' | 'form' | 'json' | 'multipart' | 'other' {
  if (!ctx.body || ctx.body.bytes.length === 0) return 'none';
  const ct = ctx.header('content-type').toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (ct.startsWith('multipart/form-data')) return 'multipart';
  if (ct.indexOf('json') !== -1) return 'json';
  return 'other';
}

/**
 * Body parameters (form fields, JSON key paths, multipart fields). A truncated JSON body cannot be parsed and
 * yields no parts; a body that does not parse as its declared type yields one `body` part describing that.
 */
export function bodyParts(ctx: RequestContext): ModelPart[] {
  const out: ModelPart[] = [];
  const kind = bodyKind(ctx);
  if (kind === 'none' || kind === 'other' || !ctx.body) return out;
  const text = ctx.body.bytes.toString('latin1');
  if (kind === 'form') {
    pairs(text, 'form', out);
  } else if (kind === 'json') {
    if (ctx.body.truncated) return out;
    let v: unknown;
    try {
      v = JSON.parse(ctx.body.bytes.toString('utf8'));
    } catch {
      out.push({ loc: { kind: 'body', name: 'json' }, value: 'unparseable', jsonType: 'invalid' });
      return out;
    }
    walkJson(v, '', 0, out);
  } else {
    const ct = ctx.header('content-type');
    const bi = ct.toLowerCase().indexOf('boundary=');
    if (bi === -1) return out;
    let b = ct.slice(bi + 9);
    const semi = b.indexOf(';');
    if (semi !== -1) b = b.slice(0, semi);
    b = b.trim();
    if (b.startsWith('"') && b.endsWith('"') && b.length > 1) b = b.slice(1, -1);
    if (b.length === 0 || b.length > 200) return out;
    multipart(text, b, out);
  }
  return out;
}
