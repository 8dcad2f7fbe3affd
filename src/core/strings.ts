/**
 * `s.slice(from, to)` as a string of its own. V8 makes a slice of 13 or more characters a view that keeps the
 * whole parent alive: a piece of a request (a path segment, the path of a long request-target) kept as a
 * per-client map key would retain the request-target, up to 16 KiB, for as many keys as the map holds.
 * Slices under 13 characters are copies already.
 */
export function flatCopy(s: string, from = 0, to = s.length): string {
  if (to - from < 13) return s.slice(from, to);
  const codes = new Array<number>(to - from);
  for (let i = from; i < to; i++) codes[i - from] = s.charCodeAt(i);
  return String.fromCharCode.apply(null, codes);
}

/** The first `max` characters of `s` as a string of its own ({@link flatCopy}); `s` itself when not longer. */
export function boundedCopy(s: string, max: number): string {
  return s.length > max ? flatCopy(s, 0, max) : s;
}

/**
 * A path segment without `;parameters` and without a short format suffix (`.json`, `.xml`, `.html`, …: one to
 * five letters after the last dot); the segment itself otherwise.
 */
export function routeStem(seg: string): string {
  const semi = seg.indexOf(';');
  let s = semi === -1 ? seg : seg.slice(0, semi);
  const dot = s.lastIndexOf('.');
  if (dot > 0 && s.length - dot - 1 >= 1 && s.length - dot - 1 <= 5 && isLowerAlpha(s, dot + 1)) s = s.slice(0, dot);
  return s;
}

/**
 * `segs` with its last segment cut to its {@link routeStem}, when that changes it (`/api/login.json`,
 * `/api/login;jsessionid=…` → `/api/login`): the route frameworks dispatch such a path to. Undefined otherwise.
 */
export function stemmedRoute(segs: readonly string[]): string[] | undefined {
  if (segs.length === 0) return undefined;
  const last = segs[segs.length - 1]!;
  const stem = routeStem(last);
  return stem === last || stem === '' ? undefined : [...segs.slice(0, -1), stem];
}

function isLowerAlpha(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 97 || c > 122) return false;
  }
  return true;
}
