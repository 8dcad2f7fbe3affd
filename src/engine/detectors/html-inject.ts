/**
 * HTML-injection and JS-statement scanners for the XSS rules `941160`/`941161` (HTML injection) and `941371`
 * (JS statements) in `xss.ts`.
 *
 * The OWASP CRS treats any HTML markup injected into a request parameter as an attack at paranoia 1 (rule
 * 941160, "NoScript XSS InjectionChecker: HTML Injection"): a URL parameter has no business carrying a
 * `<head>`, `<form>`, `</style>` or `<!DOCTYPE` even when the markup does not itself execute script, because
 * it rewrites the page it is reflected into (fake login forms, `<base>`/`<style>` hijacks, mutation XSS).
 * CRS does that with one large regex; here a forward scanner recognises only tags whose name is a KNOWN
 * element of HTML, SVG or MathML ({@link KNOWN_ELEMENTS}), so placeholders in API traffic
 * (`<access_token_value>`, `<your x509 certificate>`, `<email@example.com>`, `List<String>`, `x<y>z`) do not
 * count. Element names that double as everyday placeholder words (`<code>`, `<title>`, `<table>`, `<a>`) only
 * count as markup when the tag carries an attribute with a value or closes itself ({@link WORDLIKE}).
 *
 * Every scanner here is one forward pass with bounded look-ahead that stops at the next `<`, so 64 KiB of
 * `<` or `<a ` costs O(n).
 */

/**
 * Element names (lower-case) from the HTML Living Standard element index (§ "Elements", index) and its
 * obsolete / non-conforming elements (§ 16, "Obsolete features", which the HTML parser still builds, e.g.
 * `<image>` → `<img>`), the SVG 2 element index (plus SVG 1.1 font and animation elements) and MathML Core.
 * Written from those indexes, not from any traffic sample.
 */
export const KNOWN_ELEMENTS: ReadonlySet<string> = new Set(
  (
    // HTML Living Standard
    'a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption cite code col ' +
    'colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset figcaption figure footer form h1 h2 ' +
    'h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd label legend li link main map mark menu meta ' +
    'meter nav noscript object ol optgroup option output p picture pre progress q rp rt ruby s samp script search ' +
    'section select selectedcontent slot small source span strong style sub summary sup table tbody td template ' +
    'textarea tfoot th thead time title tr track u ul var video wbr ' +
    // HTML obsolete / non-conforming (still parsed)
    'acronym applet basefont bgsound big blink center dir font frame frameset image isindex keygen listing marquee ' +
    'menuitem multicol nextid nobr noembed noframes param plaintext rb rtc spacer strike tt xmp ' +
    // SVG 2 element index (lower-cased) and SVG 1.1 additions
    'animate animatemotion animatetransform circle clippath defs desc discard ellipse feblend fecolormatrix ' +
    'fecomponenttransfer fecomposite feconvolvematrix fediffuselighting fedisplacementmap fedistantlight ' +
    'fedropshadow feflood fefunca fefuncb fefuncg fefuncr fegaussianblur feimage femerge femergenode femorphology ' +
    'feoffset fepointlight fespecularlighting fespotlight fetile feturbulence filter foreignobject g line ' +
    'lineargradient marker mask metadata mpath path pattern polygon polyline radialgradient rect set stop svg ' +
    'switch symbol text textpath tspan use view altglyph altglyphdef altglyphitem animatecolor color-profile cursor ' +
    'font-face font-face-format font-face-name font-face-src font-face-uri glyph glyphref hkern missing-glyph tref ' +
    'vkern ' +
    // MathML Core
    'annotation annotation-xml maction math merror mfrac mi mmultiscripts mn mo mover mpadded mphantom mprescripts ' +
    'mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr munder munderover semantics'
  ).split(' '),
);

/**
 * Known element names that are also ordinary words or one-letter variables, as found in documentation
 * placeholders and generics (`?code=<code>`, `FROM <table>`, `<title>`, `a<b>c`): a bare start tag of one of
 * these is not evidence of markup; it counts only with an attribute that has a value or a self-closing `/>`.
 * End tags (`</code>`) always count: placeholders are never written as end tags.
 */
const WORDLIKE: ReadonlySet<string> = new Set(
  (
    'a b i p q s u g mi mn mo ms address area article aside audio caption cite code col data del desc details dialog ' +
    'dir discard em filter font footer glyph header image input ins kbd label legend line link main map mark marker ' +
    'mask menu metadata meter nav option output param path pattern picture pre progress rect ruby samp search ' +
    'section select set slot small source spacer stop strong sub summary sup switch symbol table template text time ' +
    'title track use var video view cursor semantics annotation big strike object frame button canvas circle ellipse ' +
    'polygon polyline hgroup figure abbr dd dt'
  ).split(' '),
);

/**
 * Namespace prefixes whose elements are markup whatever the local name (`<xml:namespace>`, IE's namespace
 * import; `<xsl:template>`, XSLT; `<svg:…>`, `<html:…>`, `<math:…>`): the `xml` prefix is reserved by
 * Namespaces in XML 1.0 § 3, the others are the conventional prefixes of the HTML, SVG, MathML and XSLT
 * namespaces.
 */
const MARKUP_PREFIXES: ReadonlySet<string> = new Set(['xml', 'xsl', 'xhtml', 'html', 'svg', 'math', 'mathml', 'xlink']);

/** Markup declarations after `<!` (XML 1.0 § 2.8 and § 3.2–3.3, HTML DOCTYPE), lower-case. */
const DECLARATIONS = ['doctype', 'element', 'attlist', 'entity', 'notation'];

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isNameChar(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x3a || c === 0x2e;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

function isIdentChar(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24;
}

/**
 * True when the tag whose name ends at `j` carries an attribute written with a value (`name=`), an `xmlns`
 * declaration, or closes itself with `/>`. Looks ahead at most 512 chars and never past the next `<`, so the
 * look-aheads of one scan add up to O(n).
 */
function hasAttributeOrSelfClose(s: string, j: number): boolean {
  const n = s.length;
  const stop = Math.min(n, j + 512);
  let k = j;
  let inName = false;
  let nameStart = -1;
  while (k < stop) {
    const c = s.charCodeAt(k);
    if (c === 0x3c) return false;
    if (c === 0x3e) return k > j && s.charCodeAt(k - 1) === 0x2f;
    if (c === 0x22 || c === 0x27) return false; // a quote before any `name=`: prose, not a tag
    if (isNameChar(c)) {
      if (!inName) {
        inName = true;
        nameStart = k;
      }
    } else {
      if (c === 0x3d && inName && isAlpha(s.charCodeAt(nameStart))) return true;
      if (isSpace(c)) {
        // `name = value`: spaces before `=`
        let m = k;
        while (m < stop && isSpace(s.charCodeAt(m))) m++;
        if (inName && s.charCodeAt(m) === 0x3d && isAlpha(s.charCodeAt(nameStart))) return true;
        k = m - 1;
      } else if (c !== 0x2f) return false; // other punctuation: not attribute syntax
      inName = false;
    }
    k++;
  }
  return false;
}

/**
 * Finds HTML/SVG/MathML markup in a value: a start or end tag of a {@link KNOWN_ELEMENTS} name (or a
 * namespaced name with a {@link MARKUP_PREFIXES} prefix or a known local name) followed by whitespace, `/`,
 * `>` or the end of the value; an HTML comment opener `<!--`; a markup declaration (`<!DOCTYPE`, `<!ATTLIST`,
 * `<!ENTITY`, `<!ELEMENT`, `<!NOTATION`); a marked section (`<![CDATA[`, conditional `<![endif]`); a
 * processing instruction (`<?xml`, `<?php`, `<? echo`). Bare start tags of {@link WORDLIKE} names need an
 * attribute; a PascalCase name right after an identifier (`List<Object>`, a generic type) is not a tag.
 * Returns a short description or null. Linear (see the module comment).
 */
export function scanHtmlInjection(s: string): string | null {
  const n = s.length;
  let i = s.indexOf('<');
  while (i !== -1 && i < n - 1) {
    const c = s.charCodeAt(i + 1);
    if (c === 0x21) {
      // <!-- comment, <!DECLARATION, <![section[
      if (s.charCodeAt(i + 2) === 0x2d && s.charCodeAt(i + 3) === 0x2d) return 'HTML comment <!--';
      if (s.charCodeAt(i + 2) === 0x5b && isAlpha(s.charCodeAt(i + 3))) return 'marked section <![';
      let j = i + 2;
      while (j < n && j < i + 12 && isAlpha(s.charCodeAt(j))) j++;
      const word = s.slice(i + 2, j).toLowerCase();
      if (DECLARATIONS.includes(word) && (j === n || isSpace(s.charCodeAt(j)) || s.charCodeAt(j) === 0x3e)) return `markup declaration <!${word.toUpperCase()}`;
    } else if (c === 0x3f) {
      // processing instruction: <?xml …?>, <?php, <?= , <? echo
      let j = i + 2;
      if (s.charCodeAt(j) === 0x3d) return 'processing instruction <?=';
      while (j < n && j < i + 4 && isSpace(s.charCodeAt(j))) j++;
      if (j < n && isAlpha(s.charCodeAt(j))) return 'processing instruction <?';
    } else {
      const end = c === 0x2f;
      const st = end ? i + 2 : i + 1;
      if (st < n && isAlpha(s.charCodeAt(st))) {
        let j = st;
        while (j < n && j < st + 40 && isNameChar(s.charCodeAt(j))) j++;
        const d = j < n ? s.charCodeAt(j) : -1;
        if (d === -1 || d === 0x3e || d === 0x2f || isSpace(d)) {
          const hit = judgeName(s, i, st, j, end);
          if (hit) return hit;
        }
      }
    }
    i = s.indexOf('<', i + 1);
  }
  return null;
}

/** Judges the tag name `s[st, j)` of a tag at `i` (an end tag when `end`). */
function judgeName(s: string, i: number, st: number, j: number, end: boolean): string | null {
  let name = s.slice(st, j).toLowerCase();
  if (name.endsWith('.')) return null;
  const colon = name.indexOf(':');
  if (colon !== -1) {
    const prefix = name.slice(0, colon);
    const local = name.slice(colon + 1);
    if (local.length === 0) return null;
    if (MARKUP_PREFIXES.has(prefix)) return `${end ? 'end' : 'start'} tag <${end ? '/' : ''}${name}>`;
    name = local;
  }
  if (!KNOWN_ELEMENTS.has(name)) return !end && xmlnsAttributeIn(s, j) ? `namespace declaration on <${name}>` : null;
  if (end) return `end tag </${name}>`;
  // a generic type such as `List<Object>` or `Array<Image>`: an identifier right before `<` and a
  // capitalised, otherwise lower-case name, with no attributes
  const before = i > 0 ? s.charCodeAt(i - 1) : -1;
  const attrs = hasAttributeOrSelfClose(s, j);
  if (!attrs && isIdentChar(before) && isPascal(s, st, j)) return null;
  if (WORDLIKE.has(name) && !attrs) return null;
  if (j >= s.length && !attrs && name.length < 2) return null;
  return `start tag <${name}>`;
}

/**
 * True when the tag whose name ends at `j` declares an XML namespace (`xmlns=`, `xmlns:x=`), looking at most
 * 512 chars ahead and never past the next `<` or `>` (linear over a scan).
 */
function xmlnsAttributeIn(s: string, j: number): boolean {
  const stop = Math.min(s.length, j + 512);
  for (let k = j; k < stop; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x3c || c === 0x3e) return false;
    if (c === 0x78 && isSpace(s.charCodeAt(k - 1)) && xmlnsDeclarationAt(s, k)) return true;
  }
  return false;
}

/**
 * True when an XML namespace declaration in attribute syntax starts at `k` (Namespaces in XML 1.0 § 3):
 * `xmlns` or `xmlns:prefix`, optional spaces, `=`, optional spaces and a quote.
 */
export function xmlnsDeclarationAt(s: string, k: number): boolean {
  if (!s.startsWith('xmlns', k) || (k > 0 && isIdentChar(s.charCodeAt(k - 1)))) return false;
  let m = k + 5;
  if (s.charCodeAt(m) === 0x3a) {
    m++;
    const st = m;
    while (m < s.length && m < st + 32 && isNameChar(s.charCodeAt(m))) m++;
    if (m === st) return false;
  }
  while (m < s.length && isSpace(s.charCodeAt(m))) m++;
  if (s.charCodeAt(m) !== 0x3d) return false;
  m++;
  while (m < s.length && isSpace(s.charCodeAt(m))) m++;
  return s.charCodeAt(m) === 0x22 || s.charCodeAt(m) === 0x27;
}

/** A bare XML namespace declaration in a value (`xmlns:svg="http://www.w3.org/2000/svg">`): a markup fragment. */
export function scanXmlnsDeclaration(s: string): string | null {
  for (let k = s.indexOf('xmlns'); k !== -1; k = s.indexOf('xmlns', k + 5)) {
    if (xmlnsDeclarationAt(s, k)) return 'XML namespace declaration';
  }
  return null;
}

function isPascal(s: string, st: number, j: number): boolean {
  const c = s.charCodeAt(st);
  if (c < 0x41 || c > 0x5a || j - st < 2) return false;
  for (let k = st + 1; k < j; k++) {
    const d = s.charCodeAt(k);
    if (d >= 0x41 && d <= 0x5a) return false;
  }
  return true;
}

/** Browser globals whose members are DOM/navigation/storage sinks (lower-case JS identifiers, case-sensitive). */
const DOM_GLOBALS: ReadonlySet<string> = new Set([
  'document', 'window', 'navigator', 'location', 'localStorage', 'sessionStorage', 'history', 'globalThis',
]);

/**
 * Window aliases that are also everyday words (`self`, `top`, `parent`): they count only as the head of a
 * chain that reaches a {@link DOM_GLOBALS} name (`top.document.write(…)`, `parent.location=…`).
 */
const WINDOW_ALIASES: ReadonlySet<string> = new Set(['top', 'self', 'parent', 'opener', 'frames', 'content', 'window']);

/**
 * JavaScript statements in a value that only a script context runs (for URL-borne values):
 * - a member call or assignment on a browser global: `navigator.vibrate(500)`, `document.write(…)`,
 *   `window.location.href = …`, `location.replace(…)`, `localStorage.setItem(…)` (not a bare mention such as
 *   `document.pdf` or `window.title`, and not `==` comparisons);
 * - a jQuery call with a selector, markup or function: `$("a.bar").click(…)`, `jQuery(document)`,
 *   `$.getScript(…)`;
 * - a function definition with a body: `function f(){`, `function (a, b) {`.
 * JS identifiers are case-sensitive, so `Document.create(` or "Window (glass)" do not match. Source: the
 * DOM-based XSS sinks of the OWASP DOM based XSS Prevention Cheat Sheet and CRS 941180's deny list
 * (`document.cookie`, `document.write`, `window.location`), generalised to any member call on those globals.
 * Returns a short description or null. Linear: each candidate starts a look-ahead of at most 160 chars.
 */
export function scanJsStatement(s: string): string | null {
  const n = s.length;
  // member call / assignment on a browser global
  for (let i = s.indexOf('.'); i !== -1; i = s.indexOf('.', i + 1)) {
    // read the identifier before the dot
    let b = i;
    while (b > 0 && b > i - 20 && isIdentChar(s.charCodeAt(b - 1))) b--;
    if (b === i || (b > 0 && isIdentChar(s.charCodeAt(b - 1)))) continue;
    const obj = s.slice(b, i);
    if (!DOM_GLOBALS.has(obj)) continue;
    if (b > 0 && s.charCodeAt(b - 1) === 0x2e) {
      // `x.document.write(…)` counts only after a window alias: `top.document…`, `parent.location=…`
      let a = b - 1;
      while (a > 0 && a > b - 12 && isIdentChar(s.charCodeAt(a - 1))) a--;
      if ((a > 0 && (isIdentChar(s.charCodeAt(a - 1)) || s.charCodeAt(a - 1) === 0x2e)) || !WINDOW_ALIASES.has(s.slice(a, b - 1))) continue;
    }
    const hit = memberCallAt(s, i);
    if (hit) return `${obj}${hit}`;
  }
  // jQuery: $( "…" | '…' | document | window | this | function ), jQuery(…), $.ajax(…)
  for (let i = s.indexOf('$'); i !== -1; i = s.indexOf('$', i + 1)) {
    if (i > 0 && isIdentChar(s.charCodeAt(i - 1))) continue;
    if (s.charCodeAt(i + 1) === 0x2e) {
      const hit = memberCallAt(s, i + 1);
      if (hit && hit.endsWith('(')) return `jQuery $${hit}`;
      continue;
    }
    if (jqueryArgAt(s, i + 1)) return 'jQuery $(…) call';
  }
  for (let i = s.indexOf('jQuery'); i !== -1; i = s.indexOf('jQuery', i + 1)) {
    if (i > 0 && isIdentChar(s.charCodeAt(i - 1))) continue;
    if (jqueryArgAt(s, i + 6)) return 'jQuery(…) call';
  }
  // function definitions with a body
  for (let i = s.indexOf('function'); i !== -1; i = s.indexOf('function', i + 1)) {
    if (i > 0 && isIdentChar(s.charCodeAt(i - 1))) continue;
    let k = i + 8;
    const stop = Math.min(n, k + 160);
    if (k < n && isIdentChar(s.charCodeAt(k))) continue; // `functions`, `functional`
    while (k < stop && isSpace(s.charCodeAt(k))) k++;
    while (k < stop && isIdentChar(s.charCodeAt(k))) k++; // optional name
    while (k < stop && isSpace(s.charCodeAt(k))) k++;
    if (s.charCodeAt(k) !== 0x28) continue;
    k++;
    // parameters: identifiers, commas, spaces, defaults of simple literals
    while (k < stop) {
      const c = s.charCodeAt(k);
      if (isIdentChar(c) || isSpace(c) || c === 0x2c || c === 0x3d || c === 0x2e) k++;
      else break;
    }
    if (s.charCodeAt(k) !== 0x29) continue;
    k++;
    while (k < stop && isSpace(s.charCodeAt(k))) k++;
    if (s.charCodeAt(k) === 0x7b) return 'function definition';
  }
  return null;
}

/**
 * At a `.` after a global: reads `.member(.member)*` (bounded) and returns `.a.b(` for a call or `.a=` for an
 * assignment (not `==`/`=>`), else null.
 */
function memberCallAt(s: string, dot: number): string | null {
  const n = s.length;
  const stop = Math.min(n, dot + 160);
  let k = dot;
  let path = '';
  let last = '';
  while (k < stop && s.charCodeAt(k) === 0x2e) {
    const st = k + 1;
    k = st;
    if (k >= stop || !isIdentChar(s.charCodeAt(k)) || (s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x39)) return null;
    while (k < stop && isIdentChar(s.charCodeAt(k))) k++;
    last = s.slice(st, k);
    path += '.' + last;
  }
  let m = k;
  while (m < stop && (s.charCodeAt(m) === 0x20 || s.charCodeAt(m) === 0x09)) m++;
  const c = s.charCodeAt(m);
  if (c === 0x28 && m === k) return `${path}(`;
  if (c === 0x3d && s.charCodeAt(m + 1) !== 0x3d && s.charCodeAt(m + 1) !== 0x3e && (ASSIGN_SINKS.has(last) || /^on[a-z]{3,}$/.test(last))) return `${path}=`;
  return null;
}

/** DOM properties whose assignment navigates, writes markup, sets cookies or loads a resource. */
const ASSIGN_SINKS: ReadonlySet<string> = new Set([
  'location', 'href', 'hash', 'search', 'pathname', 'cookie', 'domain', 'innerHTML', 'outerHTML', 'srcdoc', 'src', 'action',
  'textContent', 'innerText', 'body',
]);

/** After `$`/`jQuery`: `(` then a quoted selector/markup, `document`, `window`, `this` or `function`. */
function jqueryArgAt(s: string, k: number): boolean {
  if (s.charCodeAt(k) !== 0x28) return false;
  let m = k + 1;
  while (m < s.length && m < k + 8 && isSpace(s.charCodeAt(m))) m++;
  const c = s.charCodeAt(m);
  if (c === 0x22 || c === 0x27 || c === 0x60) {
    // a quoted argument that is closed and followed by `)` within 128 chars
    let e = m + 1;
    const stop = Math.min(s.length, m + 128);
    while (e < stop && s.charCodeAt(e) !== c) e++;
    if (e >= stop) return false;
    let p = e + 1;
    while (p < s.length && isSpace(s.charCodeAt(p))) p++;
    return s.charCodeAt(p) === 0x29 || s.charCodeAt(p) === 0x2c;
  }
  for (const w of ['document', 'window', 'this', 'function']) {
    if (s.startsWith(w, m) && !isIdentChar(s.charCodeAt(m + w.length))) return true;
  }
  return false;
}
