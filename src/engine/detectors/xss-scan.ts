/**
 * Cross-site scripting scanners: an HTML tokenizer state machine (after the WHATWG HTML tokenizer's tag,
 * attribute-name and attribute-value states) that finds markup which executes script, and a small JavaScript
 * context scanner for breakouts from JS string literals and template literals.
 *
 * Every scanner is one forward pass: each tag is parsed once from its `<`, and scanning resumes after the
 * tag's end, so input of `<` × 65536 or `<a b="` repeated costs O(n).
 */

/**
 * Event-handler attribute names (HTML Living Standard "event handlers on elements", SVG/SMIL events, and the
 * legacy IE/Firefox ones used in XSS cheat sheets). A name must be in this set: prose-like attribute names
 * such as `<your onboarding>` do not count.
 */
const EVENTS = new Set(
  (
    'abort activate afterprint afterscriptexecute animationcancel animationend animationiteration animationstart ' +
    'auxclick beforeactivate beforecopy beforecut beforedeactivate beforeinput beforepaste beforeprint ' +
    'beforescriptexecute beforetoggle beforeunload begin blur bounce canplay canplaythrough change click close ' +
    'contentvisibilityautostatechange contextlost contextmenu contextrestored copy cuechange cut dblclick ' +
    'deactivate drag dragend dragenter dragexit dragleave dragover dragstart drop durationchange emptied end ' +
    'ended error focus focusin focusout formdata fullscreenchange fullscreenerror hashchange input invalid keydown ' +
    'keypress keyup load loadeddata loadedmetadata loadend loadstart message messageerror mousedown mouseenter ' +
    'mouseleave mousemove mouseout mouseover mouseup mousewheel offline online pagehide pagereveal pageshow pageswap ' +
    'paste pause play playing pointercancel pointerdown pointerenter pointerleave pointerlockchange pointerlockerror ' +
    'pointermove pointerout pointerover pointerrawupdate pointerup popstate progress propertychange ratechange ' +
    'readystatechange repeat reset resize scroll scrollend scrollsnapchange scrollsnapchanging search securitypolicyviolation ' +
    'seeked seeking select selectionchange selectstart show slotchange stalled start storage submit suspend timeupdate ' +
    'toggle touchcancel touchend touchmove touchstart transitioncancel transitionend transitionrun transitionstart ' +
    'unhandledrejection unload volumechange waiting webkitanimationend webkitanimationiteration webkitanimationstart ' +
    'webkittransitionend wheel zoom filterchange finish help losecapture move moveend movestart rowenter rowexit ' +
    'rowsdelete rowsinserted datasetchanged dataavailable datasetcomplete errorupdate layoutcomplete controlselect ' +
    'mscontentzoom msgesturechange msinertiastart cellchange overflow underflow svgload svgunload'
  )
    .split(' ')
    .map((e) => 'on' + e),
);

/** URL schemes that run script when navigated to or loaded (after whitespace/control removal). */
const SCRIPT_SCHEMES = ['javascript:', 'vbscript:', 'livescript:', 'mocha:', 'jscript:'];
/** `data:` media types that render active content. */
const DATA_ACTIVE = ['text/html', 'image/svg', 'application/xhtml', 'text/xml', 'application/xml', 'application/x-shockwave', 'text/javascript', 'application/javascript', 'application/ecmascript'];

/**
 * Elements that are active content or mutation-XSS vectors on their own: SVG and MathML roots (script-capable
 * foreign content), `xmp`/`plaintext`/`listing` raw-text elements (mXSS), `isindex`, and `svg:svg`.
 */
const ACTIVE_CONTAINERS = new Set([
  'svg', 'svg:svg', 'math', 'xmp', 'plaintext', 'listing', 'isindex', 'xss', 'xss:xss', 'vmlframe', 'v:vmlframe',
  // SVG-only elements that load or animate content (no HTML element or prose placeholder has these names)
  'feimage', 'foreignobject', 'animate', 'animatemotion', 'animatetransform',
  // XSLT stylesheets and XML Events listeners run script when the document is rendered as XML
  'xsl:stylesheet', 'xsl:transform', 'xsl:template', 'listener', 'ev:listener',
]);

/** Elements that load or run active content through an attribute (src, data, code, srcdoc …). */
const EMBEDDING = new Set(['iframe', 'frame', 'embed', 'object', 'applet', 'frameset', 'portal', 'fencedframe', 'layer', 'ilayer', 'xml', 'bgsound', 'import']);
/** Attributes that hold a URL or script-bearing value in embedding elements. */
const LOADING_ATTRS = new Set(['src', 'data', 'code', 'codebase', 'srcdoc', 'href', 'archive', 'classid', 'movie', 'object', 'implementation']);

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

function isTagNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x3a || c === 0x5f || c > 0x7f;
}

function isHtmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

/**
 * Reads a URL scheme at `i` the way browsers do after entity decoding: leading spaces/controls are
 * ignored, and tabs/newlines inside the scheme are removed by the URL parser (WHATWG URL "remove all ASCII
 * tab or newline"); other control characters are tolerated too, as older engines did. Returns the
 * lower-cased `scheme:` plus up to 32 following characters, or '' when no scheme is found (bounded: at most
 * 64 characters are read).
 */
export function schemeAt(s: string, i: number): string {
  const n = s.length;
  let j = i;
  while (j < n && j < i + 64 && s.charCodeAt(j) <= 0x20) j++;
  let out = '';
  const stop = Math.min(n, j + 64);
  for (; j < stop; j++) {
    const c = s.charCodeAt(j);
    if (c <= 0x20 || c === 0x7f || c === 0xad || c === 0x200b) continue;
    const l = lowerAscii(c);
    if (l === 0x3a) {
      out += ':';
      let k = j + 1;
      let tail = '';
      while (k < n && tail.length < 32) {
        const d = s.charCodeAt(k);
        if (d > 0x20) tail += String.fromCharCode(lowerAscii(d));
        k++;
      }
      return out + tail;
    }
    if (!((l >= 0x61 && l <= 0x7a) || (l >= 0x30 && l <= 0x39) || l === 0x2b || l === 0x2d || l === 0x2e)) return '';
    out += String.fromCharCode(l);
    if (out.length > 16) return '';
  }
  return '';
}

/** True when a scheme string (from {@link schemeAt}) runs script. */
export function isScriptUrl(scheme: string): string | null {
  let sc = scheme;
  if (!sc) return null;
  // feed:/view-source:/jar: wrappers around a script URL (Firefox feed: handler, view-source: tricks)
  for (let k = 0; k < 4; k++) {
    if (sc.startsWith('feed:')) sc = sc.slice(5);
    else if (sc.startsWith('view-source:')) sc = sc.slice(12);
    else break;
  }
  for (const p of SCRIPT_SCHEMES) if (sc.startsWith(p)) return p;
  if (sc.startsWith('data:')) {
    const rest = sc.slice(5);
    for (const m of DATA_ACTIVE) if (rest.startsWith(m)) return `data:${m}`;
  }
  return null;
}

/** Lower-cased `s` without whitespace and comments, bounded to `max` chars (for CSS checks). */
function squash(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20) continue;
    if (c === 0x22 || c === 0x27) {
      // a CSS string: copied through, comment markers inside it are not comments
      const e = s.indexOf(s[i]!, i + 1);
      const end = e === -1 ? s.length : e;
      out += s.slice(i, Math.min(end + 1, i + 1 + max - out.length)).toLowerCase();
      i = end;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      const e = s.indexOf('*/', i + 2);
      if (e === -1) break;
      i = e + 1;
      continue;
    }
    out += String.fromCharCode(lowerAscii(c));
  }
  return out;
}

/** Dangerous CSS: IE `expression()`, `behavior:`/`-moz-binding:` (HTC/XBL), `javascript:` URLs, `@import`. */
export function dangerousCss(css: string): string | null {
  const q = squash(css, 8192);
  if (q.includes('expression(')) return 'css expression()';
  if (q.includes('behavior:') || q.includes('-moz-binding')) return 'css behavior/binding';
  if (q.includes('javascript:') || q.includes('vbscript:')) return 'css javascript: url';
  if (q.includes('@import')) return 'css @import';
  if (q.includes('url(data:image/svg') || q.includes('url("data:image/svg') || q.includes("url('data:image/svg") || q.includes('data:text/html')) return 'css url() with active data:';
  return null;
}

/** One parsed start tag. */
interface Tag {
  name: string;
  attrs: [string, string][];
  /** Names of attributes written with `=`. */
  valued: Set<string>;
  /** Index just past the tag. */
  end: number;
}

/**
 * Parses a start tag whose `<` is at `lt` (the next char is a letter). Attribute names are lower-cased;
 * values are raw. Quoted values run to the matching quote; an unterminated quoted value ends at the next `>`
 * (so the scan always moves forward). `/` separates attributes as in browsers. Linear in the tag length.
 */
function parseTag(s: string, lt: number): Tag {
  const n = s.length;
  let j = lt + 1;
  while (j < n && isTagNameChar(s.charCodeAt(j))) j++;
  const name = s.slice(lt + 1, j).toLowerCase();
  const attrs: [string, string][] = [];
  const valued = new Set<string>();
  while (j < n) {
    let c = s.charCodeAt(j);
    while (j < n && (isHtmlSpace(c) || c === 0x2f)) c = s.charCodeAt(++j);
    if (j >= n) break;
    if (c === 0x3e) {
      j++;
      break;
    }
    // `<a <script>`: a new tag begins. A `<` not followed by a letter starts an attribute name as in the
    // WHATWG tokenizer (`<x </onxxx=1`: attributes `<` and `onxxx`)
    if (c === 0x3c && attrs.length === 0 && j > lt + 1 && isAsciiLetter(s.charCodeAt(j + 1))) break;
    const an = j;
    j++; // the first char of a name may be anything (even `=` or a quote)
    while (j < n) {
      const d = s.charCodeAt(j);
      if (isHtmlSpace(d) || d === 0x2f || d === 0x3e || d === 0x3d) break;
      j++;
    }
    const attr = s.slice(an, j).toLowerCase();
    let k = j;
    while (k < n && isHtmlSpace(s.charCodeAt(k))) k++;
    if (k < n && s.charCodeAt(k) === 0x3d) {
      valued.add(attr);
      k++;
      while (k < n && isHtmlSpace(s.charCodeAt(k))) k++;
      const q = s.charCodeAt(k);
      if (q === 0x22 || q === 0x27) {
        let e = s.indexOf(String.fromCharCode(q), k + 1);
        if (e === -1) {
          e = s.indexOf('>', k + 1);
          if (e === -1) e = n;
          attrs.push([attr, s.slice(k + 1, e)]);
          j = e;
          continue;
        }
        attrs.push([attr, s.slice(k + 1, e)]);
        j = e + 1;
      } else {
        let e = k;
        while (e < n && !isHtmlSpace(s.charCodeAt(e)) && s.charCodeAt(e) !== 0x3e) e++;
        attrs.push([attr, s.slice(k, e)]);
        j = e;
      }
    } else {
      attrs.push([attr, '']);
    }
    if (attrs.length > 256) break;
  }
  return { name, attrs, valued, end: j };
}

function decodeEntitiesLite(v: string): string {
  if (v.indexOf('&') === -1) return v;
  // numeric and the few named references that build schemes; full decoding runs in the transform chain
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c !== 0x26) {
      out += v[i];
      continue;
    }
    let j = i + 1;
    if (v.charCodeAt(j) === 0x23) {
      j++;
      const hex = (v.charCodeAt(j) | 0x20) === 0x78;
      if (hex) j++;
      let x = 0;
      const st = j;
      while (j < v.length && j < st + 10) {
        const d = v.charCodeAt(j);
        const dv = d >= 48 && d <= 57 ? d - 48 : hex && (d | 0x20) >= 97 && (d | 0x20) <= 102 ? (d | 0x20) - 87 : -1;
        if (dv < 0) break;
        x = x * (hex ? 16 : 10) + dv;
        j++;
      }
      if (j > st && x > 0 && x < 0x110000) {
        if (v.charCodeAt(j) === 0x3b) j++;
        out += String.fromCodePoint(x);
        i = j - 1;
        continue;
      }
    } else {
      const rest = v.slice(j, j + 9).toLowerCase();
      const named: [string, string][] = [['colon', ':'], ['tab', '\t'], ['newline', '\n'], ['lpar', '('], ['rpar', ')'], ['quot', '"'], ['apos', "'"], ['lt', '<'], ['gt', '>'], ['amp', '&']];
      let hit = false;
      for (const [nm, ch] of named) {
        if (rest.startsWith(nm)) {
          j += nm.length;
          if (v.charCodeAt(j) === 0x3b) j++;
          out += ch;
          i = j - 1;
          hit = true;
          break;
        }
      }
      if (hit) continue;
    }
    out += '&';
  }
  return out;
}

/** True when the attribute was written with `=` (its value may be empty). */
function hasValue(t: Tag, a: string): boolean {
  return t.valued.has(a);
}

/**
 * An `on…` attribute name of letters only (`onxxx`, `onorientationchange`): browsers add new events every
 * year, so any such name with a value counts as a handler (CRS 941120 matches `on[a-z]+=` the same way).
 */
export function isHandlerName(a: string): boolean {
  if (a.length < 5 || a.charCodeAt(0) !== 0x6f || a.charCodeAt(1) !== 0x6e) return false;
  for (let i = 2; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f)) return false;
  }
  return true;
}

/** An attribute name that starts with a known event name then junk (`onload!#$%&()=…`, old IE parsers). */
function eventPrefix(a: string): boolean {
  let j = 2;
  while (j < a.length) {
    const c = a.charCodeAt(j);
    if (c < 0x61 || c > 0x7a) break;
    j++;
  }
  return j < a.length && j > 4 && EVENTS.has(a.slice(0, j)) && !(a.charCodeAt(j) >= 0x30 && a.charCodeAt(j) <= 0x39);
}

/** Judges one parsed tag; returns a finding or null. */
function judgeTag(t: Tag, s: string): string | null {
  const name = t.name;
  if (name === 'script') return '<script> element';
  if (ACTIVE_CONTAINERS.has(name) || name.startsWith('svg:')) return `<${name}> element`;
  if (name === 'xml' && t.attrs.some(([a]) => a === 'id' || a === 'src')) return '<xml> data island';
  for (const [a, raw] of t.attrs) {
    if (a.length > 4 && a.charCodeAt(0) === 0x6f && a.charCodeAt(1) === 0x6e && (EVENTS.has(a) || (hasValue(t, a) && isHandlerName(a)) || eventPrefix(a))) {
      return `event handler ${a} on <${name}>`;
    }
    if ((a === 'dataformatas' && raw.toLowerCase().includes('html')) || (a === 'datasrc' && raw.startsWith('#'))) return `data binding ${a} on <${name}>`;
    if (raw.length === 0) continue;
    const v = decodeEntitiesLite(raw);
    const sc = isScriptUrl(schemeAt(v, 0));
    if (sc) return `${sc} URL in ${a} of <${name}>`;
    if (a === 'style' || a.endsWith(':style')) {
      const c = dangerousCss(v);
      if (c) return `${c} in style of <${name}>`;
    }
    if (a === 'srcdoc' && v.indexOf('<') !== -1) return `markup in srcdoc of <${name}>`;
    if (a === 'attributename') {
      const target = v.trim().toLowerCase();
      if (target.startsWith('on') || target === 'href' || target === 'xlink:href' || target === 'innerhtml' || target === 'outerhtml' || target === 'src') {
        return `SMIL/HTC animation of ${v.trim()} on <${name}>`;
      }
    }
    if (a === 'http-equiv') {
      const he = v.trim().toLowerCase();
      const content = (t.attrs.find(([x]) => x === 'content')?.[1] ?? '').toLowerCase();
      if (he === 'refresh' && content.includes('url')) return 'meta refresh';
      if (he === 'set-cookie') return 'meta set-cookie';
      if (he === 'content-type' && content.includes('utf-7')) return 'meta charset UTF-7';
    }
    if (EMBEDDING.has(name) && LOADING_ATTRS.has(a)) return `<${name}> loading ${a}`;
    if (name === 'base' && a === 'href') return '<base href>';
    if ((name === 'link' || name === 'import') && a === 'rel' && (v.toLowerCase().includes('import') || v.toLowerCase().includes('stylesheet'))) {
      const href = t.attrs.find(([x]) => x === 'href');
      if (href && href[1].length > 0) return `<${name} rel=${v}>`;
    }
  }
  return null;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/**
 * Elements a filter-evasion payload tries to smuggle past a tag-name blacklist by splitting the name
 * (`<scr&#x9;ipt>`, `<scr\tipt>`, `<ifr&#10;ame>`): those that run script or load active content.
 */
const SPLIT_TARGETS = new Set(['script', 'iframe', 'frame', 'frameset', 'svg', 'img', 'image', 'object', 'embed', 'applet', 'style', 'body', 'meta', 'base', 'link', 'math', 'form', 'input', 'video', 'audio', 'marquee', 'details', 'isindex', 'xmp', 'plaintext', 'noscript', 'template']);

/**
 * Reads a tag name at `st` that is interrupted by character references (`&#x9;`, `&#10`, `&Tab;`,
 * `&NewLine;`) or control characters, and returns the joined lower-case name when it is in
 * {@link SPLIT_TARGETS} and was actually split; else null. Bounded to 64 chars.
 */
export function splitTagName(s: string, st: number): string | null {
  const n = s.length;
  const stop = Math.min(n, st + 64);
  let name = '';
  let splits = 0;
  let k = st;
  while (k < stop && name.length <= 16) {
    const c = s.charCodeAt(k);
    if (isAsciiLetter(c)) {
      name += String.fromCharCode(lowerAscii(c));
      k++;
    } else if (c < 0x20) {
      splits++;
      k++;
    } else if (c === 0x26) {
      let m = k + 1;
      if (s.charCodeAt(m) === 0x23) {
        m++;
        if ((s.charCodeAt(m) | 0x20) === 0x78) m++;
        const d0 = m;
        while (m < stop && m < d0 + 8 && ((s.charCodeAt(m) >= 0x30 && s.charCodeAt(m) <= 0x39) || ((s.charCodeAt(m) | 0x20) >= 0x61 && (s.charCodeAt(m) | 0x20) <= 0x66))) m++;
        if (m === d0) break;
      } else {
        const w = s.slice(m, m + 8).toLowerCase();
        if (w.startsWith('tab')) m += 3;
        else if (w.startsWith('newline')) m += 7;
        else break;
      }
      if (s.charCodeAt(m) === 0x3b) m++;
      splits++;
      k = m;
    } else break;
  }
  return splits > 0 && SPLIT_TARGETS.has(name) ? name : null;
}

/** A `[…]` placeholder of at most 8 chars (fuzzing templates mark separator slots this way). Linear. */
const BRACKET_SLOT = /\[[^[\]<>]{0,8}\]/g;

/**
 * Judges a tag written with bracketed separator slots (`<img[a]src[b]=x[c]onerror=[d]"alert(1)">`, a
 * fuzzing template whose slots a scanner fills with whitespace, `/`, NUL …): the slots are read as
 * whitespace and the tag is judged again. Bounded to the first 2048 chars of the tag.
 */
function judgeBracketSeparated(s: string, lt: number): string | null {
  // the tag ends at its `>`, or before the next `<` (so the regions of successive tags do not overlap)
  const cap = Math.min(s.length, lt + 2048);
  let e = lt + 1;
  while (e < cap) {
    const c = s.charCodeAt(e);
    if (c === 0x3c) break;
    e++;
    if (c === 0x3e) break;
  }
  const norm = s.slice(lt, e).replace(BRACKET_SLOT, ' ');
  if (!isAsciiLetter(norm.charCodeAt(1))) return null;
  const r = judgeTag(parseTag(norm, 0), norm);
  return r ? `${r} (bracketed separators)` : null;
}

/** Case-insensitive `indexOf` for an ASCII lower-case needle (no copy of the haystack). */
function indexOfCi(s: string, needle: string, from: number): number {
  const first = needle.charCodeAt(0);
  for (let i = s.indexOf(String.fromCharCode(first), from); i !== -1; i = s.indexOf(String.fromCharCode(first), i + 1)) {
    let k = 1;
    while (k < needle.length && lowerAscii(s.charCodeAt(i + k)) === needle.charCodeAt(k)) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

/**
 * Scans text as HTML and reports the first construct that executes script: `<script>`, an event-handler
 * attribute on any element (custom elements included), a script URL (`javascript:`, `vbscript:`,
 * `data:text/html` …) in any attribute (after entity decoding and with whitespace/control characters inside
 * the scheme ignored), dangerous CSS in `style`, embedding elements loading a resource, `<base href>`, meta
 * refresh, SVG/SMIL `attributeName=on…`, `<iframe srcdoc>` markup. Plain markup (`<p>`, `<b>`,
 * `<your x509 certificate>`) is not reported. Linear.
 */
export function scanHtml(s: string): string | null {
  const n = s.length;
  // a <script start tag anywhere, even inside an attribute value or a bogus comment: parsers disagree on
  // where such contexts end (mutation XSS, XML vs HTML), so its presence is the signal (CRS 941110)
  for (let k = indexOfCi(s, '<script', 0); k !== -1; k = indexOfCi(s, '<script', k + 7)) {
    const after = k + 7 < n ? s.charCodeAt(k + 7) : 0x3e;
    if (after === 0x3e || after === 0x2f || isHtmlSpace(after)) return '<script> start tag';
  }
  const att = indexOfCi(s, '<!attlist', 0);
  if (att !== -1) {
    const decl = s.slice(att, Math.min(n, att + 2048)).toLowerCase();
    const m = decl.indexOf(' on');
    if (m !== -1 && isHandlerName(decl.slice(m + 1, m + 1 + decl.slice(m + 1).search(/[^a-z]/)))) return 'DTD ATTLIST declares an event handler';
  }
  let i = s.indexOf('<');
  while (i !== -1 && i < n - 1) {
    const c = s.charCodeAt(i + 1);
    const isLetter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
    if (c === 0x2f && (s.charCodeAt(i + 2) | 0x20) === 0x73 && s.slice(i + 2, i + 8).toLowerCase() === 'script') {
      return '</script> closes a script block';
    }
    if (c === 0x3f) {
      const pi = s.slice(i + 2, i + 16).toLowerCase();
      if (pi.startsWith('import')) return '<?import> HTC behaviour';
      if (pi.startsWith('xml-stylesheet')) return '<?xml-stylesheet> (XSLT/CSS injection)';
    }
    if (!isLetter) {
      i = s.indexOf('<', i + 1);
      continue;
    }
    const t = parseTag(s, i);
    const r = judgeTag(t, s);
    if (r) return r;
    let ne = i + 1;
    while (ne < n && isTagNameChar(s.charCodeAt(ne))) ne++;
    const after = ne < n ? s.charCodeAt(ne) : 0;
    if (after === 0x26 || (after < 0x20 && ne < n)) {
      const split = splitTagName(s, i + 1);
      if (split) return `tag name <${split}> split by entities or control characters`;
    }
    if (after === 0x5b || t.attrs.some(([a]) => a.charCodeAt(0) === 0x5b)) {
      const r2 = judgeBracketSeparated(s, i);
      if (r2) return r2;
    }
    let next = Math.max(t.end, i + 1);
    if (t.name === 'style') {
      // raw text up to </style>: judged as CSS once, then skipped (no markup inside a style element)
      const close = indexOfCi(s, '</style', next);
      const css = s.slice(next, close === -1 ? n : close);
      const c = dangerousCss(css);
      if (c) return `${c} in <style>`;
      next = close === -1 ? n : close + 7;
    }
    i = s.indexOf('<', next);
  }
  return null;
}

/** JS functions and properties whose call or assignment runs attacker code or exfiltrates data. */
const JS_SINKS = new Set([
  'alert', 'prompt', 'confirm', 'eval', 'function', 'settimeout', 'setinterval', 'setimmediate', 'execscript', 'fetch',
  'import', 'atob', 'write', 'writeln', 'open', 'print', 'constructor', 'fromcharcode', 'unescape', 'decodeuri',
  'decodeuricomponent', 'xmlhttprequest', 'sendbeacon', 'postmessage', 'insertadjacenthtml', 'createelement',
  'appendchild', 'reflect', 'console', 'debugger', 'throw', 'top', 'self', 'parent', 'window', 'globalthis',
  'location', 'document', 'cookie', 'domain', 'innerhtml', 'outerhtml', 'srcdoc', 'onerror', 'onload', 'string', 'jquery', '$',
]);

/** Global objects whose computed members are called in obfuscated payloads (`top['al'+'ert'](1)`). */
const GLOBALS = new Set(['top', 'window', 'self', 'parent', 'frames', 'globalthis', 'this', 'content', 'opener']);

/** Identifiers after which `(`, `` ` `` or `=` makes the sink run. */
const SINK_CALL = new Set(['alert', 'prompt', 'confirm', 'eval', 'function', 'settimeout', 'setinterval', 'setimmediate', 'execscript', 'fetch', 'import', 'atob', 'write', 'writeln', 'open', 'print', 'constructor', 'fromcharcode', 'unescape', 'sendbeacon', 'postmessage', 'insertadjacenthtml', 'createelement', 'appendchild', 'xmlhttprequest', 'console', 'jquery', '$']);
/** Properties whose assignment navigates or writes markup. */
const SINK_ASSIGN = new Set(['location', 'href', 'cookie', 'domain', 'innerhtml', 'outerhtml', 'srcdoc', 'onerror', 'onload', 'src', 'action']);

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
}

function isIdent(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39);
}

/**
 * Reads a JS member expression at `i` (`top['al'+'ert']`, `window.alert`, `self[atob('…')]`, `a.b.c`) and
 * reports whether it reaches a sink that is then called (`(`, tagged template `` ` ``) or assigned (`=`).
 * Bounded to 128 chars. Returns the sink name or null.
 */
export function sinkAt(s: string, i: number): string | null {
  const n = s.length;
  const stop = Math.min(n, i + 128);
  let j = i;
  let last = '';
  let anySink = false;
  while (j < stop) {
    const c = s.charCodeAt(j);
    if (isIdentStart(c)) {
      const st = j;
      while (j < stop && isIdent(s.charCodeAt(j))) j++;
      last = s.slice(st, j).toLowerCase();
      if (SINK_CALL.has(last) || SINK_ASSIGN.has(last)) anySink = true;
    } else if (c === 0x5b) {
      // computed member: ['al' + 'ert'] or [atob(...)]; judged by what follows the bracket. The search for
      // `]` stops at the look-ahead bound (callers run this at many positions: an unbounded search is O(n²))
      let e = j + 1;
      while (e < stop && s.charCodeAt(e) !== 0x5d) e++;
      if (e >= stop) return null;
      const inner = lettersOnly(s, j + 1, e);
      if (inner.includes('alert') || inner.includes('eval') || inner.includes('prompt') || inner.includes('confirm') || inner.includes('atob') || inner.includes('constructor')) anySink = true;
      // a computed property of a global object that is then called: top[…](1), window[…](…)
      if (GLOBALS.has(last) && s.charCodeAt(e + 1) === 0x28) anySink = true;
      last = inner;
      j = e + 1;
    } else break;
    let k = j;
    while (k < stop && (s.charCodeAt(k) === 0x20 || s.charCodeAt(k) === 0x09)) k++;
    // optional chaining `a?.b`, `a?.[…]`, `alert?.(1)` reads as `.`/`[`/`(`
    if (s.charCodeAt(k) === 0x3f && s.charCodeAt(k + 1) === 0x2e) {
      const d = s.charCodeAt(k + 2);
      if (d === 0x28 || d === 0x5b || d === 0x60) k += 2;
      else {
        j = k + 2;
        continue;
      }
    }
    if (s.charCodeAt(k) === 0x2e || s.charCodeAt(k) === 0x5b) {
      j = s.charCodeAt(k) === 0x2e ? k + 1 : k;
      continue;
    }
    j = k;
    break;
  }
  if (!anySink) return null;
  const c = s.charCodeAt(j);
  // `confirm (twice) please` is prose: with a space before `(`, the arguments and what follows must read as code
  if (c === 0x28 && j > i && (s.charCodeAt(j - 1) === 0x20 || s.charCodeAt(j - 1) === 0x09) && !codeArgs(s, j)) return null;
  if ((c === 0x28 || c === 0x60) && (SINK_CALL.has(last) || last.length === 0 || !SINK_ASSIGN.has(last))) return last || 'computed';
  if (c === 0x3d && s.charCodeAt(j + 1) !== 0x3d && SINK_ASSIGN.has(last)) return `${last}=`;
  return null;
}

/**
 * True when the parenthesised group opening at `open` reads as call arguments: no two words or numbers in a
 * row inside it (`(your email)` is prose), and no word right after its `)` on the same line (`f(x) y` is not
 * JS; `(twice) please` is prose). Strings are skipped. Bounded to 128 chars; an unclosed group counts as code
 * (payloads are cut at the injection point).
 */
function codeArgs(s: string, open: number): boolean {
  const stop = Math.min(s.length, open + 128);
  let depth = 0;
  let operand = false;
  for (let k = open; k < stop; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x22 || c === 0x27 || c === 0x60) {
      let e = k + 1;
      while (e < stop && s.charCodeAt(e) !== c) e++;
      if (operand) return false;
      operand = true;
      k = e;
      continue;
    }
    if (isIdent(c)) {
      if (operand) return false;
      const st = k;
      while (k + 1 < stop && (isIdent(s.charCodeAt(k + 1)) || s.charCodeAt(k + 1) === 0x2e)) k++;
      const w = s.slice(st, k + 1).toLowerCase();
      // a number with a unit (`30s`, `2nd`) is prose, not a JS literal (`0x1f`, `1e3`, `10n` are)
      if (c >= 0x30 && c <= 0x39 && !numericLiteral(w)) return false;
      operand = !JS_OPERATOR_WORDS.has(w);
      continue;
    }
    if (c === 0x20 || c === 0x09) continue;
    if (c > 0x7e) return false;
    operand = false;
    if (c === 0x28) depth++;
    else if (c === 0x29 && --depth === 0) {
      let e = k + 1;
      while (e < s.length && (s.charCodeAt(e) === 0x20 || s.charCodeAt(e) === 0x09)) e++;
      return !(e < s.length && (isIdent(s.charCodeAt(e)) || s.charCodeAt(e) > 0x7e));
    }
  }
  return true;
}

/** A JS numeric literal, lower-case (`42`, `1.5`, `0x1f`, `0b10`, `1e3`, `10n`). */
function numericLiteral(w: string): boolean {
  const radix = w.length > 2 && w.charCodeAt(0) === 0x30 && (w[1] === 'x' || w[1] === 'o' || w[1] === 'b');
  for (let k = radix ? 2 : 0; k < w.length; k++) {
    const c = w.charCodeAt(k);
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || (radix && c >= 0x61 && c <= 0x66)) continue;
    if ((c === 0x65 && !radix) || (c === 0x6e && k === w.length - 1)) continue;
    return false;
  }
  return true;
}

/** Words after which an operand follows: a word then a word is prose unless the first is one of these. */
const JS_OPERATOR_WORDS = new Set(['new', 'typeof', 'void', 'delete', 'in', 'instanceof', 'await', 'yield', 'return', 'throw', 'var', 'let', 'const', 'of', 'else', 'do', 'case']);

/** Dialog/eval sinks that run when passed as a value (`{valueOf:alert}`, `[alert][0](1)`, `onerror=alert`). */
const DIALOG_SINKS = new Set(['alert', 'prompt', 'confirm', 'eval']);

/** The ASCII letters of `s[a..b)`, lower-cased (`'co'+'okie'` → `cookie`). */
function lettersOnly(s: string, a: number, b: number): string {
  let out = '';
  for (let k = a; k < b; k++) {
    const c = lowerAscii(s.charCodeAt(k));
    if (c >= 0x61 && c <= 0x7a) out += String.fromCharCode(c);
  }
  return out;
}

/**
 * A read of client-side secrets at `i`: `document.cookie`, `document['cookie']`, `document.domain` (also behind
 * a window alias, `top.document.cookie`), `localStorage`/`sessionStorage`. Exfiltration payloads read them
 * without calling a dialog (`'+document.cookie+'`). Bounded to 64 chars; `s` is not lower-cased.
 */
export function secretReadAt(s: string, i: number): string | null {
  const stop = Math.min(s.length, i + 64);
  let j = i;
  let prev = '';
  while (j < stop) {
    const st = j;
    while (j < stop && isIdent(s.charCodeAt(j))) j++;
    let w = s.slice(st, j).toLowerCase();
    if (w.length === 0 && s.charCodeAt(j) === 0x5b) {
      // computed member with a literal: ['cookie']
      let e = j + 1;
      while (e < stop && s.charCodeAt(e) !== 0x5d) e++;
      if (e >= stop) return null;
      w = lettersOnly(s, j + 1, e);
      j = e + 1;
    }
    if (w.length === 0) return null;
    if (w === 'localstorage' || w === 'sessionstorage') return w;
    if (prev === 'document' && (w === 'cookie' || w === 'domain')) return `document.${w}`;
    if (!(GLOBALS.has(w) || w === 'document')) return null;
    prev = w;
    if (s.charCodeAt(j) === 0x2e) j++;
    else if (s.charCodeAt(j) === 0x3f && s.charCodeAt(j + 1) === 0x2e) j += 2;
    else if (s.charCodeAt(j) !== 0x5b) return null;
  }
  return null;
}

/**
 * Reads the text at `i` as a run of JavaScript tokens (up to `stop`) and returns the first sink it reaches: a
 * call or sink assignment ({@link sinkAt}), a member call/assignment after any expression (`new Image().src=…`,
 * `x.open(…)`), a secret read ({@link secretReadAt}) or a dialog passed as a value. It gives up (null) as soon
 * as the text stops looking like code, which is what keeps prose out: two words in a row without an operator
 * between them (unless the first is an operator keyword such as `new`, `typeof`, `in`), a character that
 * cannot occur in JS outside a string (non-ASCII letters, `#`, `@`), an unterminated string, or a `//`
 * comment (the end of an injected statement). With `requireOp`, the first token must be an operator, a
 * separator or a line break (the quote that precedes `i` then closed a string). Linear in `stop - i`.
 */
export function jsRun(s: string, i: number, stop: number, requireOp: boolean): string | null {
  let sawOp = !requireOp;
  let operand = false; // the last token was an identifier, number or string
  let punct = 0; // the last punctuation character (0 after an operand)
  while (i < stop) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0xa0 || c === 0x2028 || c === 0x2029) {
      // a line terminator separates statements (automatic semicolon insertion)
      if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) {
        sawOp = true;
        operand = false;
      }
      i++;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2f) return null;
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a) {
      const e = s.indexOf('*/', i + 2);
      if (e === -1 || e >= stop) return null;
      i = e + 2;
      continue;
    }
    if (c === 0x22 || c === 0x27 || c === 0x60) {
      if (!sawOp || operand) return null;
      let k = i + 1;
      while (k < stop && s.charCodeAt(k) !== c) k += s.charCodeAt(k) === 0x5c ? 2 : 1;
      if (k >= stop) return null;
      i = k + 1;
      operand = true;
      punct = 0;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) {
      if (!sawOp || operand) return null;
      while (i < stop && (isIdent(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e)) i++;
      operand = true;
      punct = 0;
      continue;
    }
    if (isIdentStart(c)) {
      // `${` outside a literal is no JS: the text is template-literal content of a snippet, not a breakout
      if (c === 0x24 && s.charCodeAt(i + 1) === 0x7b) return null;
      let j = i;
      while (j < stop && isIdent(s.charCodeAt(j))) j++;
      const w = s.slice(i, j).toLowerCase();
      if (w === 'in' || w === 'instanceof') sawOp = true; // binary operator words: `'in alert(1)in'`
      else if (!sawOp || operand) return null;
      let k = j;
      while (k < stop && (s.charCodeAt(k) === 0x20 || s.charCodeAt(k) === 0x09)) k++;
      const next = k < stop ? s.charCodeAt(k) : -1;
      if (punct === 0x2e) {
        // member of any expression: `….src=`, `….open(`, `…?.write(`
        if (next === 0x3d && s.charCodeAt(k + 1) !== 0x3d && s.charCodeAt(k + 1) !== 0x3e && SINK_ASSIGN.has(w)) return `${w}=`;
        if ((next === 0x28 || next === 0x60) && SINK_CALL.has(w) && w !== 'console' && w !== '$') return w;
      } else {
        const sink = sinkAt(s, i);
        if (sink) return sink;
        const secret = secretReadAt(s, i);
        if (secret) return secret;
        if (DIALOG_SINKS.has(w) && (punct === 0x3a || punct === 0x3d || punct === 0x2c || punct === 0x28 || punct === 0x5b) && (next === 0x7d || next === 0x29 || next === 0x2c || next === 0x3b || next === 0x5d)) return `${w} passed as a value`;
      }
      operand = !JS_OPERATOR_WORDS.has(w);
      punct = 0;
      i = j;
      continue;
    }
    if (c === 0x3f && s.charCodeAt(i + 1) === 0x2e && !(s.charCodeAt(i + 2) >= 0x30 && s.charCodeAt(i + 2) <= 0x39)) {
      punct = 0x2e; // optional chaining
      operand = false;
      i += 2;
      continue;
    }
    if (c < 0x7f && c !== 0x23 && c !== 0x40) {
      // punctuation: an operator, separator or bracket (`(`, `[`, `.` do not close a string by themselves)
      if (c !== 0x28 && c !== 0x5b && c !== 0x2e && c !== 0x5c) sawOp = true;
      operand = false;
      punct = c;
      i++;
      continue;
    }
    return null;
  }
  return null;
}

/**
 * JavaScript-context breakouts: a quote that closes a JS string literal, then an operator or statement
 * separator, then JS statements that reach a sink (`";alert(1)//`, `'-alert(1)-'`, `\";confirm(1)//`,
 * `'}alert(1);{'`, `';x=document.cookie;fetch(…)//`, read by {@link jsRun}), and template-literal / `${}`
 * expressions that call a sink (`${alert(1)}`). Plain `${org.name}` placeholders are not reported. Linear
 * (each quote or `${` starts a bounded look-ahead).
 */
export function scanJsBreakout(s: string): string | null {
  const n = s.length;
  let closeSearchedTo = 0;
  // quotes of each kind seen so far: at an even count, a quote would open a string if the value were code on
  // its own; a value reflected inside a page's string closes that string there instead (the breakout). In
  // code snippets and prose that quote opens a string or is an apostrophe, and {@link jsRun} then stops.
  let dq = 0;
  let sq = 0;
  let bq = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let closesOwn = false; // the quote closes a string the value itself opened (odd count)
    if (c === 0x60 && s.charCodeAt(i + 1) === 0x60 && s.charCodeAt(i + 2) === 0x60) {
      // a Markdown code fence: not a quote (it would flip the parity of every backtick after it)
      while (i + 1 < n && s.charCodeAt(i + 1) === 0x60) i++;
      continue;
    }
    if (c === 0x22 || c === 0x27 || c === 0x60) {
      const seen = c === 0x22 ? dq++ : c === 0x27 ? sq++ : bq++;
      closesOwn = seen % 2 === 1;
      if (!closesOwn) {
        const hit = jsRun(s, i + 1, Math.min(n, i + 256), true);
        if (hit) return `JS string breakout then ${hit}`;
      }
    }
    if ((c === 0x3b || c === 0x7d) && i + 1 < n && isIdentStart(s.charCodeAt(i + 1))) {
      // statement boundary then a dialog/eval call: `;alert(1)`, `}alert(1);{`
      const sink = sinkAt(s, i + 1);
      if (sink && START_SINKS.has(sink)) return `statement then ${sink}`;
    }
    if (c === 0x22 || c === 0x27 || c === 0x60) {
      // after the closing quote: separators/operators, optional parens, then a sink. After a quote that closes
      // the value's own string, code snippets (`alert('Saved'); location.reload()`) look the same, except that
      // people write spaces and payloads rarely do: there the operators must follow the quote without space.
      let j = i + 1;
      let ops = 0;
      const stop = Math.min(n, i + 24);
      while (j < stop) {
        const d = s.charCodeAt(j);
        if (d === 0x20 || d === 0x09 || d === 0x0a || d === 0x0d) {
          if (closesOwn) break;
          j++;
          continue;
        }
        if (d === 0x3b || d === 0x2b || d === 0x2d || d === 0x2a || d === 0x2f || d === 0x7c || d === 0x26 || d === 0x2c || d === 0x29 || d === 0x7d || d === 0x5d || d === 0x3f || d === 0x3a || d === 0x25 || d === 0x5e || d === 0x3c || d === 0x3e || d === 0x7e || d === 0x21 || d === 0x7b || d === 0x28 || d === 0x5c) {
          if (d !== 0x28 && d !== 0x5c) ops++;
          j++;
          continue;
        }
        break;
      }
      if (ops > 0 && j < n && isIdentStart(s.charCodeAt(j))) {
        const sink = sinkAt(s, j);
        if (sink) return `JS string breakout then ${sink}`;
      }
    } else if (c === 0x24 && s.charCodeAt(i + 1) === 0x7b) {
      let j = i + 2;
      while (j < n && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x28)) j++;
      const sink = sinkAt(s, j);
      if (sink) return `template expression \${${sink}}`;
      if (bq === 0) {
        // `${…}` without the backtick that opens its literal: it lands in a page's template literal, where
        // any sink or secret read in the expression runs (`${x=document.cookie,fetch('//e/'+x)}`). Inside a
        // value's own literal (a code snippet) only the first-token check above applies.
        let e = i + 2;
        const cap = Math.min(n, i + 256);
        for (let depth = 0; e < cap; e++) {
          const d = s.charCodeAt(e);
          if (d === 0x7b) depth++;
          else if (d === 0x7d && depth-- === 0) break;
        }
        const hit = jsRun(s, i + 2, e, false);
        if (hit) return `template expression reaching ${hit}`;
      }
    } else if (c === 0x7b && s.charCodeAt(i + 1) === 0x7b && i >= closeSearchedTo) {
      // client-side template injection (AngularJS sandbox escapes): {{constructor.constructor('…')()}}
      const e = s.indexOf('}}', i + 2);
      closeSearchedTo = e === -1 ? n : e; // later `{{` before this point share the same close
      const body = s.slice(i + 2, e === -1 ? Math.min(n, i + 512) : Math.min(e, i + 512)).toLowerCase();
      if (body.includes('constructor') && body.includes('(')) return 'template expression reaching constructor';
      if (body.includes('$eval(') || body.includes('$on.') || body.includes('alert(')) return 'client-side template expression';
    }
  }
  return null;
}

const MIXED_ON = /O[Nn]|oN/;

const QUOTES = new Set([0x22, 0x27, 0x60, 0x2018, 0x2019, 0x201c, 0x201d, 0x2032, 0x2033]);

/**
 * Attribute injection without a new tag: a quote that closes an attribute value, then an event-handler
 * attribute (`" onmouseover=alert(1)`, `'autofocus onfocus=…`, `"/onload=…`), or a known event handler
 * after whitespace whose value calls a sink. Linear.
 */
export function scanAttributeInjection(input: string): string | null {
  // case-insensitive (`" ONMOUSEOVER=…`): work on a lower-cased copy only when an upper-case `on` occurs
  const s = MIXED_ON.test(input) ? input.toLowerCase() : input;
  const n = s.length;
  let i = s.indexOf('on');
  while (i !== -1) {
    // read the name
    let j = i + 2;
    while (j < n && j < i + 40) {
      const c = s.charCodeAt(j) | 0x20;
      if (c < 0x61 || c > 0x7a) break;
      j++;
    }
    const name = s.slice(i, j).toLowerCase();
    let k = j;
    while (k < n && (s.charCodeAt(k) === 0x20 || s.charCodeAt(k) === 0x09 || s.charCodeAt(k) === 0x0a || s.charCodeAt(k) === 0x0d)) k++;
    if (j - i >= 5 && s.charCodeAt(k) === 0x3d && (i === 0 || !isIdent(s.charCodeAt(i - 1)))) {
      // what precedes the name: spaces, slashes and other attributes back to a quote
      let b = i - 1;
      while (b >= 0 && b > i - 256 && (s.charCodeAt(b) <= 0x20 || s.charCodeAt(b) === 0x2f)) b--;
      let back = b;
      // skip over bare attributes such as `autofocus`
      while (back >= 0 && back > i - 256 && isIdent(s.charCodeAt(back))) back--;
      while (back >= 0 && back > i - 256 && s.charCodeAt(back) <= 0x20) back--;
      const prev = b >= 0 ? s.charCodeAt(b) : -1;
      const prev2 = back >= 0 ? s.charCodeAt(back) : -1;
      if ((QUOTES.has(prev) || QUOTES.has(prev2)) && isHandlerName(name)) return `attribute injection ${name}=`;
      if (EVENTS.has(name) && (b < 0 || b < i - 1)) {
        let v = k + 1;
        while (v < n && s.charCodeAt(v) <= 0x20) v++;
        if (QUOTES.has(s.charCodeAt(v))) v++;
        if (v < n && isIdentStart(s.charCodeAt(v)) && sinkAt(s, v)) return `event handler ${name}= calling a sink`;
      }
    } else if (EVENTS.has(name) && s.slice(k, k + 5).toUpperCase() === 'CDATA' && (i === 0 || !isIdent(s.charCodeAt(i - 1)))) {
      // DTD attribute-list declaration giving an element a handler: `onerror CDATA "alert(1)"`
      return `DTD declares handler ${name}`;
    }
    i = s.indexOf('on', i + 2);
  }
  return null;
}

/** Dialog/eval sinks that a value may not start with (a value reflected into a script block runs). */
const START_SINKS = new Set(['alert', 'prompt', 'confirm', 'eval', 'settimeout', 'setinterval', 'execscript', 'constructor', 'function']);

/**
 * JS evaluated where the value lands in a script block: the value starts with a sink call (`alert(1)`,
 * ``alert`1` ``, `(alert)(1)`, `top['al'+'ert'](1)`, `window.eval(…)`), or passes a dialog sink as a value
 * (`[1].find(alert)`, `a=alert,a(1)`). Linear.
 */
export function scanJsExpression(s: string): string | null {
  let i = 0;
  const n = s.length;
  while (i < n && (s.charCodeAt(i) <= 0x20 || s.charCodeAt(i) === 0x28 || s.charCodeAt(i) === 0x3b)) i++;
  if (i < n && isIdentStart(s.charCodeAt(i))) {
    const sink = sinkAt(s, i);
    if (sink) {
      const base = sink.endsWith('=') ? sink.slice(0, -1) : sink;
      const q = s.charCodeAt(i + sink.length);
      if (base === 'location' && sink.endsWith('=') && (q === 0x22 || q === 0x27 || q === 0x60)) return 'script expression location=';
      if (START_SINKS.has(base) || base === 'computed' || s.slice(i, i + 4).toLowerCase() === 'top[' || s.slice(i, i + 7).toLowerCase() === 'window.' || s.slice(i, i + 7).toLowerCase() === 'window[') return `script expression ${sink}`;
    }
    // (alert)(1)
    let j = i;
    while (j < n && isIdent(s.charCodeAt(j))) j++;
    const w = s.slice(i, j).toLowerCase();
    if (START_SINKS.has(w) && s.charCodeAt(j) === 0x29 && s.charCodeAt(j + 1) === 0x28) return `script expression (${w})()`;
  }
  const lowerAll = s.length <= 65536 ? s.toLowerCase() : s.slice(0, 65536).toLowerCase();
  if (lowerAll.indexOf('activexobject') !== -1 && lowerAll.indexOf('new') !== -1) return 'ActiveXObject construction';
  // member call of a dialog/eval sink: parent.alert(1), window.eval(x), top.confirm`1`
  for (const name of ['.alert', '.prompt', '.confirm', '.eval']) {
    let from = 0;
    for (;;) {
      const p = lowerAll.indexOf(name, from);
      if (p === -1) break;
      from = p + 1;
      const q = p + name.length;
      let k = q;
      while (k < lowerAll.length && lowerAll.charCodeAt(k) === 0x20) k++;
      if (p > 0 && isIdent(lowerAll.charCodeAt(p - 1)) && (lowerAll.charCodeAt(k) === 0x28 || lowerAll.charCodeAt(k) === 0x60)) return `member call ${name.slice(1)}`;
    }
  }
  // sink passed as a value: (alert) ,alert) =alert,
  for (const name of ['alert', 'prompt', 'confirm', 'eval']) {
    let from = 0;
    const lower = s.length <= 65536 ? s : s.slice(0, 65536);
    for (;;) {
      const p = lower.indexOf(name, from);
      if (p === -1) break;
      from = p + 1;
      const before = p > 0 ? lower.charCodeAt(p - 1) : -1;
      const after = p + name.length < lower.length ? lower.charCodeAt(p + name.length) : -1;
      if ((before === 0x28 || before === 0x3d || before === 0x2c) && (after === 0x29 || after === 0x2c || after === 0x3b)) return `sink ${name} passed as a value`;
    }
  }
  return null;
}

/** IE-only handler-like names found in XSS event lists (not `on…` but bound the same way). */
const BARE_HANDLERS = new Set(['fscommand', 'seeksegmenttime']);

/**
 * A value that is exactly an event-handler attribute name (`onload`, `onMouseOver`, `FSCommand`): reflected
 * where an attribute name goes, it adds a handler to the element (attribute-name injection). Whole-value
 * match only, letters only, from the known event list ({@link EVENTS}).
 */
export function bareEventName(s: string): string | null {
  const v = s.trim();
  if (v.length < 5 || v.length > 40) return null;
  const l = v.toLowerCase();
  for (let i = 0; i < l.length; i++) {
    const c = l.charCodeAt(i);
    if (c < 0x61 || c > 0x7a) return null;
  }
  if (EVENTS.has(l) || BARE_HANDLERS.has(l) || (l.startsWith('on') && EVENT_EXTRA.has(l.slice(2)))) return `event handler name ${v}`;
  return null;
}

/** Legacy IE/SMIL events (without `on`) seen in handler lists besides {@link EVENTS}. */
const EVENT_EXTRA = new Set([
  'afterupdate', 'beforeeditfocus', 'beforeupdate', 'dragdrop', 'mediacomplete', 'mediaerror', 'outofsync', 'redo',
  'resizeend', 'resizestart', 'resume', 'reverse', 'rowdelete', 'rowinserted', 'rowsenter', 'seek', 'stop',
  'syncrestored', 'timeerror', 'trackchange', 'urlflip', 'undo', 'mozfullscreenchange', 'webkitmouseforcechanged',
  'webkitmouseforcedown', 'webkitmouseforceup', 'webkitmouseforcewillbegin', 'webkitplaybacktargetavailabilitychanged',
  'webkitwillrevealbottom', 'msgesturedoubletap', 'msgestureend', 'msgesturehold', 'msgesturestart', 'msgesturetap',
  'mspointercancel', 'mspointerdown', 'mspointerenter', 'mspointerleave', 'mspointermove', 'mspointerout',
  'mspointerover', 'mspointerup', 'mssitemodejumplistitemremoved', 'msthumbnailclick', 'pointerlockchange',
  'devicelight', 'devicemotion', 'deviceorientation', 'deviceproximity', 'orientationchange', 'userproximity',
  'beforematch', 'beforetoggle', 'cancel', 'content', 'prerenderingchange', 'navigate', 'formdata', 'unhandledrejection',
  'languagechange', 'rejectionhandled', 'visibilitychange', 'webkitanimationend', 'webglcontextlost',
]);

/** Literal alternatives, case-insensitive (linear): a cheap gate before lower-casing. */
const EXPR_HINT = /ession|behavior/i;
const SCRIPT_COLON = /script:/i;

/** CSS `expression(` after a property colon anywhere in the value (`style=xss:expression(alert(1))`, IE). */
export function cssExpression(s: string): string | null {
  if (!EXPR_HINT.test(s)) return null;
  const lower = s.length > 65536 ? s.slice(0, 65536).toLowerCase() : s.toLowerCase();
  const q = squash(lower, 65536);
  const i = q.indexOf('expression(');
  if (i > 0 && (q.charCodeAt(i - 1) === 0x3a || q.charCodeAt(i - 1) === 0x3d)) return 'css expression()';
  return null;
}

/**
 * Base64-encoded markup: a base64 run of at least 16 characters starting with `P[A-P]` (the encoding of a
 * leading `<`), decoded and scanned as HTML (`PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+` is `<svg onload=alert(1)>`, used in
 * `data:` URLs and by decoders upstream). Linear: one decode of the run.
 */
export function scanBase64Markup(s: string): string | null {
  let i = s.indexOf('P');
  while (i !== -1) {
    const c = s.charCodeAt(i + 1);
    const before = i > 0 ? s.charCodeAt(i - 1) : 0x20;
    if (c >= 0x41 && c <= 0x50 && !isB64(before)) {
      let j = i;
      while (j < s.length && isB64(s.charCodeAt(j))) j++;
      if (j - i >= 16) {
        const text = Buffer.from(s.slice(i, j).replaceAll('%2B', '+').replaceAll('%3D', '='), 'base64').toString('latin1');
        if (text.charCodeAt(0) === 0x3c) {
          const r = scanHtml(text);
          if (r) return `base64-encoded ${r}`;
        }
      }
      i = s.indexOf('P', j);
    } else i = s.indexOf('P', i + 1);
  }
  return null;
}

function isB64(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f || c === 0x3d || c === 0x2d || c === 0x5f;
}

/** UTF-7 encoded markup (`+ADw-script+AD4-`: `+ADw-` is `<`), which old IE sniffed and executed (CVE-2008-2939 class). */
export function scanUtf7(s: string): string | null {
  let i = s.indexOf('ADw-');
  while (i !== -1) {
    const b = i > 0 ? s.charCodeAt(i - 1) : -1;
    const c = s.charCodeAt(i + 4) | 0x20;
    if ((b === 0x2b || b === 0x20) && c >= 0x61 && c <= 0x7a) return 'UTF-7 encoded markup';
    i = s.indexOf('ADw-', i + 4);
  }
  return null;
}

/** US-ASCII 7-bit markup (`¼script¾`: 0xBC/0xBE read with the high bit stripped are `<`/`>`; old IE). */
export function scanSevenBit(s: string): string | null {
  const i = s.indexOf('\u00bc');
  if (i === -1) return null;
  const c = s.charCodeAt(i + 1) | 0x20;
  return c >= 0x61 && c <= 0x7a && s.indexOf('\u00be', i) !== -1 ? 'US-ASCII 7-bit encoded markup' : null;
}

/**
 * Context-escape polyglots: within 32 characters, at least four different context terminators among a
 * double quote, a single quote, a backtick, `-->` (HTML comment), `]]>` (CDATA), `*\/` (CSS/JS comment) and
 * `</` (end tag) — a string built to break out of whatever context it lands in (XSS polyglots, e.g.
 * `"'\`-->]]>]</div>`). Linear (sliding window of last positions).
 */
export function scanPolyglot(s: string): string | null {
  const last = [-1e9, -1e9, -1e9, -1e9, -1e9, -1e9, -1e9];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let k = -1;
    if (c === 0x22) k = 0;
    else if (c === 0x27) k = 1;
    else if (c === 0x60) k = 2;
    else if (c === 0x3e && s.charCodeAt(i - 1) === 0x2d && s.charCodeAt(i - 2) === 0x2d) k = 3;
    else if (c === 0x3e && s.charCodeAt(i - 1) === 0x5d && s.charCodeAt(i - 2) === 0x5d) k = 4;
    else if (c === 0x2f && s.charCodeAt(i - 1) === 0x2a) k = 5;
    else if (c === 0x2f && s.charCodeAt(i - 1) === 0x3c) k = 6;
    if (k === -1) continue;
    last[k] = i;
    let m = 0;
    for (const p of last) if (i - p <= 32) m++;
    if (m >= 4) return 'context-escape polyglot';
  }
  return null;
}

/**
 * A value that is itself a script URL (`javascript:alert(1)`, ` java\tscript:…`, `data:text/html;base64,…`),
 * as used in `href`/`src`/redirect parameters, or a script URL anywhere followed by code (`… javascript:alert(1)`).
 * Prose such as "javascript: the good parts" is not reported.
 */
export function scanScriptUrl(s: string): string | null {
  let k = 0;
  while (k < s.length && (s.charCodeAt(k) <= 0x20 || s.charCodeAt(k) === 0x22 || s.charCodeAt(k) === 0x27)) k++;
  const sc = isScriptUrl(schemeAt(s, k));
  if (sc) return `${sc} URL`;
  // anywhere: javascript: followed by code
  if (!SCRIPT_COLON.test(s)) return null;
  const lower = s.length > 4096 ? s.slice(0, 65536).toLowerCase() : s.toLowerCase();
  let from = 0;
  for (;;) {
    const i = lower.indexOf('script:', from);
    if (i === -1) return null;
    from = i + 1;
    const st = i >= 4 && lower.startsWith('java', i - 4) ? i - 4 : i >= 2 && lower.startsWith('vb', i - 2) ? i - 2 : -1;
    if (st === -1) continue;
    let j = i + 7;
    while (j < s.length && s.charCodeAt(j) <= 0x20) j++;
    if (j < s.length && isIdentStart(s.charCodeAt(j)) && sinkAt(s, j)) return 'script URL with code';
    if (s.startsWith('//', j) || s.charCodeAt(j) === 0x28) return 'script URL with code';
  }
}
