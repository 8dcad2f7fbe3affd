import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { ConfigError } from '../config/errors.ts';
import { parsePolicy, validatePolicy } from '../config/load.ts';
import type { Policy } from '../config/schema.ts';
import { lineDiff } from './diff.ts';
import type { ControlPlaneHost } from './host.ts';
import { ApiError } from './problem.ts';
import type { ControlPlaneStore, PolicyVersion, PolicyVersionMeta } from './store.ts';

/** The policy as the API shows it. */
export interface PolicyView {
  version: number;
  /** Strong ETag `"v<version>"` (RFC 9110 §8.8.3). */
  etag: string;
  yaml: string;
  /** The document as written (YAML → JSON), without defaults. */
  document: Record<string, unknown>;
  /** Validated policy with defaults (durations in ms). */
  policy: Policy;
}

/** Outcome of validating a candidate policy. */
export type ValidationResult = { valid: true; policy: Policy } | { valid: false; errors: { path: string; message: string }[] };

/** ETag of a policy version. */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

/**
 * JSON merge patch (RFC 7396): objects merge recursively, `null` deletes a member, anything else replaces.
 * Depth-bounded by the request body limit (the body parser already bounds nesting by size).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Parses YAML text into a plain document (no defaults); `{}` for empty text. */
export function yamlToDocument(text: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError('BWK_CONFIG_PARSE', doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : '', message: e.message.split('\n')[0] ?? e.message })));
  }
  const js = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (js === null || js === undefined) return {};
  if (typeof js !== 'object' || Array.isArray(js)) throw new ConfigError('BWK_CONFIG_INVALID', [{ path: '', message: 'expected a mapping at the top level' }]);
  return js as Record<string, unknown>;
}

/** Serialises a document to YAML (`''` for an empty document: all defaults). */
export function documentToYaml(doc: Record<string, unknown>): string {
  return Object.keys(doc).length === 0 ? '' : stringify(doc, { lineWidth: 0 });
}

/**
 * Policy versions: every applied change becomes a numbered version with author, time, comment and a line
 * diff of the YAML. Applying validates with the policy schema, calls `host.reload` (atomic swap; the old
 * policy stays when it throws), writes the policy file when the gateway has one (atomic rename), then
 * commits the version. Changes are serialised (one at a time) so `If-Match` checks cannot race.
 */
export class PolicyService {
  private readonly store: ControlPlaneStore;
  private readonly host: ControlPlaneHost;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(store: ControlPlaneStore, host: ControlPlaneHost) {
    this.store = store;
    this.host = host;
  }

  /**
   * Reconciles the stored versions with the running policy on start:
   * - no version yet: the running policy becomes version 1 (the policy file's text when known, else a
   *   document equivalent to the running policy, `''` for pure defaults);
   * - the gateway runs on pure defaults (no file, no policy given) and a stored version exists: the latest
   *   stored version is re-applied, so edits made through the API survive a restart;
   * - otherwise a running policy that differs from the latest version (file edited, other start options)
   *   wins and is recorded as a new version (author `system`).
   */
  async init(): Promise<void> {
    const latest = await this.store.latestPolicyVersion();
    const running = this.host.policy();
    if (!latest) {
      await this.insert(this.readFile() ?? policyToYaml(running), 'system', 'initial policy', '');
      this.lastSeen = comparable(running);
      return;
    }
    if (samePolicy(parsePolicy(latest.yaml), running)) {
      this.lastSeen = comparable(running);
      return;
    }
    if (this.readFile() === undefined && samePolicy(running, validatePolicy({}))) {
      try {
        await this.reloadHost(latest.yaml, parsePolicy(latest.yaml));
        this.lastSeen = comparable(this.host.policy());
        return;
      } catch (err) {
        this.host.services.logger.error({ err }, `control plane: could not re-apply stored policy version ${latest.version}`);
      }
    }
    await this.syncFromRunning();
  }

  /**
   * Hands a policy to the gateway. `BulwarkApp.reload(object)` validates the object it receives
   * (`validatePolicy`), so it gets the policy *document* (input form): a parsed policy would have its
   * millisecond durations re-read as seconds. If the running policy then differs from the expected one
   * (a host that installs objects as already validated), the validated policy is installed instead.
   */
  private async reloadHost(yaml: string, expected: Policy): Promise<void> {
    await this.host.reload(yamlToDocument(yaml) as unknown as Policy);
    if (!samePolicy(this.host.policy(), expected)) await this.host.reload(expected);
  }

  /** JSON of the running policy when the latest version was recorded (to notice outside reloads). */
  private lastSeen = '';

  /**
   * Records a new version when the gateway's policy changed outside the API (file watcher, SIGHUP): the file
   * text when the host exposes its path, else a document equivalent to the running policy (author `file`).
   */
  async syncFromRunning(): Promise<void> {
    const running = this.host.policy();
    const now = comparable(running);
    if (now === this.lastSeen) return;
    this.lastSeen = now;
    const latest = await this.store.latestPolicyVersion();
    if (latest && samePolicy(parsePolicy(latest.yaml), running)) return;
    const text = this.readFile();
    const yaml = text !== undefined && this.validate({ yaml: text }).valid ? text : policyToYaml(running);
    await this.insert(yaml, latest ? 'file' : 'system', 'policy changed outside the control plane (file reload or start options)', latest?.yaml ?? '');
  }

  private readFile(): string | undefined {
    if (!this.host.policyFile) return undefined;
    try {
      return readFileSync(this.host.policyFile, 'utf8');
    } catch {
      return undefined;
    }
  }

  private async insert(yaml: string, author: string, comment: string | undefined, prevYaml: string): Promise<PolicyVersion> {
    const prev = await this.store.latestPolicyVersion();
    const version = (prev?.version ?? 0) + 1;
    const d = lineDiff(prevYaml, yaml, [`v${version - 1}`, `v${version}`]);
    const v: PolicyVersion = { version, author, createdAt: Date.now(), comment, yaml, diff: d.text, linesAdded: d.added, linesRemoved: d.removed };
    await this.store.insertPolicyVersion(v);
    return v;
  }

  /** The current policy (latest version) with its ETag. */
  async current(): Promise<PolicyView> {
    // Serialised with apply(): a reload in progress must not be mistaken for an outside change.
    await this.serial(() => this.syncFromRunning());
    const v = await this.store.latestPolicyVersion();
    const yaml = v?.yaml ?? '';
    return { version: v?.version ?? 0, etag: etagOf(v?.version ?? 0), yaml, document: yamlToDocument(yaml), policy: this.host.policy() };
  }

  /** Validates YAML text or a document without applying it. */
  validate(input: { yaml?: string; document?: Record<string, unknown> }): ValidationResult {
    try {
      const policy = input.yaml !== undefined ? parsePolicy(input.yaml) : validatePolicy(input.document ?? {});
      return { valid: true, policy };
    } catch (err) {
      if (err instanceof ConfigError) return { valid: false, errors: err.issues.map((i) => ({ path: i.path, message: i.message })) };
      throw err;
    }
  }

  /**
   * Applies a new policy text as a new version.
   * @param ifMatch - the `If-Match` header; required unless `requireMatch` is false.
   * @throws {ApiError} 428 without `If-Match`, 412 on mismatch, 422 `BWK_POLICY_INVALID` with the issues,
   *   500 when the gateway refuses the reload.
   */
  apply(yaml: string, author: string, opts: { comment?: string; ifMatch?: string; requireMatch?: boolean }): Promise<PolicyVersion & { before: number }> {
    const run = async (): Promise<PolicyVersion & { before: number }> => {
      await this.syncFromRunning();
      const latest = await this.store.latestPolicyVersion();
      const cur = latest?.version ?? 0;
      if (opts.ifMatch === undefined) {
        if (opts.requireMatch !== false) throw new ApiError(428, 'BWK_PRECONDITION_REQUIRED', `If-Match header required (current ETag ${etagOf(cur)})`);
      } else if (!matches(opts.ifMatch, cur)) {
        throw new ApiError(412, 'BWK_PRECONDITION_FAILED', `policy changed: current ETag is ${etagOf(cur)}`, { headers: { etag: etagOf(cur) } });
      }
      const r = this.validate({ yaml });
      if (!r.valid) throw new ApiError(422, 'BWK_POLICY_INVALID', 'policy is invalid', { errors: r.errors });
      try {
        await this.reloadHost(yaml, r.policy);
      } catch (err) {
        throw new ApiError(500, 'BWK_INTERNAL', `gateway refused the policy: ${(err as Error).message}`);
      }
      this.writeFile(yaml);
      this.lastSeen = comparable(this.host.policy());
      return { ...(await this.insert(yaml, author, opts.comment, latest?.yaml ?? '')), before: cur };
    };
    return this.serial(run);
  }

  /** Runs `fn` after every change queued before it (one policy change at a time). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Applies a change computed from the current document (read-modify-write inside the serialised section). */
  async update(author: string, fn: (doc: Record<string, unknown>) => Record<string, unknown>, opts: { comment?: string; ifMatch?: string; requireMatch?: boolean }): Promise<PolicyVersion & { before: number }> {
    // Read the document under the same lock as apply: compute inside a chained step, then apply with the
    // version we read as If-Match (so a concurrent change yields 412 rather than a lost update).
    const latest = await this.store.latestPolicyVersion();
    const doc = yamlToDocument(latest?.yaml ?? '');
    const next = fn(doc);
    const ifMatch = opts.ifMatch ?? etagOf(latest?.version ?? 0);
    return this.apply(documentToYaml(next), author, { comment: opts.comment, ifMatch });
  }

  private writeFile(yaml: string): void {
    const f = this.host.policyFile;
    if (!f) return;
    const tmp = `${f}.bulwark-tmp`;
    writeFileSync(tmp, yaml, { mode: 0o600 });
    renameSync(tmp, f);
  }

  versions(beforeVersion: number | undefined, limit: number): Promise<PolicyVersionMeta[]> {
    return this.store.listPolicyVersions(beforeVersion, limit);
  }

  version(v: number): Promise<PolicyVersion | undefined> {
    return this.store.getPolicyVersion(v);
  }
}

/** `If-Match` comparison: `*` or a list containing `"v<n>"` (weak validators not accepted, RFC 9110 §13.1.1). */
function matches(header: string, version: number): boolean {
  const want = etagOf(version);
  return header.split(',').some((t) => {
    const s = t.trim();
    return s === '*' || s === want;
  });
}

/**
 * JSON of a policy for comparisons, without `upstreams` (the gateway may override them from its start
 * options, which are not part of the policy document).
 */
function comparable(p: Policy): string {
  return JSON.stringify({ ...p, upstreams: undefined });
}

/** True when two validated policies are equal (ignoring `upstreams`, see {@link comparable}). */
export function samePolicy(a: Policy, b: Policy): boolean {
  return comparable(a) === comparable(b);
}

function getPath(o: unknown, path: readonly (string | number)[]): unknown {
  let x = o;
  for (const k of path) {
    if (x === null || typeof x !== 'object') return undefined;
    x = (x as Record<string | number, unknown>)[k];
  }
  return x;
}

/**
 * A policy document that validates to `p` (used when the original text is unknown: a policy given as an
 * object at start, or a file reloaded by the gateway). The validated policy holds durations in ms while the
 * schema reads bare numbers as seconds, so every number that comes back ×1000 after a round trip is a
 * duration and is written as `<n>ms`. Values equal to the defaults are kept (explicit is clearer than
 * implicit in a version history). `''` when `p` is the default policy.
 */
export function policyToDocument(p: Policy): Record<string, unknown> {
  const doc = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
  const probe = validatePolicy(doc);
  const fix = (node: unknown, path: (string | number)[]): void => {
    if (Array.isArray(node)) node.forEach((v, i) => fix(v, [...path, i]));
    else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) fix(v, [...path, k]);
    else if (typeof node === 'number' && node !== 0 && getPath(probe, path) === node * 1000) {
      const parent = getPath(doc, path.slice(0, -1)) as Record<string | number, unknown>;
      parent[path[path.length - 1]!] = `${node}ms`;
    }
  };
  fix(JSON.parse(JSON.stringify(p)), []);
  return doc;
}

/** YAML of {@link policyToDocument} (`''` for the default policy). */
export function policyToYaml(p: Policy): string {
  if (samePolicy(p, validatePolicy({}))) return '';
  return documentToYaml(policyToDocument(p));
}
