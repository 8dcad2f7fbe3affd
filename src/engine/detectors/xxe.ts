import type { Location } from '../../core/types.ts';
import type { PartRule, RequestRule, TransformName } from '../types.ts';
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
 *   the extractor decodes it), binary multipart file parts, UTF-16 the extractor did not recognise, PL1, critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-XXE', 'CWE-611', 'attack-xxe'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header'];

/** Decoded and lower-cased, as the declaration scanner reads it; shared by every part rule of this module. */
const XML_CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']];

let lastInput: string | undefined;
let lastFound: ReturnType<typeof scanDeclarations> = [];
/**
 * {@link scanDeclarations} of a part rule's input, kept for the last input: the four declaration rules run one
 * after another on the same transformed value of a part (the engine inspects part by part), so it is scanned once.
 */
function declarations(input: string): ReturnType<typeof scanDeclarations> {
  if (input !== lastInput) {
    lastFound = scanDeclarations(input);
    lastInput = input;
  }
  return lastFound;
}

const entityRule: PartRule = {
  kind: 'part',
  id: '937100',
  name: 'xxe-external-or-parameter-entity',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: XML_CHAINS,
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of declarations(input)) if (f.kind === 'external-entity' || f.kind === 'parameter-entity') return clip(f.text);
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
  transforms: XML_CHAINS,
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of declarations(input)) if (f.kind === 'entity') return clip(f.text);
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
  transforms: XML_CHAINS,
  needs: '<:', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1 && input.indexOf('xi:include') === -1 && input.indexOf('xinclude') === -1) return null;
    for (const f of declarations(input)) {
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
  transforms: XML_CHAINS,
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of declarations(input)) if (f.kind === 'public-dtd' && f.root !== 'html') return clip(f.text);
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
  transforms: XML_CHAINS,
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

/** Largest decoded UTF-16 body scanned (code units). */
const MAX_UTF16_CHARS = 1 << 19;

/** `len` bytes of `bytes` from `start` decoded as UTF-16 (little- or big-endian), at most {@link MAX_UTF16_CHARS}. */
function decodeUtf16(bytes: Uint8Array, start: number, bigEndian: boolean): string {
  const len = Math.min(bytes.length - start, MAX_UTF16_CHARS * 2) & ~1;
  const buf = Buffer.from(bytes.subarray(start, start + len));
  return (bigEndian ? buf.swap16() : buf).toString('utf16le');
}

/** True when `t` starts (after up to 8 spaces) with `<?` or `<!`: the XML declaration or a doctype. */
function startsLikeXml(t: string): boolean {
  let i = 0;
  while (i < t.length && i < 8 && isSpace(t.charCodeAt(i))) i++;
  return t.charCodeAt(i) === 0x3c && (t.charCodeAt(i + 1) === 0x3f || t.charCodeAt(i + 1) === 0x21);
}

/**
 * The body as text when it is UTF-16 XML (XML 1.0 Appendix F: a parser detects the encoding from the BOM or
 * the `<?` pattern), which the extractor reads as UTF-8 noise with NULs between the characters. The byte order
 * comes from the BOM or the position of the first NUL; without either, `< 00 ? 00` in the first 16 bytes is
 * decoded little-endian from the `<` (exact for the ASCII markup in either order). Returns null otherwise.
 */
function utf16Xml(bytes: Uint8Array): string | null {
  if (bytes.length < 4) return null;
  let order: 'le' | 'be' | null = null;
  let start = 0;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) [order, start] = ['le', 2];
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) [order, start] = ['be', 2];
  else if (bytes[0] === 0 && bytes[1] !== 0) order = 'be';
  else if (bytes[0] !== 0 && bytes[1] === 0) order = 'le';
  if (order !== null) {
    const head = decodeUtf16(bytes.subarray(0, start + 32), start, order === 'be');
    return startsLikeXml(head) ? decodeUtf16(bytes, start, order === 'be') : null;
  }
  const lim = Math.min(bytes.length - 3, 16);
  for (let p = 0; p < lim; p++) {
    if (bytes[p] === 0x3c && bytes[p + 1] === 0 && (bytes[p + 2] === 0x3f || bytes[p + 2] === 0x21) && bytes[p + 3] === 0) return decodeUtf16(bytes, p, false);
  }
  return null;
}

/**
 * Declarations in a body that no part rule sees: XML sent with a binary media type (`application/octet-stream`,
 * which is not split into parts) and binary file parts of a multipart body (an `.svg` upload labelled
 * `image/png`), and UTF-16 the extractor did not decode (read as text with NULs between the characters). The
 * parser behind the endpoint may sniff XML anyway. Reads the extractor's text of the body (`BodyInfo.text`:
 * content-decoded, and UTF-16/32 decoded when recognised by BOM or NUL pattern, as XML 1.0 Appendix F parsers
 * do); other XML and text bodies are the part rules' and 937130's, JSON and form bodies are never XML.
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
    if (b === undefined || b.kind === 'json' || b.kind === 'form') return [];
    // UTF-16 the extractor did not recognise (no BOM or NUL pattern at the start: junk before the markup) reads
    // as characters with NULs between them, which no part rule sees through: the markup is the text without them
    const nul = b.text.indexOf('\u0000') !== -1;
    let text = nul ? b.text.replaceAll('\u0000', '') : b.text;
    if (!nul && b.kind !== 'binary' && b.kind !== 'multipart') {
      // declared UTF-16 decoded from the wrong start (junk before a BOM-less markup): the extractor's text is
      // noise without any `<`, while the raw bytes hold `< 00 ? 00` (text with a `<` was decoded right: the part
      // rules read it, and it is not decoded a second time here)
      const bytes = scope.ctx.body?.bytes;
      const u = bytes !== undefined && bytes.length >= 4 && text.indexOf('<') === -1 ? utf16Xml(bytes) : null;
      if (u === null) return [];
      text = u;
    }
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
