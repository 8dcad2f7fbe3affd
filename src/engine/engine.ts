import { scratchKey, type RequestContext } from '../core/context.ts';
import { SEVERITY_SCORE, type Location, type Signal } from '../core/types.ts';
import type { BodyInfo, InspectionScope, Part, PartRule, PayloadRule, RequestRule, TransformName } from './types.ts';
import type { DetectionPolicy } from './schema.ts';
import { COMPAT_RANGES, TRANSFORMS, type Transform } from './transforms.ts';
import { DEFAULT_HEADERS, SCRATCH_BODY_PARTS, bodyParts, requestParts, type TargetLimits } from './targets.ts';
import { compileExclusion, numericRuleId, type CompiledExclusion } from './exclusions.ts';
import { HeaderResultCache, type HeaderHit, type HeaderResults } from './header-cache.ts';

/**
 * The payload engine: compiles the rule registry for a policy (paranoia filter, disabled rules and categories,
 * monitor mode, exclusions) and runs it on a request in two phases (request: path, query, cookies, headers;
 * body: the parts parsed from the body prefix). Scoring follows the OWASP CRS anomaly model: each matched
 * rule adds its severity's points ({@link SEVERITY_SCORE}: critical 5, error 4, warning 3, notice 2) and emits
 * one {@link Signal}; the decide step blocks at `detection.anomalyThreshold`.
 *
 * Never throws on the request path: a rule that throws is skipped for that request (counted in
 * {@link PayloadEngine.ruleErrors}) and the request gets a {@link RULE_ERROR_ID} signal.
 */

/** Signal id of the "inspection budget exhausted" notice (score 0). */
export const BUDGET_RULE_ID = 'payload.949990';
/**
 * Signal id of "a rule failed on this request" (severity warning, 3 points): input that makes a rule throw was
 * not fully inspected and is likely crafted, so it counts toward the anomaly score without blocking alone.
 */
export const RULE_ERROR_ID = 'payload.949991';

/** Longest raw/transformed value kept in evidence (chars). */
const EVIDENCE_VALUE = 256;
/** Longest matched fragment kept in evidence (chars). */
const EVIDENCE_MATCH = 128;

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

/** Headers whose values are credentials: never copied into evidence in clear. */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'x-auth-token']);

/**
 * Evidence text for a value: truncated to `n` chars; cookie values and credential headers are masked to their
 * first 4 chars and length (session ids and tokens must not reach events or logs in clear).
 */
function evidenceText(s: string, loc: Location | undefined, n: number): string {
  if (loc && (loc.kind === 'cookie' || (loc.kind === 'header' && loc.name !== undefined && SECRET_HEADERS.has(loc.name)))) {
    return `${s.slice(0, 4)}…[${s.length} chars redacted]`;
  }
  return clip(s, n);
}

/** A transformation chain prepared for the cache: one integer id per prefix and the functions to apply. */
interface ChainInfo {
  /** Cache slot of each prefix (`a`, `a>b`, `a>b>c`); equal prefixes of different chains share a slot. */
  readonly ids: readonly number[];
  readonly fns: readonly Transform[];
  /** Per step: true for decoders that are the identity on an inert value (see {@link isInert}). */
  readonly decoder: readonly boolean[];
  /** Empty chain or `['none']`: the value itself. */
  readonly identity: boolean;
  /**
   * The chain without its {@link DECODERS} steps, for inert values (see {@link isInert}), where decoders are
   * the identity: cache slots of its prefixes (keyed apart from full chains) and its functions. Chains that
   * differ only in their decoders (`[urlDecodeUni, lowercase]`, `[urlDecodeRepeat, htmlEntityDecode,
   * lowercase]`) then share one `lowercase` result per inert part.
   */
  readonly rids: readonly number[];
  readonly rfns: readonly Transform[];
}

/** Cache slot id of a chain prefix key (`a>b`), shared by every chain with that prefix. */
function prefixId(key: string): number {
  let id = prefixIds.get(key);
  if (id === undefined) {
    id = prefixIds.size;
    prefixIds.set(key, id);
  }
  return id;
}

/**
 * Transformations that return their input unchanged when it has none of `%`, `+`, `&`, `\`, control
 * characters (C0, DEL, C1), UTF-8 continuation bytes read as Latin-1 (U+0080–U+00BF), compatibility characters
 * ({@link COMPAT_RANGES}) and no `/*`: percent/entity/JS/CSS decoding, UTF-8 and Unicode normalisation, NUL
 * and C-comment removal.
 */
const DECODERS: ReadonlySet<TransformName> = new Set([
  'urlDecodeUni', 'urlDecodePercent', 'urlDecodeRepeat', 'htmlEntityDecode', 'jsDecode', 'cssDecode', 'utf8ToUnicode',
  'unicodeNormalize', 'removeNulls', 'replaceComments',
]);

/**
 * A character or sequence some decoder acts on (one class or a literal: linear). Letters of other scripts
 * (accented Latin, Greek, Cyrillic, Arabic, CJK …) are not in it: no decoder changes them, `utf8ToUnicode`
 * needs a continuation byte U+0080–U+00BF after a lead and `unicodeNormalize` acts only on {@link COMPAT_RANGES}.
 * So prose in any language stays inert and keeps the `needs` preconditions and the shared reduced chains.
 */
const DECODABLE = new RegExp(`[%+&\\\\\\u0000-\\u001f\\u007f-\\u00bf${COMPAT_RANGES}]|/\\*`);

/**
 * Non-decoder transformations that never introduce an ASCII punctuation character (they only lower-case
 * letters or drop/fold whitespace), so a {@link PartRule.needs} precondition checked on an inert raw value
 * holds for the transformed value too.
 */
const PUNCT_PRESERVING: ReadonlySet<TransformName> = new Set(['none', 'lowercase', 'trim', 'compressWhitespace', 'removeWhitespace']);

/** Bit per ASCII punctuation character (the 32 of `!`–`/`, `:`–`@`, `[`–`` ` ``, `{`–`~`); 0 for others. */
const PUNCT_BIT = new Int32Array(128);
{
  let b = 0;
  for (let c = 0x21; c < 0x7f; c++) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) continue;
    PUNCT_BIT[c] = 1 << b++;
  }
}

/** Punctuation bit mask of `s` ({@link PUNCT_BIT}); linear, no allocation. */
function punctMask(s: string): number {
  let m = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) m |= PUNCT_BIT[c]!;
  }
  return m;
}

/**
 * Compiled {@link PartRule.needs} mask of a rule, or 0 (no precondition) when it has none or when one of its
 * chains has a non-decoder step outside {@link PUNCT_PRESERVING} (e.g. `base64Decode`, `cmdLine`).
 * @throws {RuleRegistryError} when `needs` has a character that is not ASCII punctuation.
 */
function needsMask(r: PartRule): number {
  if (r.needs === undefined) return 0;
  let m = 0;
  for (let i = 0; i < r.needs.length; i++) {
    const c = r.needs.charCodeAt(i);
    const bit = c < 128 ? PUNCT_BIT[c]! : 0;
    if (bit === 0) throw new RuleRegistryError(`rule ${r.id}: needs has a character that is not ASCII punctuation`);
    m |= bit;
  }
  return preservesInert(r) ? m : 0;
}

/**
 * True when every step of every chain of `r` is a {@link DECODERS} or {@link PUNCT_PRESERVING} step: then on an
 * inert value each chain's output is the value with ASCII case folded or whitespace trimmed, compressed or
 * removed (no new punctuation or control character), which is what {@link PartRule.needs} and
 * {@link PartRule.decodedOnly} rely on.
 */
function preservesInert(r: PartRule): boolean {
  for (const chain of r.transforms) for (const t of chain) if (!DECODERS.has(t) && !PUNCT_PRESERVING.has(t)) return false;
  return true;
}

/** True when every {@link DECODERS} step is the identity on `s` (most API values: ids, words, plain text). */
export function isInert(s: string): boolean {
  return !DECODABLE.test(s);
}

const prefixIds = new Map<string, number>();
const chainInfos = new WeakMap<readonly TransformName[], ChainInfo>();

/** The {@link ChainInfo} of a chain array, memoised per array (rules declare their chains once). */
function chainInfo(chain: readonly TransformName[]): ChainInfo {
  let info = chainInfos.get(chain);
  if (info === undefined) {
    const ids: number[] = [];
    const fns: Transform[] = [];
    const decoder: boolean[] = [];
    const rids: number[] = [];
    const rfns: Transform[] = [];
    let acc = '';
    let racc = '';
    for (const t of chain) {
      if (t === 'none') continue;
      const dec = DECODERS.has(t);
      decoder.push(dec);
      acc = acc ? `${acc}>${t}` : t;
      ids.push(prefixId(acc));
      fns.push(TRANSFORMS[t]);
      if (!dec) {
        // `inert:` keys never equal a full-chain key: the reduced chain is only valid on inert values
        racc = `${racc}>${t}`;
        rids.push(prefixId(`inert:${racc}`));
        rfns.push(TRANSFORMS[t]);
      }
    }
    info = { ids, fns, decoder, identity: ids.length === 0, rids, rfns };
    chainInfos.set(chain, info);
  }
  return info;
}

/**
 * {@link InspectionScope} implementation: the parts of one phase and a transformation cache indexed by part
 * and chain prefix, so `[urlDecodeUni, lowercase]` reuses a cached `[urlDecodeUni]` and nothing is decoded twice.
 */
export class Scope implements InspectionScope {
  readonly ctx: RequestContext;
  readonly parts: readonly Part[];
  readonly phase: 'request' | 'body';
  readonly body?: BodyInfo;
  /** The `detection:` policy in force (for rules with configurable limits). */
  readonly detection?: DetectionPolicy;
  /** `performance.now()` deadline of this phase, ms. */
  readonly deadline: number;
  private readonly cache: (string | undefined)[][] = [];
  /** Per part: `(transformation, input, output)` triples computed so far (see {@link Scope.step}). */
  private readonly memo: (Transform | string)[][] = [];
  /** Per part: 1 inert, 2 not inert, 0 unknown yet. */
  private readonly inert: Uint8Array;
  private index?: Map<Part, number>;
  /** Index of the part a part rule is inspecting ({@link Scope.derive}); -1 outside part rules. */
  cur = -1;
  /** Per header part: its {@link HeaderResults} (looked up once per part and phase), or null when not cached. */
  private headerEntries?: (HeaderResults | null | undefined)[];

  constructor(ctx: RequestContext, parts: readonly Part[], phase: 'request' | 'body', deadline: number, body?: BodyInfo, detection?: DetectionPolicy) {
    this.ctx = ctx;
    this.parts = parts;
    this.phase = phase;
    this.deadline = deadline;
    this.body = body;
    this.detection = detection;
    this.inert = new Uint8Array(parts.length);
  }

  transformed(part: Part, chain: readonly TransformName[]): string {
    if (this.index === undefined) {
      this.index = new Map();
      for (let i = 0; i < this.parts.length; i++) this.index.set(this.parts[i]!, i);
    }
    const i = this.index.get(part);
    const info = chainInfo(chain);
    if (i === undefined) {
      let v = part.value;
      for (const f of info.fns) v = f(v);
      return v;
    }
    return this.at(i, info);
  }

  /**
   * The value of part `i` after a prepared chain (cached). On an inert part (see {@link isInert}) only the
   * chain's non-decoder steps run (decoders are the identity there), cached under the reduced chain so that
   * chains differing only in decoders share results. On other parts each computed step goes through a per-part
   * memo of `(transformation, input) → output`, so a step whose input a different chain already produced (a
   * decoder that changed nothing) is not computed again. Transformations are pure, so results are identical.
   */
  at(i: number, info: ChainInfo): string {
    if (info.identity) return this.parts[i]!.value;
    let inert = this.inert[i]!;
    if (inert === 0) this.inert[i] = inert = isInert(this.parts[i]!.value) ? 1 : 2;
    let ids = info.ids;
    let fns = info.fns;
    if (inert === 1) {
      ids = info.rids;
      fns = info.rfns;
      if (ids.length === 0) return this.parts[i]!.value;
    }
    let c = this.cache[i];
    if (c === undefined) this.cache[i] = c = [];
    const n = ids.length;
    const hit = c[ids[n - 1]!];
    if (hit !== undefined) return hit;
    let k = n - 2;
    let v = this.parts[i]!.value;
    for (; k >= 0; k--) {
      const x = c[ids[k]!];
      if (x !== undefined) {
        v = x;
        break;
      }
    }
    if (inert === 1) {
      // reduced chains already share every result on inert parts: no per-step memo needed
      for (let j = k + 1; j < n; j++) {
        v = fns[j]!(v);
        c[ids[j]!] = v;
      }
      return v;
    }
    for (let j = k + 1; j < n; j++) {
      v = this.step(i, fns[j]!, v);
      c[ids[j]!] = v;
    }
    return v;
  }

  /**
   * Precondition mask of part `i`: its {@link punctMask} when the value is inert, else -1 (every bit: no
   * `needs` precondition can rule it out; an inert value never has all 32 bits, since `%`, `+`, `&` and `\\`
   * make a value decodable).
   */
  maskAt(i: number): number {
    let inert = this.inert[i]!;
    if (inert === 0) this.inert[i] = inert = isInert(this.parts[i]!.value) ? 1 : 2;
    return inert === 1 ? punctMask(this.parts[i]!.value) : -1;
  }

  derive(input: string, f: (s: string) => string): string {
    return this.cur < 0 ? f(input) : this.step(this.cur, f, input);
  }

  /** The shared header results of part `i` (a header), or undefined when its value is not cacheable. */
  headerResults(i: number, cache: HeaderResultCache): HeaderResults | undefined {
    if (this.headerEntries === undefined) this.headerEntries = [];
    let e = this.headerEntries[i];
    if (e === undefined) {
      const part = this.parts[i]!;
      // credentials (Basic user and password, API keys) are never kept in the engine-wide cache
      const secret = part.loc.name !== undefined && SECRET_HEADERS.has(part.loc.name);
      this.headerEntries[i] = e = (secret ? undefined : cache.entry(part.value)) ?? null;
    }
    return e ?? undefined;
  }

  /** `f(v)` for part `i`, memoised per part as flat `(f, input, output)` triples (a handful per part). */
  private step(i: number, f: Transform, v: string): string {
    let m = this.memo[i];
    if (m === undefined) this.memo[i] = m = [];
    for (let k = 0; k < m.length; k += 3) {
      if (m[k] === f && m[k + 1] === v) return m[k + 2] as string;
    }
    const out = f(v);
    m.push(f, v, out);
    return out;
  }

  budgetLeftMs(): number {
    return this.deadline - performance.now();
  }
}

/** A rule with its policy-derived settings. */
interface Compiled<R extends PayloadRule> {
  readonly rule: R;
  /** Signal id: `<category>.<id>`, e.g. `sqli.942100`. */
  readonly signalId: string;
  readonly score: number;
  /** Skippable when the budget is spent (everything except critical paranoia-1 rules). */
  readonly optional: boolean;
  /** Monitor mode from `detection.monitor`. */
  readonly monitor: boolean;
  /** Part rules: prepared transformation chains. */
  readonly chains: readonly ChainInfo[];
  /** Part rules: bit per location kind it targets ({@link PayloadEngine} numbers the kinds). */
  readonly kinds: number;
  /** Part rules: compiled {@link PartRule.needs} precondition mask, 0 for none. */
  readonly needs: number;
  /** Part rules: {@link PartRule.decodedOnly} in force (declared, and the chains allow it). */
  readonly decodedOnly: boolean;
  /** Pure part rules that target headers: slot in the {@link HeaderResultCache} entries; -1 otherwise. */
  readonly hslot: number;
  /** Index of the rule among all active rules (part, request, body): its byte in the per-request matched set. */
  slot: number;
}

/** A finding before it becomes a signal. */
interface Hit {
  loc?: Location;
  value?: string;
  transformed?: string;
  matched: string;
  exclusion?: CompiledExclusion;
}

/** Per active rule, 1 once it matched (created at the first match): a rule signals once per request. */
const SCRATCH_MATCHED = scratchKey<Uint8Array>('payload.matched');
/**
 * Optional rules run between two reads of the clock when checking the inspection budget: the budget can be
 * overrun by at most CLOCK_EVERY − 1 optional rules (each linear in its input).
 */
const CLOCK_EVERY = 4;
/** Bound on the engine's memo of candidate rule lists (distinct location kind × precondition mask pairs). */
const MAX_CANDIDATE_SETS = 4096;
/** Inspection time spent on the request so far, ms (the body phase gets what the request phase left). */
const SCRATCH_SPENT = scratchKey<number>('payload.spentMs');
/** The policy exclusions that apply to the request. */
const SCRATCH_EXCL = scratchKey<CompiledExclusion[]>('payload.exclusions');

/** Error thrown at engine construction when the rule registry is inconsistent (a programming error). */
export class RuleRegistryError extends Error {
  override readonly name = 'RuleRegistryError';
}

/**
 * Checks the registry: ids unique, numeric (CRS style), severities and paranoia levels valid, targets and
 * transforms non-empty for part rules.
 * @throws {RuleRegistryError} listing the first problem found.
 */
export function validateRules(rules: readonly PayloadRule[]): void {
  const seen = new Set<string>();
  for (const r of rules) {
    if (!/^[0-9]{3,9}$/.test(r.id)) throw new RuleRegistryError(`rule id ${JSON.stringify(r.id)} is not numeric`);
    if (seen.has(r.id)) throw new RuleRegistryError(`duplicate rule id ${r.id}`);
    seen.add(r.id);
    if (!(r.severity in SEVERITY_SCORE)) throw new RuleRegistryError(`rule ${r.id}: bad severity ${r.severity}`);
    if (![1, 2, 3, 4].includes(r.paranoia)) throw new RuleRegistryError(`rule ${r.id}: bad paranoia ${r.paranoia}`);
    if (r.kind === 'part' && (r.targets.length === 0 || r.transforms.length === 0)) {
      throw new RuleRegistryError(`rule ${r.id}: part rules need targets and at least one transform chain`);
    }
  }
}

/** Compiled engine for one policy. Immutable; a policy reload builds a new one. */
export class PayloadEngine {
  readonly policy: DetectionPolicy;
  /** Part rules in evaluation order (mandatory ones first). */
  private readonly partRules: Compiled<PartRule>[];
  private readonly requestRules: Compiled<RequestRule>[];
  private readonly bodyRules: Compiled<RequestRule>[];
  private readonly exclusions: CompiledExclusion[];
  private readonly headers: readonly string[];
  private readonly limits: TargetLimits;
  /** Bit number of each location kind some part rule targets (at most 31 kinds). */
  private readonly kindBits = new Map<Location['kind'], number>();
  /**
   * Candidate part rules per (location kind, precondition mask) pair, as indices into `partRules`: the rules
   * that target the kind and whose `needs` / `decodedOnly` preconditions a part with that mask ({@link
   * Scope.maskAt}) passes. Parts of one request share a handful of pairs; bounded, emptied when full.
   */
  private readonly candidates: Map<number, Uint16Array>[] = [];
  /** Number of memoised candidate lists (all kinds). */
  private candidateSets = 0;
  /** Results of the pure header rules per header value (see {@link PartRule.pure}). */
  private readonly headerCache: HeaderResultCache;
  /** Per part rule during a run: 0 pending, 1 done (matched now or before, or threw), 2 skipped (budget). */
  private readonly ruleState: Uint8Array;
  /** Per part rule during a run: its chosen hit, and its first hit on an excluded part (kept if no other). */
  private readonly ruleHits: (Hit | undefined)[];
  private readonly ruleExcluded: (Hit | undefined)[];
  /** Rule failures (a rule threw) since construction; the request continued without that rule. */
  ruleErrors = 0;
  /** Number of rules active after the policy filter. */
  readonly activeRules: number;

  /**
   * @param policy - the `detection:` section.
   * @param rules - the registry (defaults to every module in `src/engine/detectors/`).
   * @throws {RuleRegistryError} when the registry is inconsistent.
   */
  constructor(policy: DetectionPolicy, rules: readonly PayloadRule[]) {
    validateRules(rules);
    this.policy = policy;
    const disabled = new Set(policy.disabledRules.map(numericRuleId));
    const disabledCats = new Set<string>(policy.disabledCategories);
    const monRules = new Set(policy.monitor.rules.map(numericRuleId));
    const monCats = new Set<string>(policy.monitor.categories);
    const part: Compiled<PartRule>[] = [];
    const req: Compiled<RequestRule>[] = [];
    const body: Compiled<RequestRule>[] = [];
    let hslots = 0;
    for (const r of rules) {
      if (r.paranoia > policy.paranoiaLevel || disabled.has(r.id) || disabledCats.has(r.category)) continue;
      const c = {
        rule: r,
        signalId: `${r.category}.${r.id}`,
        score: SEVERITY_SCORE[r.severity],
        optional: !(r.severity === 'critical' && r.paranoia === 1),
        monitor: monRules.has(r.id) || monCats.has(r.category),
        chains: r.kind === 'part' ? r.transforms.map(chainInfo) : [],
        kinds: r.kind === 'part' ? this.kindMask(r.targets) : 0,
        needs: r.kind === 'part' ? needsMask(r) : 0,
        decodedOnly: r.kind === 'part' && r.decodedOnly === true && preservesInert(r),
        hslot: r.kind === 'part' && r.pure === true && r.targets.includes('header') ? hslots++ : -1,
        slot: -1,
      };
      if (r.kind === 'part') part.push(c as Compiled<PartRule>);
      else if (r.phase === 'body') body.push(c as Compiled<RequestRule>);
      else req.push(c as Compiled<RequestRule>);
    }
    const order = (a: Compiled<PayloadRule>, b: Compiled<PayloadRule>) => Number(a.optional) - Number(b.optional);
    part.sort(order);
    req.sort(order);
    body.sort(order);
    this.partRules = part;
    this.requestRules = req;
    this.bodyRules = body;
    let slot = 0;
    for (const list of [part, req, body]) for (const c of list) c.slot = slot++;
    this.activeRules = slot;
    this.headerCache = new HeaderResultCache(hslots);
    this.ruleState = new Uint8Array(part.length);
    this.ruleHits = new Array<Hit | undefined>(part.length).fill(undefined);
    this.ruleExcluded = new Array<Hit | undefined>(part.length).fill(undefined);
    this.exclusions = policy.exclusions.map(compileExclusion);
    const hs = new Set(DEFAULT_HEADERS);
    for (const h of policy.headers) hs.add(h);
    this.headers = [...hs];
    this.limits = policy.limits;
  }

  /** Bit mask of `targets` over the engine's kind numbering (numbers assigned on first sight). */
  private kindMask(targets: readonly Location['kind'][]): number {
    let m = 0;
    for (const k of targets) {
      let b = this.kindBits.get(k);
      if (b === undefined) {
        b = this.kindBits.size;
        if (b > 30) throw new RuleRegistryError('more than 31 location kinds targeted');
        this.kindBits.set(k, b);
      }
      m |= 1 << b;
    }
    return m;
  }

  /** The candidate part rules of a part of kind bit `kb` and precondition mask `mask` (see `candidates`). */
  private candidatesFor(kb: number, mask: number): Uint16Array {
    // one map per kind keyed by the mask itself: a small integer for most masks (no number boxing)
    const byMask = (this.candidates[kb] ??= new Map());
    let c = byMask.get(mask);
    if (c === undefined) {
      const rules = this.partRules;
      const bit = 1 << kb;
      const inert = mask !== -1;
      const out: number[] = [];
      for (let ri = 0; ri < rules.length; ri++) {
        const r = rules[ri]!;
        if ((r.kinds & bit) === 0) continue;
        if (inert && r.needs !== 0 && (mask & r.needs) === 0) continue; // cannot match: skip the chains and the call
        if (inert && r.decodedOnly) continue;
        out.push(ri);
      }
      // distinct masks come from attacker-chosen punctuation: bounded by emptying, not by eviction order
      if (this.candidateSets >= MAX_CANDIDATE_SETS) {
        for (const m of this.candidates) m?.clear();
        this.candidateSets = 0;
      }
      byMask.set(mask, (c = Uint16Array.from(out)));
      this.candidateSets++;
    }
    return c;
  }

  /** Request phase: path, path segments, query names/values, cookies, selected headers, and request rules. */
  inspectRequest(ctx: RequestContext): Signal[] {
    const { parts } = requestParts(ctx, this.headers, this.limits);
    return this.run(ctx, parts, 'request');
  }

  /** Body phase: the parts parsed from `ctx.body`, and body-phase request rules. No-op without a body. */
  inspectBody(ctx: RequestContext): Signal[] {
    if (ctx.body === undefined) return [];
    const extracted = bodyParts(ctx, this.limits);
    ctx.scratch.set(SCRATCH_BODY_PARTS, extracted);
    return this.run(ctx, extracted.parts, 'body', extracted.info);
  }

  private requestExclusions(ctx: RequestContext): CompiledExclusion[] {
    if (this.exclusions.length === 0) return this.exclusions;
    let e = ctx.scratch.get(SCRATCH_EXCL);
    if (e === undefined) {
      e = this.exclusions.filter((x) => x.appliesTo(ctx));
      ctx.scratch.set(SCRATCH_EXCL, e);
    }
    return e;
  }

  private run(ctx: RequestContext, parts: readonly Part[], phase: 'request' | 'body', body?: BodyInfo): Signal[] {
    // the budget is per request and counts inspection time only (not the wait for the body between phases):
    // the body phase gets what the request phase left
    const t0 = performance.now();
    const errorsBefore = this.ruleErrors;
    const spent = ctx.scratch.get(SCRATCH_SPENT) ?? 0;
    const scope = new Scope(ctx, parts, phase, t0 + this.policy.budgetMs - spent, body, this.policy);
    const excl = this.requestExclusions(ctx);
    // one byte per active rule, created at the first match (most requests match nothing); kept on the context so
    // that a rule that matched in the request phase does not signal again in the body phase
    let matched = ctx.scratch.get(SCRATCH_MATCHED);
    const out: Signal[] = [];
    let skipped = 0;
    let overBudget = false;
    let sinceClock = 0;
    const overDeadline = (): boolean => {
      if (overBudget) return true;
      // the clock is read every CLOCK_EVERY optional rules, not before each one: most rules take well under a
      // microsecond on a typical request, where performance.now() would be a large share of the cost
      if (++sinceClock < CLOCK_EVERY) return false;
      sinceClock = 0;
      return (overBudget = performance.now() > scope.deadline);
    };

    // Part rules run part by part: each part meets only its candidate rules (its kind targeted, its
    // preconditions passed; one memo lookup per part), instead of every rule walking a list of parts. A rule
    // still reports the first part in part order that it matches (a part it is excluded on only if no other
    // matches), and signals come out in rule order. The per-rule arrays are the engine's own, reset here: run
    // is synchronous and not re-entered (rules never call back into the engine).
    const rules = this.partRules;
    if (parts.length > 0 && rules.length > 0) {
      const state = this.ruleState;
      const hits = this.ruleHits;
      const excludedHits = this.ruleExcluded;
      for (let ri = 0; ri < rules.length; ri++) state[ri] = matched !== undefined && matched[rules[ri]!.slot] === 1 ? 1 : 0;
      let pending = rules.length;
      for (let ri = 0; ri < rules.length; ri++) if (state[ri] !== 0) pending--;
      const kindBits = this.kindBits;
      for (let i = 0; i < parts.length && pending > 0; i++) {
        const part = parts[i]!;
        const kb = kindBits.get(part.loc.kind);
        if (kb === undefined) continue;
        const cands = this.candidatesFor(kb, scope.maskAt(i));
        for (let k = 0; k < cands.length; k++) {
          const ri = cands[k]!;
          if (state[ri] !== 0) continue;
          const c = rules[ri]!;
          if (c.optional && overDeadline()) {
            state[ri] = 2;
            skipped++;
            pending--;
            continue;
          }
          let found: HeaderHit | null | undefined;
          try {
            if (c.hslot !== -1 && part.loc.kind === 'header') {
              // pure rule on a header: one shared result per header value (see HeaderResultCache)
              const entry = scope.headerResults(i, this.headerCache);
              if (entry !== undefined) {
                found = entry[c.hslot];
                if (found === undefined) entry[c.hslot] = found = this.firstMatch(c.rule, c.chains, i, part, scope);
              }
            }
            if (found === undefined) found = this.firstMatch(c.rule, c.chains, i, part, scope);
          } catch {
            this.ruleErrors++;
            state[ri] = 1; // a rule that threw is not run again in this phase (its excluded hit, if any, stands)
            pending--;
            continue;
          } finally {
            scope.cur = -1;
          }
          if (found === null) continue;
          const ex = excl.length ? this.exclusionFor(c.rule, part.loc, excl) : undefined;
          const h: Hit = { loc: part.loc, value: part.value, transformed: found.transformed, matched: found.matched, exclusion: ex };
          if (ex && ex.action === 'disable') {
            excludedHits[ri] ??= h; // this part is excluded for this rule: try the next parts
            continue;
          }
          hits[ri] = h;
          state[ri] = 1;
          pending--;
        }
      }
      for (let ri = 0; ri < rules.length; ri++) {
        const h = hits[ri] ?? excludedHits[ri];
        if (h === undefined) continue;
        hits[ri] = undefined;
        excludedHits[ri] = undefined;
        const c = rules[ri]!;
        if (matched === undefined) ctx.scratch.set(SCRATCH_MATCHED, (matched = new Uint8Array(this.activeRules)));
        matched[c.slot] = 1;
        out.push(this.signal(c, h));
      }
    }
    const reqRules = phase === 'body' ? this.bodyRules : this.requestRules;
    for (let ri = 0; ri < reqRules.length; ri++) {
      const c = reqRules[ri]!;
      if (matched !== undefined && matched[c.slot] === 1) continue;
      if (c.optional && overDeadline()) {
        skipped++;
        continue;
      }
      let found: readonly { hit: string; loc?: Location; value?: string }[];
      try {
        found = c.rule.check(scope);
      } catch {
        this.ruleErrors++;
        continue;
      }
      if (found.length === 0) continue;
      let chosen: Hit | undefined;
      let excluded: Hit | undefined;
      for (const f of found) {
        const ex = this.exclusionFor(c.rule, f.loc, excl);
        const h: Hit = { loc: f.loc, value: f.value, matched: f.hit, exclusion: ex };
        if (ex && ex.action === 'disable') {
          excluded ??= h;
          continue;
        }
        chosen = h;
        break;
      }
      const hit = chosen ?? excluded!;
      if (matched === undefined) ctx.scratch.set(SCRATCH_MATCHED, (matched = new Uint8Array(this.activeRules)));
      matched[c.slot] = 1;
      out.push(this.signal(c, hit));
    }
    ctx.scratch.set(SCRATCH_SPENT, spent + (performance.now() - t0));
    if (this.ruleErrors !== errorsBefore) {
      const n = this.ruleErrors - errorsBefore;
      out.push({
        ruleId: RULE_ERROR_ID,
        detector: 'payload',
        category: 'other',
        score: SEVERITY_SCORE.warning,
        severity: 'warning',
        message: `${n} inspection rule${n === 1 ? '' : 's'} failed on this request (not fully inspected)`,
        evidence: { detail: { failedRules: n, phase } },
      });
    }
    if (overBudget) {
      out.push({
        ruleId: BUDGET_RULE_ID,
        detector: 'payload',
        category: 'other',
        score: 0,
        severity: 'notice',
        message: `inspection budget of ${this.policy.budgetMs} ms spent: ${skipped} optional rules skipped`,
        evidence: { detail: { budgetMs: this.policy.budgetMs, skipped, phase } },
      });
    }
    return out;
  }

  private exclusionFor(rule: PayloadRule, loc: Location | undefined, excl: readonly CompiledExclusion[]): CompiledExclusion | undefined {
    for (const e of excl) if (e.covers(rule.id, rule.category) && e.coversLocation(loc)) return e;
    return undefined;
  }

  /** The first chain of `r` whose output matches on part `idx`, or null. May throw (the rule's `match`). */
  private firstMatch(r: PartRule, chains: readonly ChainInfo[], idx: number, part: Part, scope: Scope): HeaderHit | null {
    scope.cur = idx;
    let prev: string | undefined;
    for (let ci = 0; ci < chains.length; ci++) {
      const v = scope.at(idx, chains[ci]!);
      if (v === prev) continue; // the chain changed nothing more than the previous one
      prev = v;
      const m = r.match(v, part, scope);
      if (m !== null) return typeof m === 'string' ? { transformed: v, matched: m } : m;
    }
    return null;
  }

  private signal(c: Compiled<PayloadRule>, h: Hit): Signal {
    const r = c.rule;
    const disabled = h.exclusion?.action === 'disable';
    const monitor = c.monitor || h.exclusion?.action === 'monitor';
    const s: Signal = {
      ruleId: c.signalId,
      detector: 'payload',
      category: r.category,
      score: disabled ? 0 : c.score,
      severity: r.severity,
      tags: r.tags,
      message: r.name,
      evidence: {
        location: h.loc,
        value: h.value === undefined ? undefined : evidenceText(h.value, h.loc, EVIDENCE_VALUE),
        transformed: h.transformed === undefined ? undefined : evidenceText(h.transformed, h.loc, EVIDENCE_VALUE),
        matched: clip(h.matched, EVIDENCE_MATCH),
      },
    };
    if (monitor && !disabled) s.monitor = true;
    if (h.exclusion) s.exclusion = h.exclusion.id;
    return s;
  }
}
