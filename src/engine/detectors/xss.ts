import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { scanHtmlInjection, scanJsStatement, scanXmlnsDeclaration } from './html-inject.ts';
import { scanBase64Markup, bareEventName, cssExpression, scanPolyglot, scanSevenBit, scanAttributeInjection, scanHtml, scanJsBreakout, scanJsExpression, scanScriptUrl, scanUtf7, sinkAt } from './xss-scan.ts';

/**
 * Cross-site scripting rules (OWASP CRS REQUEST-941-APPLICATION-ATTACK-XSS, CWE-79), HTML- and JS-context
 * aware (see `xss-scan.ts`):
 * - `941100` (PL1, critical): markup that executes script, from an HTML tokenizer: `<script>`, event-handler
 *   attributes, script URLs in attributes, dangerous CSS, embedding elements, `<base href>`, meta refresh, SMIL;
 *   also filter evasions: tag names split by character references or controls (`<scr&#x9;ipt>`) and fuzzing
 *   templates with bracketed separator slots (`<img[a]src[b]=x[c]onerror=…>`).
 * - `941170` (PL1, critical): a value that is a script URL (`javascript:`, `vbscript:`, `data:text/html`),
 *   with whitespace/control characters and entities inside the scheme.
 * - `941121` (PL1, critical): a whole value that is an event-handler name (`onload`, `FSCommand`): attribute-name
 *   injection (the one XSS rule with a known false-positive class: APIs whose values name DOM events).
 * - `941190` (PL1, critical): a value that is only an escaped `<` (`&#x3C;`, `\u003c`, `%253C`): a filter probe.
 * - `941370` (PL1, critical): JS-context breakouts (`";alert(1)//`, `'+document.cookie+'`,
 *   `';x=document.cookie;fetch(…)//`: the text after a breakout quote is read as JS statements up to the first
 *   sink call/assignment or secret read), `${…}` template expressions and `{{…constructor…}}` client-side
 *   template injection that reach a sink.
 * - `941160` (PL1, critical): HTML injection into a URL-borne value (path, query, urlencoded form, cookie,
 *   inspected header): a tag of a known HTML/SVG/MathML element, a comment, markup declaration or processing
 *   instruction (OWASP CRS 941160 "NoScript XSS InjectionChecker: HTML Injection", PL1; see `html-inject.ts`).
 * - `941161` (PL2, error): the same in body values that may carry rich text (JSON, multipart, XML, text):
 *   HTML e-mail templates and rich-text fields are normal in JSON APIs, so only stricter policies flag them,
 *   and at severity error (4 points, below the default threshold 5) a lone rich-text value does not block;
 *   with a second finding (e.g. `941320` `<form>`) it does.
 * - `941371` (PL1, critical): JS statements in a URL-borne value: member calls/assignments on browser globals
 *   (`navigator.vibrate(…)`, `document.write(…)`), jQuery calls (`$("a").click(…)`), `function f(){`. A
 *   generalisation of CRS 941180 (node-validator deny list: `document.cookie`, `document.write`,
 *   `window.location`, `.innerHTML`), kept precise by requiring a call or a sink assignment.
 * - `941320` (PL2, error): risky HTML elements without an executing attribute (`<iframe>`, `<svg>`, `<form>`,
 *   `<object>`, `<math>`, `<embed>`, `<meta>`, `<link>`, `<base>`, `<marquee>`, `<isindex>`).
 * - `941390` (PL2, error): a call of a JS dialog/eval sink anywhere in the value (`alert(1)`, `eval(…)`).
 *
 * Two transformation chains run: one more percent-decoding pass with `+` as a space (markup as sent, decoded as
 * the OWASP CRS does), and the full decode keeping `+` (a JS operator): HTML entities, JS and CSS escapes,
 * NFKC for full-width `＜`, so entity-encoded and escaped variants are judged too.
 */

const TAGS = ['OWASP_CRS/ATTACK-XSS', 'CWE-79', 'attack-xss', 'capec/1000/152/242'] as const;

/** Parts that can be reflected into a page (CRS: ARGS, ARGS_NAMES, cookies, User-Agent, Referer, path, XML). */
export const XSS_TARGETS: readonly Location['kind'][] = [
  'query', 'query_name', 'form', 'form_name', 'json', 'json_key', 'cookie', 'header', 'multipart', 'multipart_name',
  'filename', 'xml', 'body', 'path_segment',
];

const CHAINS: readonly (readonly TransformName[])[] = [
  ['urlDecodeUni', 'utf8ToUnicode', 'removeNulls'],
  ['urlDecodePercent', 'utf8ToUnicode', 'htmlEntityDecode', 'jsDecode', 'cssDecode', 'unicodeNormalize', 'removeNulls'],
];

/**
 * The full-decode chain alone, for the markup-injection and JS-statement rules: it keeps every literal `<`,
 * `(` and `.` of the raw value and adds the decoded forms (`&lt;form&gt;`, `\x3chead>`, full-width `＜`), so the
 * raw chain would add nothing but a second invocation per part.
 */
const FULL_DECODE: readonly (readonly TransformName[])[] = [CHAINS[1]!];

/**
 * Locations that arrive in the URL or its companions (path, query, urlencoded form body, cookies, inspected
 * headers): values there are identifiers and short text, never markup, so markup is injection at PL1.
 */
export const URL_BORNE_TARGETS: readonly Location['kind'][] = ['query', 'query_name', 'form', 'form_name', 'cookie', 'header', 'path_segment'];

/** Body locations that may carry rich text or markup legitimately (JSON, multipart, XML, text bodies). */
export const RICH_BODY_TARGETS: readonly Location['kind'][] = ['json', 'json_key', 'multipart', 'multipart_name', 'filename', 'xml', 'body'];

/** True when `s` contains none of the characters every XSS vector needs. */
function inert(s: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (s.indexOf(chars[i]!) !== -1) return false;
  return true;
}

const RISKY_ELEMENTS = new Set(['iframe', 'frame', 'svg', 'form', 'object', 'math', 'embed', 'meta', 'link', 'base', 'marquee', 'isindex', 'applet', 'xss', 'frameset', 'style', 'template', 'portal', 'xml', 'vmlframe']);

/** First risky element name opened in `s` (PL2 rule 941320). Linear. */
export function riskyElement(s: string): string | null {
  let i = s.indexOf('<');
  while (i !== -1) {
    let j = i + 1;
    while (j < s.length && j < i + 12) {
      const c = s.charCodeAt(j) | 0x20;
      if (c < 0x61 || c > 0x7a) break;
      j++;
    }
    if (j > i + 1) {
      const name = s.slice(i + 1, j).toLowerCase();
      const after = j < s.length ? s.charCodeAt(j) : 0x3e;
      if (RISKY_ELEMENTS.has(name) && (after === 0x3e || after === 0x20 || after === 0x2f || after === 0x09 || after === 0x0a)) return `<${name}>`;
    }
    i = s.indexOf('<', i + 1);
  }
  return null;
}

/** The XSS rule set. */
export const rules: readonly PartRule[] = [
  {
    kind: 'part',
    id: '941100',
    name: 'xss-executable-markup',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: CHAINS,
    pure: true,
    match(input) {
      const lt = input.indexOf('<') !== -1;
      if (lt) {
        const r = scanHtml(input);
        if (r) return r;
      }
      // attribute injection needs `on…=` (or a DTD `on… CDATA` declaration)
      if ((input.indexOf('=') !== -1 || input.indexOf('CDATA') !== -1) && (input.indexOf('on') !== -1 || input.indexOf('ON') !== -1 || input.indexOf('On') !== -1)) {
        const r = scanAttributeInjection(input);
        if (r) return r;
      }
      if (input.indexOf('ADw-') !== -1) {
        const r = scanUtf7(input);
        if (r) return r;
      }
      return cssExpression(input) ?? scanSevenBit(input) ?? (input.length >= 16 && input.indexOf('P') !== -1 ? scanBase64Markup(input) : null) ?? (lt || input.indexOf('-->') !== -1 || input.indexOf(']]>') !== -1 ? scanPolyglot(input) : null);
    },
  },
  {
    kind: 'part',
    id: '941170',
    name: 'xss-script-url',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: CHAINS,
    needs: ':', // the first guard of match
    pure: true,
    match(input) {
      if (input.indexOf(':') === -1) return null;
      return scanScriptUrl(input);
    },
  },
  {
    kind: 'part',
    id: '941370',
    name: 'xss-js-context-breakout',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: CHAINS,
    needs: '(`=.[', // the first guard of match
    pure: true,
    match(input) {
      // every breakout and expression needs a call `(`, a tagged template `` ` ``, an assignment `=`, or a
      // member access `.`/`[` (secret reads: `'+document.cookie+'`)
      if (inert(input, '(`=.[') || inert(input, '"\'`${(;')) return null;
      return scanJsBreakout(input) ?? scanJsExpression(input);
    },
  },
  {
    kind: 'part',
    id: '941160',
    name: 'xss-html-injection',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: URL_BORNE_TARGETS,
    transforms: FULL_DECODE,
    pure: true,
    match(input) {
      const markup = input.indexOf('<') !== -1 ? scanHtmlInjection(input) : null;
      return markup ?? (input.indexOf('xmlns') !== -1 ? scanXmlnsDeclaration(input) : null);
    },
  },
  {
    kind: 'part',
    id: '941161',
    name: 'xss-html-injection-body',
    category: 'xss',
    severity: 'error',
    paranoia: 2,
    tags: TAGS,
    targets: RICH_BODY_TARGETS,
    transforms: FULL_DECODE,
    match(input) {
      const markup = input.indexOf('<') !== -1 ? scanHtmlInjection(input) : null;
      return markup ?? (input.indexOf('xmlns') !== -1 ? scanXmlnsDeclaration(input) : null);
    },
  },
  {
    kind: 'part',
    id: '941371',
    name: 'xss-js-statement',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: URL_BORNE_TARGETS,
    transforms: FULL_DECODE,
    needs: '(=', // the first guard of match
    pure: true,
    match(input) {
      // every statement form needs a call `(` or an assignment `=`, and a member `.`, `$`, `jQuery` or `function`
      if (input.indexOf('(') === -1 && input.indexOf('=') === -1) return null;
      if (input.indexOf('.') === -1 && input.indexOf('$') === -1 && input.indexOf('function') === -1 && input.indexOf('jQuery') === -1) return null;
      return scanJsStatement(input);
    },
  },
  {
    kind: 'part',
    id: '941121',
    name: 'xss-event-handler-name-value',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: [CHAINS[0]!],
    pure: true,
    match(input) {
      // a whole value that is an event-handler attribute name (`onload`, `onMouseOver`): attribute-name
      // injection. APIs whose values legitimately name DOM events (form builders: `mode: "onChange"`) should
      // disable this rule for those parameters (`detection.exclusions[].parameters`) or globally.
      const c = input.charCodeAt(0) | 0x20;
      if (input.length < 5 || input.length > 42 || (c !== 0x6f && c !== 0x66 && c !== 0x73 && c !== 0x20)) return null;
      return bareEventName(input);
    },
  },
  {
    kind: 'part',
    id: '941190',
    name: 'xss-encoded-lt-probe',
    category: 'xss',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: [CHAINS[1]!],
    decodedOnly: true, // on an inert value the input is the raw value, which then is a plain `<`
    match(input, part) {
      // a value that is nothing but an escaped `<` (`&#x0003C;`, `\u003c`, `%253C`): an XSS filter probe
      if (input.length > 8 || part.value.length > 24) return null;
      const v = input.trim();
      return v === '<' && part.value.trim() !== '<' ? `encoded '<' probe ${JSON.stringify(part.value.slice(0, 24))}` : null;
    },
  },
  {
    kind: 'part',
    id: '941320',
    name: 'xss-risky-html-element',
    category: 'xss',
    severity: 'error',
    paranoia: 2,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: CHAINS,
    needs: '<', // the first guard of match
    pure: true,
    match(input) {
      if (input.indexOf('<') === -1) return null;
      return riskyElement(input);
    },
  },
  {
    kind: 'part',
    id: '941390',
    name: 'xss-js-sink-call',
    category: 'xss',
    severity: 'error',
    paranoia: 2,
    tags: TAGS,
    targets: XSS_TARGETS,
    transforms: CHAINS,
    needs: '(`', // the first guard of match
    pure: true,
    match(input) {
      if (input.indexOf('(') === -1 && input.indexOf('`') === -1) return null;
      for (const name of ['alert', 'prompt', 'confirm', 'eval', 'settimeout', 'setinterval', 'fromcharcode']) {
        const lower = input.toLowerCase();
        let from = 0;
        for (;;) {
          const i = lower.indexOf(name, from);
          if (i === -1) break;
          from = i + 1;
          const before = i === 0 ? 0x20 : lower.charCodeAt(i - 1);
          if ((before >= 0x61 && before <= 0x7a) || (before >= 0x30 && before <= 0x39) || before === 0x5f) continue;
          const hit = sinkAt(input, i);
          if (hit) return `call of ${hit}`;
        }
      }
      return null;
    },
  },
];
