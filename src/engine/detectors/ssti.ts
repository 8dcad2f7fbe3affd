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
 *   `<%= %>`, `@( )`, `@{ }`, `%{ }`, `!{ }`, `{$ }`), PL1, critical. Ruby delimiters (`#{ }`, `<% %>`) also
 *   count backtick/`%x()` shell commands and calls without parentheses (`#{system 'id'}`).
 * - `939110` sandbox-escape and code-execution gadgets of Jinja2/Twig/Mako/Freemarker/Velocity/Thymeleaf/
 *   Spring EL/Smarty/ERB, PL1, critical.
 * - `939120` template statements `{% … %}`, filters (`{{ x | upper }}`) and computing single-brace tags
 *   (Smarty `{7*7}`, `{system('id')}`), PL2, warning.
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
  // Handlebars: `#with` over a string literal is the opening of the known `constructor` RCE chain
  '{{#with "', "{{#with '",
  // Razor implicit expressions into .NET namespaces that run processes, read files or load code
  '@system.diagnostics', '@system.io.', '@system.environment', '@system.reflection', '@system.net.', '@system.runtime',
];

/** {@link GADGETS} as a first-character dispatch set (one pass over the value). */
const GADGET_SET = new NeedleSet(GADGETS);

/** `__init__` and `getattr(` are also plain Python in code fields: they need a template or chain context. */
function gadgetAt(s: string, _i: number, g: string): boolean {
  return !((g === '__init__' || g === 'getattr(') && s.indexOf('{') === -1 && s.indexOf('.__') === -1);
}

/** Openers and the closer each expects. `${`/`#{`/`*{`/`@{`/`%{`/`!{` close at the matching `}`. */
const OPENERS: readonly (readonly [string, string])[] = [
  ['{{', '}}'], ['{%', '%}'], ['${', '}'], ['#{', '}'], ['*{', '}'], ['<%=', '%>'], ['<%', '%>'], ['@(', ')'], ['{$', '}'],
  // Razor code blocks, OGNL (Struts `%{…}`; also Rails i18n `%{count}`, which never computes), Pug unescaped
  ['@{', '}'], ['%{', '}'], ['!{', '}'],
];

/**
 * True when a template expression computes: a call `(`, arithmetic between operands, a dunder, a string
 * literal with a method, or a bare dangerous object. `expr` is lower-case, without delimiters. With `ruby`
 * (`#{…}` Ruby/Slim/Haml/Pug interpolation, `<%…%>` ERB), backticks and `%x(…)` run a shell command and a
 * code-running method takes arguments without parentheses (`system 'id'`).
 */
export function computes(expr: string, strictCalls = false, ruby = false): string | null {
  const e = expr.trim();
  if (e.length === 0) return null;
  if (e.indexOf('__') !== -1) return 'dunder';
  if (ruby) {
    const why = rubyComputes(e);
    if (why !== null) return why;
  }
  // a method of a string or number literal: `${"a".toUpperCase()}`, `#{'x'.upcase}`, `{{ 7.to_s }}` (probes;
  // placeholders name variables)
  for (let q = 0; q < e.length; q++) {
    const c = e.charCodeAt(q);
    if (c !== 0x22 && c !== 0x27) continue;
    const close = e.indexOf(e[q]!, q + 1);
    if (close === -1) break;
    if (e.charCodeAt(close + 1) === 0x2e && isWordChar(e.charCodeAt(close + 2)) && !isDigit(e.charCodeAt(close + 2))) return 'literal method';
    q = close;
  }
  // `env['path']`, `environ["home"]`: the process environment (Ruby `ENV`, Python `os.environ`)
  for (let p = e.indexOf('env'); p !== -1; p = e.indexOf('env', p + 1)) {
    if (p > 0 && isWordChar(e.charCodeAt(p - 1))) continue;
    const k = e.startsWith('iron', p + 3) ? p + 7 : p + 3;
    if (e.charCodeAt(k) === 0x5b) return 'environment lookup';
  }
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
  // arithmetic `a*b` / `a+b` / `a**b` with operands (digits, quoted strings, identifiers); `a-b` and `a/b`
  // only between digits (`${first-name}`, `{{ path/to }}` are names)
  for (let i = 0; i < e.length; i++) {
    const c = e.charCodeAt(i);
    if (c !== 0x2a && c !== 0x2b && c !== 0x2d && c !== 0x2f) continue;
    let l = i - 1;
    while (l >= 0 && isSpace(e.charCodeAt(l))) l--;
    let r = c === 0x2a && e.charCodeAt(i + 1) === 0x2a ? i + 2 : i + 1;
    while (r < e.length && isSpace(e.charCodeAt(r))) r++;
    const lc = l < 0 ? -1 : e.charCodeAt(l);
    const rc = r < e.length ? e.charCodeAt(r) : -1;
    if (c === 0x2d || c === 0x2f) {
      if (isDigit(lc) && isDigit(rc)) return 'arithmetic';
      continue;
    }
    const operandL = lc !== -1 && (isWordChar(lc) || lc === 0x27 || lc === 0x22 || lc === 0x29 || lc === 0x7d);
    const operandR = rc !== -1 && (isWordChar(rc) || rc === 0x27 || rc === 0x22 || rc === 0x28 || rc === 0x7b);
    if (operandL && operandR && (isDigit(lc) || isDigit(rc) || lc === 0x27 || rc === 0x27 || lc === 0x22 || rc === 0x22)) return 'arithmetic';
  }
  return null;
}

/**
 * Ruby-only computation in `e` (lower-case, trimmed): a backtick or `%x(…)` shell command (`#{`id`}`,
 * `<%= %x(ls) %>`), or a statement that starts with a call of a code-running method ({@link RUBY_EXEC})
 * without parentheses whose first argument is a literal (`system 'id'`, `Kernel.exec "id"`, `send :system`).
 */
function rubyComputes(e: string): string | null {
  const bt = e.indexOf('`');
  if (bt !== -1) {
    let k = bt + 1;
    while (k < e.length && isSpace(e.charCodeAt(k))) k++;
    if (k < e.length && e.charCodeAt(k) !== 0x60) return 'shell command';
  }
  for (let p = e.indexOf('%x'); p !== -1; p = e.indexOf('%x', p + 2)) {
    const d = e.charCodeAt(p + 2);
    if (d === 0x28 || d === 0x7b || d === 0x5b || d === 0x7c || d === 0x3c || d === 0x21) return 'shell command';
  }
  // statements start at the beginning and after `;` or a line break
  for (let st = 0; st !== -1 && st < e.length; ) {
    let k = st;
    while (k < e.length && isSpace(e.charCodeAt(k))) k++;
    const w0 = k;
    while (k < e.length && (isWordChar(e.charCodeAt(k)) || e.charCodeAt(k) === 0x2e || (e.charCodeAt(k) === 0x3a && e.charCodeAt(k + 1) === 0x3a))) {
      k += e.charCodeAt(k) === 0x3a ? 2 : 1;
    }
    if (k > w0 && !isDigit(e.charCodeAt(w0)) && k < e.length && isSpace(e.charCodeAt(k))) {
      let a = k;
      while (a < e.length && isSpace(e.charCodeAt(a))) a++;
      const c = e.charCodeAt(a);
      const symbol = c === 0x3a && isWordChar(e.charCodeAt(a + 1));
      const name = e.slice(w0, k);
      const method = name.slice(name.lastIndexOf('.') + 1);
      if ((c === 0x27 || c === 0x22 || symbol) && RUBY_EXEC.has(method)) return `call without parentheses ${name}`;
    }
    let next = -1;
    for (let q = k; q < e.length; q++) {
      const c = e.charCodeAt(q);
      if (c === 0x3b || c === 0x0a) {
        next = q + 1;
        break;
      }
    }
    st = next;
  }
  return null;
}

/**
 * Kernel/Object methods that run code, commands or read files. A call without parentheses counts only for
 * these: Rails views and docs are full of `<%= link_to 'Home', root_path %>` and `#{t 'greeting'}`.
 */
const RUBY_EXEC: ReadonlySet<string> = new Set([
  'system', 'exec', 'spawn', 'syscall', 'fork', 'eval', 'instance_eval', 'class_eval', 'module_eval', 'send', '__send__',
  'public_send', 'require', 'require_relative', 'load', 'open', 'popen', 'popen3', 'capture2', 'capture3', 'read', 'readlines',
  'binread', 'const_get', 'constantize', 'method', 'instance_variable_get',
]);


/** Scans `s` (lower-case) for delimiters whose expression computes. Linear: bounded look-ahead per opener. */
export function findTemplateExpression(s: string): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x7b && c !== 0x24 && c !== 0x23 && c !== 0x2a && c !== 0x3c && c !== 0x40 && c !== 0x25 && c !== 0x21) continue;
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
      const why = computes(expr, open === '${' || open === '#{' || open === '%{' || open === '@{', open === '#{' || open.startsWith('<%'));
      if (why !== null) return clip(open + expr.slice(0, 40) + ' (' + why + ')');
      // Openers inside the examined window were judged as part of this expression: skip past it (keeps the
      // scan linear with a small constant on `{{{{…`).
      i = Math.max(i, (end === -1 ? limit : end) - 1);
      break;
    }
  }
  return null;
}

/**
 * Single-brace template tags whose expression computes (Smarty/Latte/Dust: `{7*7}`, `{system('id')}`,
 * `{if system('id')}`). Single braces are everywhere in code and JSON, hence paranoia 2. The brace must be
 * directly followed by a word character and close within 64 chars without nesting. Linear.
 */
export function findSingleBraceExpression(s: string): string | null {
  for (let i = s.indexOf('{'); i !== -1; i = s.indexOf('{', i + 1)) {
    const prev = i > 0 ? s.charCodeAt(i - 1) : -1;
    if (prev === 0x7b || prev === 0x24 || prev === 0x23 || prev === 0x2a || prev === 0x40 || prev === 0x25 || prev === 0x21) continue;
    if (!isWordChar(s.charCodeAt(i + 1))) continue;
    const limit = Math.min(s.length, i + 65);
    let end = -1;
    for (let k = i + 1; k < limit; k++) {
      const d = s.charCodeAt(k);
      if (d === 0x7b) break;
      if (d === 0x7d) {
        end = k;
        break;
      }
    }
    if (end === -1) continue;
    let expr = s.slice(i + 1, end);
    // Smarty control tags take an expression: `{if …}`, `{foreach …}`
    for (const kw of ['if ', 'elseif ', 'while ', 'foreach ']) if (expr.startsWith(kw)) expr = expr.slice(kw.length);
    const why = computes(expr, true);
    if (why !== null) return clip('{' + expr.slice(0, 40) + '} (' + why + ')');
    i = end;
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
  needs: '{$#*<@%!', // findTemplateExpression only acts at these openers
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
  needs: needsFrom(GADGETS, '_.(#{@'), // only a gadget matches
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
    return findSingleBraceExpression(input);
  },
};

/** The SSTI rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [expression, gadgets, statements];
