import type { Location } from '../../core/types.ts';
import type { PartRule, RequestRule } from '../types.ts';
import { applyChain } from '../transforms.ts';
import { base64Text } from '../targets.ts';
import { clip, NeedleSet } from './lib/text.ts';

/**
 * JNDI lookup injection / Log4Shell (CVE-2021-44228, CVE-2021-45046; CWE-917; OWASP CRS 944150).
 *
 * Attackers hide `${jndi:ldap://…}` behind nested Log4j lookups (`${${lower:j}ndi:…}`, `${${::-j}${::-n}di:…}`,
 * `${env:NOPE:-j}`, `${date:'j'}`). {@link resolveLookups} evaluates those lookups the way Log4j's
 * `StrSubstitutor` would — innermost first, with a bounded stack — so the rule sees the string Log4j would
 * act on; any lookup that resolves to `jndi:` is reported. Lookups whose value we cannot know (`${env:USER}`,
 * `${sys:java.version}`, `${hostName}`) resolve to a placeholder `x`.
 *
 * Rule ids (CRS range 944xxx, Java):
 * - `944150` a `${…}` lookup resolving to `jndi:` in any argument, body, cookie or path, PL1, critical.
 * - `944151` the same in any request header (all headers, not only the engine's inspected list: Log4Shell
 *   rode on `User-Agent`, `X-Api-Version`, `Referer`, `X-Forwarded-For` …; also JS/HTML-escaped and inside
 *   `Authorization: Basic` credentials), PL1, critical.
 * - `944152` other Log4j lookups that exfiltrate data (`${env:…}`, `${sys:…}`, `${java:…}`, `${ctx:…}`,
 *   `${main:…}`, nested `${${`), PL2, error.
 * - `944100` Java code-execution classes and expression-language gadgets (`java.lang.Runtime`,
 *   `ProcessBuilder`, OGNL `#_memberAccess` / `%{(#`, Spring4Shell `class.module.classLoader`, XStream
 *   `dynamic-proxy`, commons-collections functors) in values, PL1, critical (category `cmdi`);
 *   `944101` the same in any request header (Struts2 CVE-2017-5638 used Content-Type).
 * - `944110` Java serialization stream (`rO0AB`, `aced0005`, raw `AC ED 00 05`) — deserialization (CWE-502),
 *   PL1, critical (category `other`); `944111` a binary or text request body that starts with one.
 */

const TAGS = ['OWASP_CRS/ATTACK-JAVA', 'CWE-917', 'CVE-2021-44228', 'attack-rce'] as const;

/** Maximum `${` nesting evaluated; deeper openers are treated as text (bounds work to O(n · depth)). */
const MAX_DEPTH = 24;

/** Result of {@link resolveLookups}. */
export interface LookupResult {
  /** Set to the resolved `jndi:…` text (truncated) when a lookup resolves to a JNDI lookup. */
  jndi: string | null;
  /** Names of other lookups seen (`env`, `sys`, …), lower-case, deduplicated, at most 8. */
  lookups: string[];
  /** True when a `${` was nested inside another lookup. */
  nested: boolean;
}

/** Log4j lookup prefixes that read the environment (exfiltration channels). */
const DATA_LOOKUPS: ReadonlySet<string> = new Set([
  'env', 'sys', 'java', 'ctx', 'main', 'bundle', 'k8s', 'docker', 'web', 'spring', 'log4j', 'jvmrunargs', 'marker',
  'map', 'sd', 'event', 'base64',
]);

/** True when lower-case `s` starts with `jndi:` after optional whitespace. */
function startsWithJndi(s: string): boolean {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09 || s.charCodeAt(i) === 0x0a || s.charCodeAt(i) === 0x0d)) i++;
  return s.startsWith('jndi:', i);
}

/** Evaluates one lookup body (the text between `${` and `}`, inner lookups already resolved). */
function evalLookup(body: string, res: LookupResult, depth: number): string {
  const lower = body.toLowerCase();
  if (startsWithJndi(lower)) {
    if (res.jndi === null) res.jndi = clip('${' + body + '}', 96);
    return '${' + body + '}';
  }
  // `${prefix:key:-default}`: the default applies when the key is unset (`${::-j}`, `${env:X:-j}`)
  const dflt = body.indexOf(':-');
  const colon = body.indexOf(':');
  const prefix = colon === -1 ? lower : lower.slice(0, colon);
  if (prefix.length > 0 && prefix.length < 16 && DATA_LOOKUPS.has(prefix) && res.lookups.length < 8 && !res.lookups.includes(prefix)) {
    res.lookups.push(prefix);
  }
  if (dflt !== -1) return body.slice(dflt + 2);
  if (prefix === 'base64' && depth < 2) {
    // `${base64:JHtqbmRp…}`: Log4j substitutes the decoded text and resolves the lookups in it again
    const decoded = Buffer.from(body.slice(colon + 1), 'base64').toString('latin1');
    if (decoded.indexOf('${') !== -1) {
      const inner = resolveLookups(decoded, depth + 1);
      if (inner.jndi !== null && res.jndi === null) res.jndi = clip('${base64:…} → ' + inner.jndi, 96);
    }
    return decoded;
  }
  if (prefix === 'lower') return body.slice(colon + 1).toLowerCase();
  if (prefix === 'upper') return body.slice(colon + 1).toUpperCase();
  if (prefix === 'date') {
    // a date pattern of one quoted literal yields the literal: `${date:'j'}` → `j`
    const v = body.slice(colon + 1);
    let out = '';
    let inQuote = false;
    for (let i = 0; i < v.length; i++) {
      const c = v[i]!;
      if (c === "'") inQuote = !inQuote;
      else if (inQuote) out += c;
    }
    return out;
  }
  return 'x';
}

/**
 * Resolves Log4j `${…}` lookups in `s`, innermost first, with an explicit stack (no regular expressions).
 * Unterminated lookups at the end are still checked for `jndi:`. The text a `${base64:…}` lookup decodes to is
 * resolved again (as Log4j does), at most two levels deep. Cost O(n · MAX_DEPTH).
 * @param depth - re-resolution level (internal; callers pass nothing).
 */
export function resolveLookups(s: string, depth = 0): LookupResult {
  const res: LookupResult = { jndi: null, lookups: [], nested: false };
  const stack: string[] = [];
  let cur = '';
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x24 && s.charCodeAt(i + 1) === 0x7b && stack.length < MAX_DEPTH) {
      if (stack.length > 0) res.nested = true;
      stack.push(cur);
      cur = '';
      i++;
      continue;
    }
    if (c === 0x7d && stack.length > 0) {
      const value = evalLookup(cur, res, depth);
      cur = stack.pop()! + value;
      continue;
    }
    cur += s[i];
  }
  // unterminated lookups: `${jndi:ldap://x` cut by the injection point
  while (stack.length > 0) {
    if (res.jndi === null && startsWithJndi(cur.toLowerCase())) res.jndi = clip('${' + cur, 96);
    cur = stack.pop()! + '${' + cur;
  }
  return res;
}

/** All value locations plus names: Log4j logs whatever it is given. */
const TARGETS: readonly Location['kind'][] = [
  'query', 'query_name', 'form', 'form_name', 'json', 'json_key', 'cookie', 'cookie_name', 'multipart', 'multipart_name',
  'filename', 'xml', 'body', 'path',
];

const jndiPart: PartRule = {
  kind: 'part',
  id: '944150',
  name: 'java-jndi-lookup',
  category: 'log4shell',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  // the second chain: `\u0024{jndi:`, `&#36;{jndi:`, `$\{jndi:` reach Log4j decoded when the application
  // unescapes JSON/HTML/JS strings before logging (those values carry `\` or `&`, so `needs` still holds)
  transforms: [['urlDecodeRepeat'], ['urlDecodeRepeat', 'htmlEntityDecode', 'jsDecode']],
  needs: '$', // the first guard of match
  match(input) {
    if (input.indexOf('${') === -1) return null;
    return resolveLookups(input).jndi;
  },
};

/**
 * The forms of a header value a logging application might receive: percent-decoded until stable, with
 * JS/HTML escapes resolved (`\u0024{jndi:`), and the credentials of `Authorization: Basic` (the user name of a
 * failed login is logged, and base64 hides `${` from a plain scan).
 */
function headerValues(rawHeaders: readonly string[]): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    let v = rawHeaders[i + 1]!;
    const name = rawHeaders[i]!.toLowerCase();
    if (name === 'authorization' && v.length > 6 && v.length < 8192 && v.slice(0, 6).toLowerCase() === 'basic ') {
      const cred = base64Text(v.slice(6).trim(), 4);
      if (cred !== undefined && (cred.indexOf('$') !== -1 || cred.indexOf('%') !== -1)) v = cred;
    }
    const dollar = v.indexOf('$') !== -1;
    const pct = v.indexOf('%') !== -1;
    const esc = v.indexOf('\\') !== -1 || v.indexOf('&') !== -1;
    if (!dollar && !pct && !esc) continue;
    if (pct) v = applyChain(v, ['urlDecodeRepeat']);
    if (esc) v = applyChain(v, ['htmlEntityDecode', 'jsDecode']);
    out.push({ name, value: v });
  }
  return out;
}

const jndiHeaders: RequestRule = {
  kind: 'request',
  id: '944151',
  name: 'java-jndi-lookup-any-header',
  category: 'log4shell',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const found: { hit: string; loc?: Location; value?: string }[] = [];
    for (const h of headerValues(scope.ctx.rawHeaders)) {
      if (h.value.indexOf('${') === -1) continue;
      const r = resolveLookups(h.value);
      if (r.jndi !== null) {
        found.push({ hit: r.jndi, loc: { kind: 'header', name: h.name }, value: h.value });
        if (found.length >= 4) break;
      }
    }
    return found;
  },
};

const dataLookup: PartRule = {
  kind: 'part',
  id: '944152',
  name: 'java-log4j-data-lookup',
  category: 'log4shell',
  severity: 'error',
  paranoia: 2,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat']],
  needs: '$', // the first guard of match
  match(input) {
    if (input.indexOf('${') === -1) return null;
    const r = resolveLookups(input);
    if (r.lookups.length > 0) return 'lookup ${' + r.lookups[0] + ':…}';
    return r.nested ? 'nested lookup' : null;
  },
};

/**
 * Java code-execution classes, expression-language (OGNL, SpEL, MVEL) gadgets, Spring4Shell property paths and
 * deserialization gadget classes (OWASP CRS `java-classes.data`, `java-code-leakages.data`, abridged; lower-case).
 */
const JAVA_GADGETS = new NeedleSet([
  'java.lang.runtime', 'getruntime()', 'processbuilder', 'javax.script.scriptenginemanager', 'java.lang.reflect.',
  'java.lang.classloader', 'defineclass(', 'jdk.jshell', 'ognl.ognlcontext', '#_memberaccess', '@java.lang.', '%{(#', '${(#',
  'class.module.classloader', 'class.classloader', '#context[', 'java.beans.xmldecoder', 'java.beans.eventhandler',
  'dynamic-proxy', 'javax.naming.initialcontext', 'com.sun.rowset.jdbcrowsetimpl', 'org.apache.commons.collections.functors',
  'org.apache.commons.collections4.functors', 'ysoserial', 'sun.misc.unsafe', 'java.net.urlclassloader',
  'org.springframework.context.support.classpathxmlapplicationcontext', 'bsh.interpreter', 'groovy.lang.groovyshell',
  'com.sun.org.apache.xalan.internal.xsltc.trax.templatesimpl', 'java.util.priorityqueue', 'ognl.', 'new javax.',
]);

/** `ognl.` and `java.util.priorityqueue` are also ordinary words in docs: they need an expression context. */
function javaGadgetAt(s: string, i: number, g: string): boolean {
  if (g === 'ognl.') return s.indexOf('#', i) !== -1 || s.indexOf('@', i) !== -1;
  if (g === 'java.util.priorityqueue') return s.indexOf('<', 0) !== -1 || s.indexOf('{', 0) !== -1;
  return true;
}

const javaExec: PartRule = {
  kind: 'part',
  id: '944100',
  name: 'java-code-execution-gadget',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: ['OWASP_CRS/ATTACK-JAVA', 'CWE-94', 'CWE-917', 'attack-rce'],
  targets: [...TARGETS, 'header'],
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'jsDecode', 'lowercase']],
  pure: true,
  match(input) {
    const m = JAVA_GADGETS.find(input, javaGadgetAt);
    if (m !== null) return clip(input.slice(Math.max(0, m.index - 8), m.index + 48));
    // Spring4Shell in bracket notation (`class[module][classLoader]…`, as form/query-name parsers write paths)
    const c = input.indexOf('class[');
    if (c === -1) return null;
    const dotted = bracketsToDots(input.slice(c, c + 256));
    return JAVA_GADGETS.find(dotted, javaGadgetAt) === null ? null : { matched: clip(dotted.slice(0, 56)), transformed: dotted };
  },
};

/** `a[b]['c'][d]` → `a.b.c.d` (property path canonical form; linear). */
function bracketsToDots(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '[') out += '.';
    else if (ch !== ']' && ch !== "'" && ch !== '"') out += ch;
  }
  return out;
}

/** One character class (linear, native scan): the characters of {@link hasInvocationSyntax}. */
const INVOCATION_SYNTAX = /[({#@<]/;

/** True when `v` contains `(`, `{`, `#`, `@` or `<`. */
function hasInvocationSyntax(v: string): boolean {
  return INVOCATION_SYNTAX.test(v);
}

/** Every request header (Struts2 CVE-2017-5638 rode on Content-Type, which is not an inspected part). */
const javaExecHeaders: RequestRule = {
  kind: 'request',
  id: '944101',
  name: 'java-code-execution-gadget-any-header',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: ['OWASP_CRS/ATTACK-JAVA', 'CWE-94', 'CWE-917', 'attack-rce'],
  check(scope) {
    const raw = scope.ctx.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const v = raw[i + 1]!;
      // an invocation needs syntax: `(`, `{`, `#`, `@`, `<` (a JWT or a host name has none of them)
      if (v.length < 10 || !hasInvocationSyntax(v)) continue;
      const low = v.length > 8192 ? v.slice(0, 8192).toLowerCase() : v.toLowerCase();
      const m = JAVA_GADGETS.find(low, javaGadgetAt);
      if (m !== null) return [{ hit: clip(low.slice(Math.max(0, m.index - 8), m.index + 48)), loc: { kind: 'header', name: raw[i]!.toLowerCase() } }];
    }
    return [];
  },
};

/**
 * Java serialization stream magic (`AC ED 00 05`, Java Object Serialization Specification §6.4.2): raw, hex
 * (`aced0005`) or base64 (`rO0AB`) — the carrier of deserialization attacks (CWE-502, CRS 944200/944210).
 */
export function findJavaSerialized(s: string): string | null {
  const b64 = s.indexOf('rO0AB');
  if (b64 !== -1 && (b64 === 0 || !isB64Char(s.charCodeAt(b64 - 1)))) return 'base64 Java serialization stream rO0AB…';
  // no `0005` in `s` means none in its lower-cased form either (digits never come from case mapping): skip the copy
  const hex = s.indexOf('0005') === -1 ? -1 : s.toLowerCase().indexOf('aced0005');
  if (hex !== -1 && (hex === 0 || !isB64Char(s.charCodeAt(hex - 1)))) return 'hex Java serialization stream aced0005…';
  const raw = s.indexOf('\u00ac\u00ed\u0000\u0005');
  return raw === -1 ? null : 'Java serialization stream magic AC ED 00 05';
}

function isB64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

const javaSerialized: PartRule = {
  kind: 'part',
  id: '944110',
  name: 'java-serialized-object',
  category: 'other',
  severity: 'critical',
  paranoia: 1,
  tags: ['OWASP_CRS/ATTACK-JAVA', 'CWE-502', 'attack-deserialization'],
  targets: [...TARGETS, 'header'],
  transforms: [['urlDecodeUni']],
  pure: true,
  match(input) {
    if (input.length < 4) return null;
    return findJavaSerialized(input);
  },
};

/**
 * A request body that is a Java serialization stream (`Content-Type: application/x-java-serialized-object`,
 * `application/octet-stream`, …): binary media types are not split into parts, so the stream magic at the start
 * of the body is checked here (raw `AC ED 00 05`, or its base64 / hex text). A text body is one `body` part,
 * where 944110 finds the encoded forms: here only its raw magic (which does not survive reading bytes as text).
 */
const javaSerializedBody: RequestRule = {
  kind: 'request',
  id: '944111',
  name: 'java-serialized-object-body',
  category: 'other',
  severity: 'critical',
  paranoia: 1,
  tags: ['OWASP_CRS/ATTACK-JAVA', 'CWE-502', 'attack-deserialization'],
  phase: 'body',
  check(scope) {
    const b = scope.body;
    if (b === undefined || (b.kind !== 'binary' && b.kind !== 'text')) return [];
    const bytes = scope.ctx.body?.bytes;
    if (bytes !== undefined && bytes.length >= 4 && bytes[0] === 0xac && bytes[1] === 0xed && bytes[2] === 0x00 && bytes[3] === 0x05) {
      return [{ hit: 'body is a Java serialization stream (AC ED 00 05)', loc: { kind: 'body' } }];
    }
    // a text body is a `body` part: 944110 reads its encoded forms there (the raw magic above is not text)
    if (b.kind === 'text') return [];
    let i = 0;
    while (i < b.text.length && i < 64 && b.text.charCodeAt(i) <= 0x20) i++;
    const head = b.text.slice(i, i + 8);
    if (head.startsWith('rO0AB') || head.toLowerCase().startsWith('aced0005')) return [{ hit: 'body is an encoded Java serialization stream', loc: { kind: 'body' } }];
    return [];
  },
};

/** The JNDI / Log4Shell and Java rules (ids and levels in the module comment). */
export const rules: readonly (PartRule | RequestRule)[] = [jndiPart, jndiHeaders, dataLookup, javaExec, javaExecHeaders, javaSerialized, javaSerializedBody];
