import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { clip, isWordChar, isDigit, isSpace, NeedleSet, needsFrom } from './lib/text.ts';

/**
 * Server-side template injection (CWE-1336; PortSwigger "Server-side template injection", PayloadsAllTheThings
 * SSTI). Template placeholders are ordinary in API text (`${org.name}`, `{{event.source}}`), so a delimiter
 * alone never matches: the expression inside must *compute* something — a call, arithmetic (`7*7`,
 * `7*'7'`), an index into a dunder chain, or reference a dangerous template object (`self`, `request`,
 * `config`) — or the value must contain a known sandbox-escape gadget (`__globals__`, `getClass()`,
 * `freemarker.template.utility.Execute`, `#set(`).
 *
 * Rule ids (939xxx, unused by OWASP CRS; chosen for SSTI):
 * - `939100` computing expression inside template delimiters (`{{ }}`, `{% %}`, `${ }`, `#{ }`, `*{ }`,
 *   `<%= %>`, `@( )`, `{$ }`), PL1, critical.
 * - `939110` sandbox-escape and code-execution gadgets of Jinja2/Twig/Mako/Freemarker/Velocity/Thymeleaf/
 *   Spring EL/Smarty/ERB, PL1, critical.
 * - `939120` template statements `{% … %}` and filters (`{{ x | upper }}`), PL2, warning.
 */

const TAGS = ['OWASP_CRS/ATTACK-SSTI', 'CWE-1336', 'CWE-94', 'attack-ssti'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header', 'path'];

/** Two chains: with percent-decoding, and without it (`urlDecodeUni` turns the `+` of `{{1+2}}` into a space). */
const CHAINS: readonly (readonly TransformName[])[] = [
  ['urlDecodeRepeat', 'htmlEntityDecode', 'jsDecode', 'lowercase'],
  ['htmlEntityDecode', 'jsDecode', 'lowercase'],
];

/** Maximum expression length examined after an opening delimiter (bounded look-ahead keeps scans linear). */
const MAX_EXPR = 512;

/** Template objects whose bare reference leaks configuration or reaches code (Jinja2, Twig, Tornado, Flask). */
const DANGEROUS_OBJECTS: ReadonlySet<string> = new Set([
  'self', '_self', 'request', 'config', 'settings', 'cycler', 'joiner', 'namespace', 'lipsum', 'url_for',
  'get_flashed_messages', 'app', 'session', 'env', 'environ', '_context', 'handler',
]);

/** Sandbox-escape / RCE gadgets (lower-case). Sources: PayloadsAllTheThings SSTI, PortSwigger research. */
const GADGETS: readonly string[] = [
  '__class__', '__mro__', '__subclasses__', '__globals__', '__builtins__', '__import__', '__base__', '__bases__',
  '__init__', '__getitem__', '__dict__', '_templatereference__context', '_module.', '.getclass()', 'getclass().',
  '.forname(', 'freemarker.template.utility.execute', 'freemarker.template.utility.objectconstructor', '?new()',
  'java.lang.runtime', 'getruntime()', 'java.lang.processbuilder', 't(java.lang.', 'javax.script.scriptenginemanager',
  '#set(', '$class.inspect', '.getenginebyname(', '<#assign', '[#assign', '{php}', '{/php}', '{$smarty.',
  '.os.system(', '.os.popen(', "|attr('__", '|attr("__', "|filter('system')", '|filter("system")',
  '.mro()', '.subclasses()', 'self.module.', 'self.template.', 'self.context.', 'self.attr.',
  'self.__init__', 'request.application.', 'request|attr(', 'pt(java.lang.', 'new java.lang.', "getattr(",
  'constructor.constructor', 'process.mainmodule', 'global.process', 'child_process', '.sub.apply', '{{#with (',
];

/** {@link GADGETS} as a first-character dispatch set (one pass over the value). */
const GADGET_SET = new NeedleSet(GADGETS);

/** `__init__` and `getattr(` are also plain Python in code fields: they need a template or chain context. */
function gadgetAt(s: string, _i: number, g: string): boolean {
  return !((g === '__init__' || g === 'getattr(') && s.indexOf('{') === -1 && s.indexOf('.__') === -1);
}

/** Openers and the closer each expects. `${`/`#{`/`*{` close at the matching `}`. */
const OPENERS: readonly (readonly [string, string])[] = [
  ['{{', '}}'], ['{%', '%}'], ['${', '}'], ['#{', '}'], ['*{', '}'], ['<%=', '%>'], ['<%', '%>'], ['@(', ')'], ['{$', '}'],
];

/**
 * True when a template expression computes: a call `(`, arithmetic between operands, a dunder, a string
 * literal with a method, or a bare dangerous object. `expr` is lower-case, without delimiters.
 */
export function computes(expr: string, strictCalls = false): string | null {
  const e = expr.trim();
  if (e.length === 0) return null;
  if (e.indexOf('__') !== -1) return 'dunder';
  // bare dangerous object, possibly followed by `.x` (`{{self}}`, `{{ config.items }}`)
  let k = 0;
  while (k < e.length && isWordChar(e.charCodeAt(k))) k++;
  const head = e.slice(0, k);
  if (DANGEROUS_OBJECTS.has(head) && (k === e.length || e.charCodeAt(k) === 0x2e || e.charCodeAt(k) === 0x7c || isSpace(e.charCodeAt(k)))) {
    if (k === e.length || head === 'self' || head === 'config' || head === 'request' || head === '_self') return 'object ' + head;
  }
  // a call: identifier or `)`/`]`/quote followed by `(`. With `strictCalls` (`${…}`/`#{…}`, which are also
  // JavaScript template literals and EL placeholders), one empty call such as `${x.toString()}` is not enough:
  // the call needs arguments, or there are two calls.
  let calls = 0;
  for (let i = e.indexOf('('); i !== -1; i = e.indexOf('(', i + 1)) {
    const b = i === 0 ? -1 : e.charCodeAt(i - 1);
    if (!(i === 0 || isWordChar(b) || b === 0x29 || b === 0x5d || b === 0x27 || b === 0x22)) continue;
    if (!strictCalls) return 'call';
    calls++;
    let k = i + 1;
    while (k < e.length && isSpace(e.charCodeAt(k))) k++;
    if (calls >= 2 || (k < e.length && e.charCodeAt(k) !== 0x29)) return 'call';
  }
  // arithmetic `a*b` / `a+b` with operands (digits, quoted strings, identifiers)
  for (let i = 0; i < e.length; i++) {
    const c = e.charCodeAt(i);
    if (c !== 0x2a && c !== 0x2b) continue;
    let l = i - 1;
    while (l >= 0 && isSpace(e.charCodeAt(l))) l--;
    let r = i + 1;
    while (r < e.length && isSpace(e.charCodeAt(r))) r++;
    const lc = l < 0 ? -1 : e.charCodeAt(l);
    const rc = r < e.length ? e.charCodeAt(r) : -1;
    const operandL = lc !== -1 && (isWordChar(lc) || lc === 0x27 || lc === 0x22 || lc === 0x29 || lc === 0x7d);
    const operandR = rc !== -1 && (isWordChar(rc) || rc === 0x27 || rc === 0x22 || rc === 0x28 || rc === 0x7b);
    if (operandL && operandR && (isDigit(lc) || isDigit(rc) || lc === 0x27 || rc === 0x27 || lc === 0x22 || rc === 0x22)) return 'arithmetic';
  }
  return null;
}

/** Scans `s` (lower-case) for delimiters whose expression computes. Linear: bounded look-ahead per opener. */
export function findTemplateExpression(s: string): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x7b && c !== 0x24 && c !== 0x23 && c !== 0x2a && c !== 0x3c && c !== 0x40 && c !== 0x5b) continue;
    for (const [open, close] of OPENERS) {
      if (!s.startsWith(open, i)) continue;
      const start = i + open.length;
      const limit = Math.min(n, start + MAX_EXPR);
      let end = -1;
      let depth = 0;
      for (let k = start; k < limit; k++) {
        const d = s.charCodeAt(k);
        if (close === '}' && d === 0x7b) depth++;
        if (s.startsWith(close, k)) {
          if (close === '}' && depth > 0) { depth--; continue; }
          end = k;
          break;
        }
      }
      // an unterminated expression is still inspected (payloads are often cut by the injection point)
      const expr = s.slice(start, end === -1 ? limit : end);
      const why = computes(expr, open === '${' || open === '#{');
      if (why !== null) return clip(open + expr.slice(0, 40) + ' (' + why + ')');
      // Openers inside the examined window were judged as part of this expression: skip past it (keeps the
      // scan linear with a small constant on `{{{{…`).
      i = Math.max(i, (end === -1 ? limit : end) - 1);
      break;
    }
  }
  return null;
}

const expression: PartRule = {
  kind: 'part',
  id: '939100',
  name: 'ssti-computing-template-expression',
  category: 'ssti',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: '{$#*<@[', // findTemplateExpression only acts at these openers
  pure: true,
  match(input) {
    if (input.length < 4) return null;
    return findTemplateExpression(input);
  },
};

const gadgets: PartRule = {
  kind: 'part',
  id: '939110',
  name: 'ssti-sandbox-escape-gadget',
  category: 'ssti',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: needsFrom(GADGETS, '_.(#{'), // only a gadget matches
  pure: true,
  match(input) {
    const m = GADGET_SET.find(input, gadgetAt);
    return m === null ? null : clip(input.slice(Math.max(0, m.index - 8), m.index + 40));
  },
};

const statements: PartRule = {
  kind: 'part',
  id: '939120',
  name: 'ssti-template-statement-or-filter',
  category: 'ssti',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  pure: true,
  match(input) {
    const i = input.indexOf('{%');
    if (i !== -1 && input.indexOf('%}', i) !== -1) return clip(input.slice(i, i + 40));
    const j = input.indexOf('{{');
    if (j !== -1) {
      const k = input.indexOf('}}', j);
      if (k !== -1 && k - j < MAX_EXPR && input.slice(j, k).indexOf('|') !== -1) return clip(input.slice(j, k + 2));
    }
    return null;
  },
};

/** The SSTI rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [expression, gadgets, statements];
