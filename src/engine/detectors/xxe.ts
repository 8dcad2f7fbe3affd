import type { Location } from '../../core/types.ts';
import type { PartRule, RequestRule } from '../types.ts';
import { scanDeclarations } from './lib/markup.ts';
import { clip, isSpace, lowerAscii } from './lib/text.ts';

/**
 * XML external entities and DTD abuse (CWE-611 XXE, CWE-776 entity expansion; OWASP XXE Prevention Cheat
 * Sheet). Declarations are found by a linear scanner ({@link scanDeclarations}) in XML bodies and in any
 * parameter (XML is often smuggled inside a JSON or form field that the application parses later).
 *
 * Rule ids (937xxx, unused by OWASP CRS; chosen for XXE):
 * - `937100` external or parameter entity declaration (`<!ENTITY x SYSTEM "file:///…">`, `<!ENTITY % p …>`),
 *   PL1, critical.
 * - `937110` any other `<!ENTITY` declaration (internal entities: expansion bombs, entity smuggling), PL1,
 *   critical — request payloads have no business declaring entities.
 * - `937120` external DTD (`<!DOCTYPE r SYSTEM "http://…">`), and XInclude, PL1, critical; `937121` a `PUBLIC`
 *   DTD whose root is not `html` (XHTML e-mail bodies legitimately carry the W3C `PUBLIC` doctype), PL2;
 *   `937122` a `PUBLIC` DTD whose system identifier is not a W3C/Apple DTD (fetched like `SYSTEM`), PL1, critical.
 * - `937130` the XML body facts from the engine's XML scanner (`BodyInfo.xmlExternalEntity`,
 *   `xmlEntities`), for bodies whose declarations sit outside any inspected part, PL1, critical (a standard
 *   W3C/Apple `PUBLIC` doctype alone does not count as external).
 * - `937140` declarations in bodies no part rule reads: XML under a binary media type (UTF-8, or UTF-16/32 as
 *   the extractor decodes it), binary multipart file parts, PL1, critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-XXE', 'CWE-611', 'attack-xxe'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header'];

const entityRule: PartRule = {
  kind: 'part',
  id: '937100',
  name: 'xxe-external-or-parameter-entity',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'external-entity' || f.kind === 'parameter-entity') return clip(f.text);
    return null;
  },
};

const internalEntity: PartRule = {
  kind: 'part',
  id: '937110',
  name: 'xxe-entity-declaration',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-776'],
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'entity') return clip(f.text);
    return null;
  },
};

const dtd: PartRule = {
  kind: 'part',
  id: '937120',
  name: 'xxe-external-dtd-or-xinclude',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<:', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1 && input.indexOf('xi:include') === -1 && input.indexOf('xinclude') === -1) return null;
    for (const f of scanDeclarations(input)) {
      if (f.kind === 'external-dtd' || f.kind === 'xinclude') return clip(f.text);
    }
    return null;
  },
};

const publicDtd: PartRule = {
  kind: 'part',
  id: '937121',
  name: 'xxe-public-dtd-non-html',
  category: 'xxe',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'public-dtd' && f.root !== 'html') return clip(f.text);
    return null;
  },
};

/** Reads a quoted literal at `i` (after spaces); returns [value, end] or null. Bounded to 512 characters. */
function quotedAt(s: string, i: number): [string, number] | null {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  const q = s.charCodeAt(i);
  if (q !== 0x22 && q !== 0x27) return null;
  const e = s.indexOf(q === 0x22 ? '"' : "'", i + 1);
  if (e === -1 || e - i > 512) return null;
  return [s.slice(i + 1, e), e + 1];
}

/**
 * True for the system identifiers of the DTDs that legitimate documents carry (W3C XHTML/SVG/MathML/SMIL,
 * Apple property lists): a parser that fetches them reaches a well-known publisher, not the attacker.
 */
export function isStandardDtd(system: string): boolean {
  return system.startsWith('http://www.w3.org/') || system.startsWith('https://www.w3.org/') || system.startsWith('http://www.apple.com/dtds/') || system.startsWith('https://www.apple.com/dtds/');
}

/**
 * Finds `<!doctype root public "pubid" "system">` in lower-cased `s` whose system identifier is not a
 * standard one ({@link isStandardDtd}): the parser fetches that URL exactly as for `SYSTEM` (out-of-band XXE
 * hides behind the `PUBLIC` keyword). Returns an excerpt or null. Linear: each doctype is read with bounded
 * look-ahead, at most 8 doctypes.
 */
export function findForeignPublicDtd(s: string): string | null {
  let seen = 0;
  for (let i = s.indexOf('<!doctype'); i !== -1 && seen < 8; i = s.indexOf('<!doctype', i + 9)) {
    seen++;
    let k = i + 9;
    while (k < s.length && isSpace(s.charCodeAt(k))) k++;
    while (k < s.length && k - i < 96 && !isSpace(s.charCodeAt(k)) && s.charCodeAt(k) !== 0x3e && s.charCodeAt(k) !== 0x5b) k++;
    while (k < s.length && isSpace(s.charCodeAt(k))) k++;
    if (!s.startsWith('public', k)) continue;
    const pub = quotedAt(s, k + 6);
    if (pub === null) continue;
    const sys = quotedAt(s, pub[1]);
    if (sys !== null && !isStandardDtd(sys[0].trim())) return clip(s.slice(i, sys[1]));
  }
  return null;
}

const foreignPublicDtd: PartRule = {
  kind: 'part',
  id: '937122',
  name: 'xxe-public-dtd-foreign-system-id',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    return findForeignPublicDtd(input);
  },
};

/** True when lower-cased XML text `s` only declares standard `PUBLIC` doctypes (nothing else to expand or fetch). */
function onlyStandardDoctypes(s: string): boolean {
  const found = scanDeclarations(s);
  return found.length > 0 && found.every((f) => f.kind === 'public-dtd') && findForeignPublicDtd(s) === null;
}

const bodyFacts: RequestRule = {
  kind: 'request',
  id: '937130',
  name: 'xxe-xml-body-declarations',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const b = scope.body;
    if (b === undefined || b.kind !== 'xml') return [];
    // the extractor marks any `PUBLIC` doctype as external: an SVG or plist with its publisher's DTD is not
    if (b.xmlExternalEntity && !onlyStandardDoctypes(lowerAscii(b.text))) return [{ hit: 'XML body declares an external entity', loc: { kind: 'body' } }];
    if ((b.xmlEntities ?? 0) > 0) return [{ hit: `XML body declares ${b.xmlEntities} entities`, loc: { kind: 'body' } }];
    return [];
  },
  phase: 'body',
};

/**
 * Declarations in a body that no part rule sees: XML sent with a binary media type (`application/octet-stream`,
 * which is not split into parts) and binary file parts of a multipart body (an `.svg` upload labelled
 * `image/png`). The parser behind the endpoint may sniff XML anyway. Reads the extractor's text of the body
 * (`BodyInfo.text`: content-decoded, and UTF-16/32 decoded when recognised by BOM or NUL pattern, as XML 1.0
 * Appendix F parsers do); XML, text, JSON and form bodies are the part rules' and 937130's.
 */
const hiddenXml: RequestRule = {
  kind: 'request',
  id: '937140',
  name: 'xxe-declarations-in-uninspected-body',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-776'],
  phase: 'body',
  check(scope) {
    const b = scope.body;
    if (b === undefined || (b.kind !== 'binary' && b.kind !== 'multipart')) return [];
    const text = b.text;
    if (text.indexOf('<!') === -1 && text.indexOf('nclude') === -1) return [];
    const low = lowerAscii(text);
    for (const f of scanDeclarations(low)) {
      if (f.kind !== 'public-dtd') return [{ hit: clip(f.text), loc: { kind: 'body' } }];
    }
    const pub = findForeignPublicDtd(low);
    return pub === null ? [] : [{ hit: pub, loc: { kind: 'body' } }];
  },
};

/** The XXE rules (ids and levels in the module comment). */
export const rules: readonly (PartRule | RequestRule)[] = [entityRule, internalEntity, dtd, publicDtd, foreignPublicDtd, bodyFacts, hiddenXml];
