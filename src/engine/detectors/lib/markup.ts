import { isSpace, isWordChar } from './text.ts';

/**
 * Linear scanners for markup declarations shared by the XXE and SSI rules. All comparisons are
 * ASCII-case-insensitive on an input the caller has lower-cased.
 */

/** A DTD or entity declaration found by {@link scanDeclarations}. */
export interface MarkupFinding {
  /** What was found: `external-entity`, `parameter-entity`, `entity`, `external-dtd`, `public-dtd`, `xinclude`. */
  kind: 'external-entity' | 'parameter-entity' | 'entity' | 'external-dtd' | 'public-dtd' | 'xinclude';
  /** Short excerpt. */
  text: string;
  /** Root element name of a `<!DOCTYPE`, when relevant. */
  root?: string;
}

/** Reads a name (letters, digits, `_ - . :`) at `i`; returns its end index. */
function nameEnd(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (isWordChar(c) || c === 0x2d || c === 0x2e || c === 0x3a) i++;
    else break;
  }
  return i;
}

/** Skips whitespace from `i`. */
function skipWs(s: string, i: number): number {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Scans lower-cased `s` for `<!entity` and `<!doctype` declarations and XInclude, and classifies each
 * (W3C XML 1.0 §4.2 entity declarations, §2.8 document type declaration; XInclude 1.0). Returns every finding
 * (at most 8). Linear: each declaration is read with a bounded look-ahead.
 */
export function scanDeclarations(s: string): MarkupFinding[] {
  const out: MarkupFinding[] = [];
  for (let i = s.indexOf('<!'); i !== -1 && out.length < 8; i = s.indexOf('<!', i + 2)) {
    if (s.startsWith('entity', i + 2)) {
      let k = skipWs(s, i + 8);
      let param = false;
      if (s.charCodeAt(k) === 0x25) {
        param = true;
        k = skipWs(s, k + 1);
      }
      k = skipWs(s, nameEnd(s, k));
      const ext = s.startsWith('system', k) || s.startsWith('public', k);
      const text = s.slice(i, Math.min(s.length, i + 80));
      out.push({ kind: ext ? 'external-entity' : param ? 'parameter-entity' : 'entity', text });
    } else if (s.startsWith('doctype', i + 2)) {
      let k = skipWs(s, i + 9);
      const ne = nameEnd(s, k);
      const root = s.slice(k, ne);
      k = skipWs(s, ne);
      const text = s.slice(i, Math.min(s.length, i + 80));
      if (s.startsWith('system', k)) out.push({ kind: 'external-dtd', text, root });
      else if (s.startsWith('public', k)) out.push({ kind: 'public-dtd', text, root });
    }
  }
  const xi = s.indexOf('xinclude');
  if (xi !== -1 && (s.indexOf('<xi:include') !== -1 || s.indexOf('www.w3.org/2001/xinclude') !== -1) && out.length < 8) {
    out.push({ kind: 'xinclude', text: s.slice(Math.max(0, xi - 20), xi + 40) });
  } else if (s.indexOf('<xi:include') !== -1 && out.length < 8) {
    out.push({ kind: 'xinclude', text: '<xi:include' });
  }
  return out;
}
