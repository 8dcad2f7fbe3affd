import type { SqliteDb } from '../../store/sqlite.ts';
import { migrate } from '../../store/sqlite.ts';
import { charClasses, charClassNames, classifyValue, typeBit, VALUE_TYPES, type ValueType } from '../discovery/classify.ts';
import type { ModelPart } from './parts.ts';
import type { PositiveModelPolicy } from './schema.ts';

/** Learned profile of one parameter (query/form/JSON key path/multipart field) of one endpoint. */
export interface ParamProfile {
  /** Observations. */
  n: number;
  /** Bit mask of value types seen ({@link typeBit}). */
  types: number;
  /** Shortest and longest value seen, in characters. */
  minLen: number;
  maxLen: number;
  /** Union of character classes seen ({@link charClasses}). */
  chars: number;
}

/** Learning state of an endpoint profile. */
export type ProfileState = 'learning' | 'enforcing' | 'frozen';

/** Profile of one endpoint (`METHOD route`). */
export interface EndpointProfile {
  /** Requests learned from. */
  n: number;
  /** First request learned, ms since epoch. */
  firstSeen: number;
  /** True when the endpoint had more than `maxParams` distinct parameters: unknown names are not flagged. */
  open: boolean;
  /** Frozen by an operator (import/review): never learns, always enforces. */
  frozen?: boolean;
  /** Value of `n` when a new parameter name was last learned (the parameter set's convergence point). */
  lastNew?: number;
  params: Record<string, ParamProfile>;
}

/** JSON export of the model (reviewable, importable). */
export interface PositiveModelExport {
  version: 1;
  exportedAt: number;
  endpoints: Record<string, EndpointProfile & { state: ProfileState }>;
}

/** One deviation of a request from its endpoint's profile. */
export interface Deviation {
  kind: 'unknown_param' | 'type' | 'charset' | 'length';
  /** Parameter key, e.g. `query:q`, `json:user.name`. */
  param: string;
  /** What was expected vs. seen, for the explanation. */
  expected: string;
  seen: string;
}

/**
 * Types a learned type mask accepts besides its own members: free text accepts everything, `word` accepts
 * identifiers of every shape, `token` accepts shorter opaque values, `float` accepts integers. Empty values are
 * always accepted (optional parameters).
 */
const ACCEPTS: Partial<Record<ValueType, readonly ValueType[]>> = {
  text: VALUE_TYPES,
  word: ['int', 'bool', 'hex', 'uuid', 'date', 'token', 'word', 'float', 'email'],
  token: ['int', 'hex', 'uuid', 'word', 'token'],
  hex: ['int'],
  float: ['int'],
  int: [],
  email: ['word'],
};

/**
 * Character classes whose first appearance in a parameter is a deviation: other punctuation, injection
 * metacharacters (quotes, angle brackets, `;`, `\\`, backtick, braces, `|`, `$`), control characters, non-ASCII and
 * line breaks. New letters case, digits, spaces or safe punctuation are not (free text varies there); type
 * checks cover those.
 */
export const SUSPICIOUS_CLASSES = 32 | 64 | 128 | 256 | 512;

function acceptedMask(types: number): number {
  let m = types | typeBit('empty');
  for (const t of VALUE_TYPES) {
    if (types & typeBit(t)) for (const a of ACCEPTS[t] ?? []) m |= typeBit(a);
  }
  return m;
}

function typeNames(mask: number): string {
  return VALUE_TYPES.filter((t) => mask & typeBit(t)).join('|');
}

/** Parameter key of a part: `<kind>:<name>`. */
export function partKey(p: ModelPart): string {
  return p.loc.kind + ':' + (p.loc.name ?? '');
}

function valueType(p: ModelPart): ValueType {
  if (p.jsonType === 'number') return Number.isInteger(Number(p.value)) && p.value.indexOf('.') === -1 && p.value.indexOf('e') === -1 ? 'int' : 'float';
  if (p.jsonType === 'boolean') return 'bool';
  if (p.jsonType === 'null' || p.jsonType === 'object' || p.jsonType === 'array') return 'empty';
  return classifyValue(p.value);
}

/**
 * The positive security model: per endpoint, learned parameter names, value types, length ranges and
 * character classes (OWASP Input Validation Cheat Sheet: allow-list validation by type, length and
 * character set). Bounded by `maxEndpoints` profiles and `maxParams` parameters per profile.
 */
export class PositiveModel {
  private readonly profiles = new Map<string, EndpointProfile>();
  private readonly dirty = new Set<string>();
  policy: PositiveModelPolicy;

  /** @param policy - `behavior.positiveModel`. */
  constructor(policy: PositiveModelPolicy) {
    this.policy = policy;
  }

  /** Number of endpoint profiles. */
  get size(): number {
    return this.profiles.size;
  }

  /** Profile of an endpoint key (`METHOD route`). */
  profile(key: string): EndpointProfile | undefined {
    return this.profiles.get(key);
  }

  /** State of an endpoint profile at `now` (ms). */
  state(key: string, now = Date.now()): ProfileState {
    const p = this.profiles.get(key);
    if (this.policy.mode === 'frozen' || p?.frozen) return 'frozen';
    if (!p || this.policy.mode === 'learning') return 'learning';
    if (p.n >= this.policy.learning.minSamples && now - p.firstSeen >= this.policy.learning.period) return 'enforcing';
    return 'learning';
  }

  /** Learns one request's parts for an endpoint (no-op when frozen or the profile bound is reached). */
  learn(key: string, parts: readonly ModelPart[], now = Date.now()): void {
    if (this.policy.mode === 'frozen') return;
    let p = this.profiles.get(key);
    if (p === undefined) {
      if (this.profiles.size >= this.policy.maxEndpoints) return;
      p = { n: 0, firstSeen: now, open: false, params: {} };
      this.profiles.set(key, p);
    }
    if (p.frozen) return;
    p.n++;
    let count = -1;
    for (const part of parts) {
      const k = partKey(part);
      let pp = p.params[k];
      if (pp === undefined) {
        if (p.open) continue;
        if (count < 0) count = Object.keys(p.params).length;
        if (count >= this.policy.maxParams) {
          p.open = true;
          continue;
        }
        pp = { n: 0, types: 0, minLen: Number.MAX_SAFE_INTEGER, maxLen: 0, chars: 0 };
        p.params[k] = pp;
        p.lastNew = p.n;
        count++;
      }
      const len = part.value.length;
      pp.n++;
      pp.types |= typeBit(valueType(part));
      if (len < pp.minLen) pp.minLen = len;
      if (len > pp.maxLen) pp.maxLen = len;
      pp.chars |= charClasses(part.value);
    }
    this.dirty.add(key);
  }

  /**
   * Deviations of a request's parts from the endpoint's profile; empty while the profile is learning.
   * Parameters seen fewer than `minParamSamples` times are only checked for being known.
   */
  check(key: string, parts: readonly ModelPart[], now = Date.now()): Deviation[] {
    const out: Deviation[] = [];
    const state = this.state(key, now);
    if (state === 'learning') return out;
    const p = this.profiles.get(key);
    if (!p) return out;
    const minN = this.policy.learning.minParamSamples;
    // unknown names are flagged only once the parameter set has converged: no new name in the later half of
    // the requests learned (optional parameters of a sparsely used endpoint are still appearing otherwise)
    const converged = state === 'frozen' || p.n - (p.lastNew ?? 0) >= Math.ceil(p.n / 2);
    for (const part of parts) {
      const k = partKey(part);
      const pp = p.params[k];
      if (pp === undefined) {
        if (!p.open && converged) out.push({ kind: 'unknown_param', param: k, expected: 'known parameter', seen: 'unknown' });
        continue;
      }
      if (pp.n < minN) continue;
      const t = valueType(part);
      if ((acceptedMask(pp.types) & typeBit(t)) === 0) {
        out.push({ kind: 'type', param: k, expected: typeNames(pp.types), seen: t });
        continue;
      }
      const c = charClasses(part.value);
      const extra = c & ~pp.chars & SUSPICIOUS_CLASSES;
      if (extra !== 0) {
        out.push({ kind: 'charset', param: k, expected: charClassNames(pp.chars), seen: charClassNames(extra) });
        continue;
      }
      const lim = Math.max(2 * pp.maxLen, pp.maxLen + this.policy.lengthSlack);
      if (part.value.length > lim) out.push({ kind: 'length', param: k, expected: `<= ${lim} (learned ${pp.minLen}-${pp.maxLen})`, seen: String(part.value.length) });
    }
    return out;
  }

  /** Marks profiles frozen (all, or those listed): they stop learning and enforce. */
  freeze(keys?: readonly string[]): number {
    let n = 0;
    for (const [k, p] of this.profiles) {
      if (keys && !keys.includes(k)) continue;
      p.frozen = true;
      this.dirty.add(k);
      n++;
    }
    return n;
  }

  /** The whole model as JSON for review. */
  export(now = Date.now()): PositiveModelExport {
    const endpoints: PositiveModelExport['endpoints'] = {};
    for (const [k, p] of this.profiles) endpoints[k] = { ...p, params: structuredClone(p.params), state: this.state(k, now) };
    return { version: 1, exportedAt: now, endpoints };
  }

  /**
   * Replaces or adds profiles from an export (e.g. after review). Profiles whose exported state is `frozen`
   * stay frozen.
   * @throws {TypeError} when the data is not a version-1 export.
   */
  import(data: PositiveModelExport): number {
    if (!data || data.version !== 1 || typeof data.endpoints !== 'object') throw new TypeError('not a positive model export (version 1)');
    let n = 0;
    for (const [k, e] of Object.entries(data.endpoints)) {
      if (this.profiles.size >= this.policy.maxEndpoints && !this.profiles.has(k)) break;
      this.profiles.set(k, { n: e.n, firstSeen: e.firstSeen, open: e.open, frozen: e.frozen || e.state === 'frozen' || undefined, params: structuredClone(e.params) });
      this.dirty.add(k);
      n++;
    }
    return n;
  }

  /** Creates the SQLite table (namespace `positive`). */
  static migrate(db: SqliteDb): void {
    migrate(db, 'positive', [{ version: 1, up: 'CREATE TABLE positive_profiles (key TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL)' }]);
  }

  /** Loads persisted profiles. */
  load(db: SqliteDb): void {
    for (const r of db.prepare('SELECT key, data FROM positive_profiles').all() as { key: string; data: string }[]) {
      if (this.profiles.size >= this.policy.maxEndpoints) break;
      try {
        this.profiles.set(r.key, JSON.parse(r.data) as EndpointProfile);
      } catch {
        /* skip a corrupt row */
      }
    }
  }

  /** Writes changed profiles in one transaction. @returns rows written. */
  persist(db: SqliteDb, now = Date.now()): number {
    const put = db.prepare('INSERT INTO positive_profiles (key, data, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at');
    let n = 0;
    db.transaction(() => {
      for (const k of this.dirty) {
        const p = this.profiles.get(k);
        if (!p) continue;
        put.run(k, JSON.stringify(p), now);
        n++;
      }
    })();
    this.dirty.clear();
    return n;
  }
}

const registry = new WeakMap<object, PositiveModel>();

/** The model shared by detectors built for one services object (survives policy reloads). */
export function positiveModelFor(owner: object, policy: PositiveModelPolicy): PositiveModel {
  let m = registry.get(owner);
  if (m === undefined) {
    m = new PositiveModel(policy);
    registry.set(owner, m);
  } else m.policy = policy;
  return m;
}

/** The model for a services object, if any (for the control plane's export/import). */
export function getPositiveModel(owner: object): PositiveModel | undefined {
  return registry.get(owner);
}
