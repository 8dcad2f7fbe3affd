import type { Location, Severity } from '../core/types.ts';
import type { RequestContext } from '../core/context.ts';
import type { DetectionPolicy } from './schema.ts';

/** Attack categories of the payload engine (the corpus categories plus engine-specific ones). */
export type AttackCategory =
  | 'sqli' | 'xss' | 'traversal' | 'rfi' | 'cmdi' | 'ssrf' | 'nosqli' | 'prototype-pollution' | 'ssti'
  | 'log4shell' | 'xxe' | 'scanner' | 'protocol' | 'ldapi' | 'ssi' | 'other';

/** Paranoia level 1–4 (OWASP CRS): a rule runs when its level ≤ the configured level. */
export type ParanoiaLevel = 1 | 2 | 3 | 4;

/**
 * Names of the registered transformations (Coraza / ModSecurity names where one exists). Each is a pure
 * `(string) => string` in `src/engine/transforms.ts`; chains are applied left to right and cached per part.
 * - `urlDecodeUni`: percent-decoding including `%uXXXX`, lenient on bad escapes.
 * - `urlDecodeRepeat`: `urlDecodeUni` until stable (max 4 rounds), defeats double encoding.
 * - `urlDecodePercent` (additive): like `urlDecodeUni` but keeps `+` (for second decoding passes over values
 *   the parser already decoded, where `+` is a JS/SQL operator rather than an encoded space).
 * - `htmlEntityDecode`: named, decimal and hex entities, with or without `;`.
 * - `jsDecode`: `\xHH`, `\uHHHH`, `\u{…}`, octal and single-char escapes.
 * - `lowercase`, `compressWhitespace` (all Unicode spaces and control whitespace to one space),
 *   `removeWhitespace`, `removeNulls`, `replaceComments` (SQL/C comments → one space), `removeCommentsChar`,
 *   `normalizePath` (resolve `.`/`..`, collapse `/`), `normalizePathWin` (also `\` → `/`), `cmdLine`
 *   (remove `\ " ' ^`, collapse spaces before `/` and `(`, lowercase), `base64Decode`, `utf8ToUnicode`
 *   (decode overlong UTF-8 sequences), `unicodeNormalize` (NFKC, folds full-width forms), `trim`.
 */
export type TransformName =
  | 'none' | 'urlDecodeUni' | 'urlDecodeRepeat' | 'urlDecodePercent' | 'htmlEntityDecode' | 'jsDecode' | 'cssDecode' | 'lowercase'
  | 'compressWhitespace' | 'removeWhitespace' | 'removeNulls' | 'replaceComments' | 'removeCommentsChar'
  | 'normalizePath' | 'normalizePathWin' | 'cmdLine' | 'base64Decode' | 'utf8ToUnicode' | 'unicodeNormalize' | 'trim';

/** One inspectable value of a request with its location. `value` is as decoded by the parser (see targets). */
export interface Part {
  loc: Location;
  value: string;
}

/**
 * Per-request view that rules use: the extracted parts and a transformation cache, so that no part is decoded
 * twice for the same chain.
 */
export interface InspectionScope {
  readonly ctx: RequestContext;
  readonly parts: readonly Part[];
  /** The part's value after the chain (cached per part and chain). */
  transformed(part: Part, chain: readonly TransformName[]): string;
  /**
   * `f(input)` for the part the engine is inspecting (additive, optional; performance only), memoised per part
   * by `f` and `input` identity, so that rules sharing a derived form (e.g. the canonical path of the traversal
   * rules) compute it once per part. `f` must be pure. Outside a part rule's `match` it just returns `f(input)`.
   */
  derive?(input: string, f: (s: string) => string): string;
  /** Remaining inspection budget in ms; rules may skip optional work when it is exhausted. */
  budgetLeftMs(): number;
  /**
   * Which phase this scope belongs to (additive, optional): `request` (path, query, cookies, headers) or
   * `body` (the parts parsed from `ctx.body`). Absent means `request`.
   */
  readonly phase?: 'request' | 'body';
  /** Facts about the parsed body (body phase only): content type, parse failures, XML declarations. */
  readonly body?: BodyInfo;
  /**
   * The `detection` policy section in force (additive, optional), for rules with configurable limits such as
   * the protocol rules (`detection.protocol`). Rules fall back to the schema defaults when absent.
   */
  readonly detection?: DetectionPolicy;
}

/**
 * What the target extractor learnt while parsing a request body (body phase), for protocol and XXE rules.
 * All fields describe the inspected prefix only (`ctx.body.bytes`).
 */
export interface BodyInfo {
  /** Body syntax used: from the Content-Type, or sniffed when it is absent. */
  kind: 'json' | 'form' | 'multipart' | 'xml' | 'text' | 'binary' | 'none';
  /** Declared media type, lower-cased, without parameters (`''` when absent). */
  contentType: string;
  /** Set when the body does not parse as `kind` (e.g. `json: unexpected '}' at 17`); the prefix may be truncated. */
  parseError?: string;
  /** True when the body prefix is cut off (`ctx.body.truncated`); parse errors at the cut are not reported. */
  truncated: boolean;
  /** True when the extractor stopped at its bounds (depth, part count, value length). */
  limited: boolean;
  /** XML only: a `<!DOCTYPE` was seen. */
  xmlDoctype?: boolean;
  /** XML only: number of `<!ENTITY` declarations. */
  xmlEntities?: number;
  /** XML only: an entity declaration with `SYSTEM` or `PUBLIC` (external entity). */
  xmlExternalEntity?: boolean;
  /** The body prefix as text (UTF-8, lenient), bounded by `body.inspectLimitBytes`. */
  text: string;
}

/**
 * A rule's finding: a short matched fragment or explanation (truncated to 128 chars by the engine), or, when
 * the rule found it on a form of the value it derived itself instead of its `input` (a decoding it only
 * attempts after a cheap check on the value), the finding with that form, which becomes the evidence's
 * `transformed` value.
 */
export type RuleHit = string | { readonly matched: string; readonly transformed: string } | null;

/**
 * A payload rule: runs on every part whose location kind is in `targets`, on the value after `transforms`.
 * `match` must run in time linear in the input (no backtracking regexes on request data) and never throw.
 * Rule ids are numeric strings grouped by category, following the CRS convention of ranges per attack
 * (e.g. `942xxx` SQL injection, `941xxx` XSS, `930xxx` LFI, `931xxx` RFI, `932xxx` RCE, `934xxx` Node/SSRF …).
 */
export interface PartRule {
  kind: 'part';
  id: string;
  /** Short name, e.g. `sqli-libinjection-style-tokens`. */
  name: string;
  category: AttackCategory;
  severity: Severity;
  paranoia: ParanoiaLevel;
  /** OWASP / CWE tags, e.g. `['OWASP_CRS/ATTACK-SQLI', 'CWE-89']`. */
  tags: readonly string[];
  targets: readonly Location['kind'][];
  /** Transformation chains to try, each on its own: the rule matches if any chain's output matches. */
  transforms: readonly (readonly TransformName[])[];
  /**
   * Optional precondition (additive; performance only): ASCII punctuation characters (`!`–`/`, `:`–`@`,
   * `[`–`` ` ``, `{`–`~`) at least one of which a value must contain for `match` to return non-null, when the
   * value is inert (no `%`, `+`, `&`, `\`, control or non-ASCII character, no `/*`: no decoder changes it).
   * The engine skips `match` on an inert part that has none of them if the rule's chains only use decoders and
   * transformations that cannot introduce punctuation (`lowercase`, `trim`, `compressWhitespace`,
   * `removeWhitespace`); otherwise `match` always runs. Declare it only when the matcher provably returns null
   * on such values without one of these characters (usually its first `indexOf` guard).
   */
  needs?: string;
  /**
   * Optional precondition (additive; performance only): `match` returns null on every inert value (see
   * {@link PartRule.needs}), because it needs a control character (CR, LF, NUL) or a value that a decoder
   * changes. The engine then skips the rule on inert parts, under the same condition on the chains as `needs`
   * (decoders and `lowercase`, `trim`, `compressWhitespace`, `removeWhitespace` only: none of them can create
   * a control character or make a value differ from its raw form where decoders did not).
   */
  decodedOnly?: boolean;
  /**
   * Optional (additive; performance only): `match` depends on `input` alone (not on the part's location nor
   * the scope). For such rules that target headers, the engine keeps each header value's result in one
   * bounded engine-level cache shared by all pure rules (User-Agent and Referer values repeat across requests).
   */
  pure?: boolean;
  match(input: string, part: Part, scope: InspectionScope): RuleHit;
}

/**
 * A request rule: sees the whole request at once (protocol anomalies, scanner User-Agents, header counts).
 * Returns one entry per finding (empty when clean). Must never throw.
 */
export interface RequestRule {
  kind: 'request';
  id: string;
  name: string;
  category: AttackCategory;
  severity: Severity;
  paranoia: ParanoiaLevel;
  tags: readonly string[];
  /**
   * Phase the rule runs in (additive, optional; default `request`): `body` rules run once in the body phase
   * with {@link InspectionScope.body} set (only for requests that have a body).
   */
  phase?: 'request' | 'body';
  check(scope: InspectionScope): readonly { hit: string; loc?: Location; value?: string }[];
}

/** Any engine rule. */
export type PayloadRule = PartRule | RequestRule;
