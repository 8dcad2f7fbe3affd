import { BlockList, isIP } from 'node:net';
import type { Location } from '../core/types.ts';
import type { RequestContext } from '../core/context.ts';
import type { Exclusion } from './schema.ts';

/**
 * Compiled exclusions (false-positive tuning). Request conditions (route, method, client) are evaluated once
 * per request; the target condition (parameter/header/cookie names) per matched rule.
 */

/**
 * Compiles a route pattern into a segment matcher: `*` and `:name` match exactly one segment, `**` any number
 * (including none); other segments match literally. Matching is a linear dynamic programme over segments
 * (no regular expressions), O(pattern segments × path segments).
 */
export function compileRoute(pattern: string): (path: string) => boolean {
  const pat = pattern.split('/').filter((s) => s.length > 0);
  return (path: string) => {
    const q = path.indexOf('?');
    const segs = (q === -1 ? path : path.slice(0, q)).split('/').filter((s) => s.length > 0);
    // reachable[j]: pattern prefix consumed so far matches path prefix of length j
    let reach = new Uint8Array(segs.length + 1);
    reach[0] = 1;
    for (const p of pat) {
      const next = new Uint8Array(segs.length + 1);
      if (p === '**') {
        let any = 0;
        for (let j = 0; j <= segs.length; j++) {
          if (reach[j]) any = 1;
          next[j] = any;
        }
      } else {
        for (let j = 0; j < segs.length; j++) {
          if (reach[j] && (p === '*' || p.charCodeAt(0) === 0x3a || p === segs[j])) next[j + 1] = 1;
        }
      }
      reach = next;
    }
    return reach[segs.length] === 1;
  };
}

/** One exclusion ready for matching. */
export interface CompiledExclusion {
  readonly id: string;
  readonly action: 'disable' | 'monitor';
  /** Covers this rule (numeric id) and category? */
  covers(ruleId: string, category: string): boolean;
  /** Request-level conditions (route, method, client). */
  appliesTo(ctx: RequestContext): boolean;
  /** Target condition: true when the exclusion has no target list or the location is one of its targets. */
  coversLocation(loc: Location | undefined): boolean;
}

/** Strips a `category.` prefix from a rule reference. */
export function numericRuleId(ref: string): string {
  const dot = ref.lastIndexOf('.');
  return dot === -1 ? ref : ref.slice(dot + 1);
}

/** First component of a parameter name: `a[b]` → `a`, `user.name` → `user`, `items[0].x` → `items`. */
export function baseName(name: string): string {
  let end = name.length;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5b || c === 0x2e) {
      end = i;
      break;
    }
  }
  return name.slice(0, end);
}

const PARAM_KINDS: ReadonlySet<Location['kind']> = new Set([
  'query', 'query_name', 'form', 'form_name', 'json', 'json_key', 'multipart', 'multipart_name', 'filename', 'xml',
]);

/** Compiles one validated exclusion. */
export function compileExclusion(e: Exclusion): CompiledExclusion {
  const rules = new Set(e.rules.map(numericRuleId));
  const cats = new Set<string>(e.categories);
  const all = rules.size === 0 && cats.size === 0;
  const routes = e.paths?.map(compileRoute);
  const methods = e.methods ? new Set(e.methods) : undefined;
  let clients: BlockList | undefined;
  if (e.clients) {
    clients = new BlockList();
    for (const c of e.clients) {
      const slash = c.indexOf('/');
      const ip = slash === -1 ? c : c.slice(0, slash);
      const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (slash === -1) clients.addAddress(ip, type);
      else clients.addSubnet(ip, Number(c.slice(slash + 1)), type);
    }
  }
  const params = e.parameters ? new Set(e.parameters) : undefined;
  const headers = e.headers ? new Set(e.headers) : undefined;
  const cookies = e.cookies ? new Set(e.cookies) : undefined;
  const targeted = params !== undefined || headers !== undefined || cookies !== undefined;
  return {
    id: e.id,
    action: e.action,
    covers: (ruleId, category) => all || rules.has(ruleId) || cats.has(category),
    appliesTo(ctx) {
      if (methods && !methods.has(ctx.method)) return false;
      if (routes && !routes.some((r) => r(ctx.path))) return false;
      if (clients) {
        const v = isIP(ctx.clientIp);
        if (v === 0 || !clients.check(ctx.clientIp, v === 6 ? 'ipv6' : 'ipv4')) return false;
      }
      return true;
    },
    coversLocation(loc) {
      if (!targeted) return true;
      if (loc === undefined || loc.name === undefined) return false;
      if (loc.kind === 'header') return headers?.has(loc.name) ?? false;
      if (loc.kind === 'cookie' || loc.kind === 'cookie_name') return cookies?.has(loc.name) ?? false;
      if (PARAM_KINDS.has(loc.kind) && params) return params.has(loc.name) || params.has(baseName(loc.name));
      return false;
    },
  };
}
