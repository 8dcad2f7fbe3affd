import { scratchKey, type RequestContext } from '../core/context.ts';
import { stemmedRoute } from '../core/strings.ts';

/**
 * Route patterns for rate-limit rules (`match.path`, `match.methods`), matched without regular expressions.
 *
 * Pattern syntax (per `/`-separated segment): `*` or `:name` = exactly one segment, `**` = any number of
 * segments (including none), anything else = a literal segment. Matching is case-insensitive (many
 * upstreams route case-insensitively, e.g. Express by default, so `/API/Login` must not dodge a `/api/login`
 * limit) and ignores empty segments (`//`, trailing `/`).
 *
 * Request paths are normalized first ({@link normalizePath}), so encodings that reach the same upstream
 * route cannot dodge a rule: unreserved percent-escapes are decoded and dot segments resolved as in
 * RFC 3986 §6.2.2 (`/api/%6cogin`, `/api/./login`, `/api/x/../login` → `/api/login`), `\` is treated as `/`
 * (IIS-style), and `;parameters` are stripped from each segment (Tomcat/Spring path parameters:
 * `/api/login;jsessionid=1`). Over-matching is the safe side for a rate limit.
 *
 * Cost: normalization is one pass over the path; matching simulates the pattern's NFA over the segments,
 * O(segments × pattern tokens) time and O(pattern tokens) memory, with no backtracking — linear in the
 * request path whatever its content.
 */

const HEX = '0123456789ABCDEF';

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95 || c === 126;
}

/**
 * Normalizes a raw request path (no query) into lower-case segments for matching.
 * Absolute-form targets (`http://host/p`) are reduced to their path. Never throws; O(path length).
 * @returns the segments, without empty, `.` and `..` segments (`..` above the root is dropped).
 */
export function normalizePath(rawPath: string): string[] {
  let p = rawPath;
  if (p.length > 0 && p.charCodeAt(0) !== 47 && p.charCodeAt(0) !== 92) {
    const scheme = p.indexOf('://');
    if (scheme !== -1) {
      const slash = p.indexOf('/', scheme + 3);
      p = slash === -1 ? '/' : p.slice(slash);
    }
  }
  const n = p.length;
  // Fast path (the common case): no escapes, parameters, backslashes or dot segments → split on '/'.
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c === 37 || c === 59 || c === 92 || (c === 46 && (i === 0 || p.charCodeAt(i - 1) === 47))) {
      plain = false;
      break;
    }
  }
  if (plain) {
    const parts = p.split('/');
    const out: string[] = [];
    for (let i = 0; i < parts.length; i++) if (parts[i] !== '') out.push(parts[i]!.toLowerCase());
    return out;
  }
  const segs: string[] = [];
  let cur = '';
  let inParams = false;
  const flush = (): void => {
    if (cur === '' || cur === '.') {
      /* empty or current-directory segment */
    } else if (cur === '..') {
      segs.pop();
    } else {
      segs.push(cur.toLowerCase());
    }
    cur = '';
    inParams = false;
  };
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i);
    if (c === 47 || c === 92) {
      flush();
      continue;
    }
    if (c === 37 && i + 2 < n) {
      const h = hexVal(p.charCodeAt(i + 1));
      const l = hexVal(p.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        const v = h * 16 + l;
        i += 2;
        if (inParams) continue;
        if (isUnreserved(v)) cur += String.fromCharCode(v);
        else cur += '%' + HEX[h]! + HEX[l]!;
        continue;
      }
    }
    if (c === 59) inParams = true; // ';' starts path parameters of this segment
    if (inParams) continue;
    cur += p[i]!;
  }
  flush();
  return segs;
}

const LIT = 0;
const ONE = 1;
const MANY = 2;

/** A compiled `match.path` pattern. */
export class RoutePattern {
  /** The pattern as written. */
  readonly source: string;
  /** True when the pattern is only `**` tokens (e.g. `/**`): it matches every path, so no segments are needed. */
  readonly matchesEveryPath: boolean;
  private readonly kinds: Uint8Array;
  private readonly lits: string[];
  /** Scratch state sets, reused between calls (matching is synchronous). */
  private cur: Uint8Array;
  private next: Uint8Array;

  /** @param pattern - e.g. `/api/users/:id`, `/**\/login`; a missing leading `/` is implied. */
  constructor(pattern: string) {
    this.source = pattern;
    const toks = normalizePatternTokens(pattern);
    this.kinds = new Uint8Array(toks.length);
    this.lits = new Array<string>(toks.length);
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]!;
      if (t === '**') this.kinds[i] = MANY;
      else if (t === '*' || t.startsWith(':')) this.kinds[i] = ONE;
      else {
        this.kinds[i] = LIT;
        this.lits[i] = t;
      }
    }
    this.cur = new Uint8Array(toks.length + 1);
    this.next = new Uint8Array(toks.length + 1);
    this.matchesEveryPath = toks.length > 0 && toks.every((t) => t === '**');
  }

  /** Adds state `i` and its ε-closure (`**` may match zero segments). */
  private static close(set: Uint8Array, kinds: Uint8Array, i: number): void {
    while (i <= kinds.length && set[i] === 0) {
      set[i] = 1;
      if (i < kinds.length && kinds[i] === MANY) i++;
      else break;
    }
  }

  /** True when the normalized segments match the pattern. O(segments × tokens). */
  matches(segs: readonly string[]): boolean {
    const kinds = this.kinds;
    const m = kinds.length;
    let cur = this.cur;
    let next = this.next;
    cur.fill(0);
    RoutePattern.close(cur, kinds, 0);
    for (let s = 0; s < segs.length; s++) {
      const seg = segs[s]!;
      next.fill(0);
      let any = false;
      for (let i = 0; i < m; i++) {
        if (cur[i] === 0) continue;
        const k = kinds[i]!;
        if (k === MANY) {
          RoutePattern.close(next, kinds, i);
          any = true;
        } else if (k === ONE || this.lits[i] === seg) {
          RoutePattern.close(next, kinds, i + 1);
          any = true;
        }
      }
      const t = cur;
      cur = next;
      next = t;
      if (!any) return false;
    }
    return cur[m] === 1;
  }
}

/** Splits a pattern into lower-case tokens, dropping empty segments. */
function normalizePatternTokens(pattern: string): string[] {
  const out: string[] = [];
  for (const part of pattern.split('/')) {
    if (part === '' || part === '.') continue;
    out.push(part.startsWith(':') ? part : part.toLowerCase());
  }
  return out;
}

/**
 * A rule's request matcher: any of its path patterns and, when given, one of its methods.
 */
export class RouteMatcher {
  private readonly patterns: readonly RoutePattern[];
  private readonly methods?: ReadonlySet<string>;
  /** True when some path pattern matches every path ({@link RoutePattern.matchesEveryPath}). */
  readonly matchesEveryPath: boolean;

  /**
   * @param paths - one pattern or a list (any may match).
   * @param methods - upper-case methods; undefined = every method. `GET` brings `HEAD` along: servers answer
   *   HEAD with the GET handler (RFC 9110 §9.3.2), so a GET limit must not be dodged with HEAD.
   */
  constructor(paths: string | readonly string[], methods?: readonly string[]) {
    this.patterns = (typeof paths === 'string' ? [paths] : paths).map((p) => new RoutePattern(p));
    this.methods = methods && methods.length > 0 ? new Set(methods.includes('GET') ? [...methods, 'HEAD'] : methods) : undefined;
    this.matchesEveryPath = this.patterns.some((p) => p.matchesEveryPath);
  }

  /** True when `method` and the normalized path segments match. */
  matches(method: string, segs: readonly string[]): boolean {
    return this.matchesMethod(method) && this.matchesPath(routePath(segs));
  }

  /** True when the rule applies to `method` (every method when none were given). */
  matchesMethod(method: string): boolean {
    return this.methods === undefined || this.methods.has(method);
  }

  /**
   * True when some path pattern matches the normalized path segments, or the same with a format suffix cut
   * from the last segment (`/api/login.json` is routed to `/api/login` by Rails, Django REST Framework …).
   */
  matchesPath(path: RoutePath): boolean {
    if (this.matchesEveryPath) return true;
    for (const p of this.patterns) if (p.matches(path.segs)) return true;
    if (path.stem === undefined) return false;
    for (const p of this.patterns) if (p.matches(path.stem)) return true;
    return false;
  }
}

/**
 * A request path prepared for {@link RouteMatcher.matchesPath}, once per request for all rules: its normalized
 * segments ({@link normalizePath}) and, when the last has a format suffix, the same with it cut (`stemmedRoute`).
 */
export interface RoutePath {
  readonly segs: readonly string[];
  readonly stem: readonly string[] | undefined;
}

/** {@link RoutePath} of normalized segments. */
export function routePath(segs: readonly string[]): RoutePath {
  return { segs, stem: stemmedRoute(segs) };
}

/** The request's {@link RoutePath}, computed once per request. */
const SCRATCH_ROUTE_PATH = scratchKey<RoutePath>('ratelimit.segments');

/**
 * The request's normalized path ({@link normalizePath} of `ctx.path`, with its suffix-cut form), computed once
 * per request and cached in `ctx.scratch`: every rate-limit rule and the identity-acceptance rule
 * (`identity.authenticatedRoutes`) match the same {@link RoutePath}.
 */
export function routePathOf(ctx: RequestContext): RoutePath {
  let path = ctx.scratch.get(SCRATCH_ROUTE_PATH);
  if (path === undefined) {
    path = routePath(normalizePath(ctx.path));
    ctx.scratch.set(SCRATCH_ROUTE_PATH, path);
  }
  return path;
}
