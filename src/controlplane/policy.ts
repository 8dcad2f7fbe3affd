import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { ConfigError } from '../config/errors.ts';
import { parsePolicy, validatePolicy } from '../config/load.ts';
import type { Policy } from '../config/schema.ts';
import { lineDiff } from './diff.ts';
import type { ControlPlaneHost } from './host.ts';
import { ApiError } from './problem.ts';
import type { ControlPlaneStore, PolicyVersion } from './store.ts';

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
   * Records the running policy as version 1 on first start; afterwards, when the gateway has no policy
   * file, re-applies the latest stored version so API edits survive a restart. With a file, a file that
   * differs from the latest version wins and is recorded (author `file`).
   */
  async init(): Promise<void> {
    const latest = this.store.latestPolicyVersion();
    const fileText = this.readFile();
    if (!latest) {
      this.insert(fileText ?? '', 'system', 'initial policy', '');
      return;
    }
    if (fileText !== undefined) {
      this.syncFromFile();
      return;
    }
    if (latest.yaml !== '') {
      try {
        await this.host.reload(parsePolicy(latest.yaml));
      } catch (err) {
        this.host.services.logger.error({ err }, `control plane: could not re-apply stored policy version ${latest.version}`);
      }
    }
  }

  private readFile(): string | undefined {
    if (!this.host.policyFile) return undefined;
    try {
      return readFileSync(this.host.policyFile, 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Records a new version when the policy file was edited outside the API (the gateway reloads it itself). */
  syncFromFile(): void {
    const text = this.readFile();
    const latest = this.store.latestPolicyVersion();
    if (text === undefined || !latest || text === latest.yaml) return;
    try {
      parsePolicy(text);
    } catch {
      return; // the gateway keeps the old policy for an invalid file; so do the versions
    }
    this.insert(text, 'file', 'policy file changed on disk', latest.yaml);
  }

  private insert(yaml: string, author: string, comment: string | undefined, prevYaml: string): PolicyVersion {
    const prev = this.store.latestPolicyVersion();
    const version = (prev?.version ?? 0) + 1;
    const d = lineDiff(prevYaml, yaml, [`v${version - 1}`, `v${version}`]);
    const v: PolicyVersion = { version, author, createdAt: Date.now(), comment, yaml, diff: d.text, linesAdded: d.added, linesRemoved: d.removed };
    this.store.insertPolicyVersion(v);
    return v;
  }

  /** The current policy (latest version) with its ETag. */
  current(): PolicyView {
    this.syncFromFile();
    const v = this.store.latestPolicyVersion();
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
      this.syncFromFile();
      const latest = this.store.latestPolicyVersion();
      const cur = latest?.version ?? 0;
      if (opts.ifMatch === undefined) {
        if (opts.requireMatch !== false) throw new ApiError(428, 'BWK_PRECONDITION_REQUIRED', `If-Match header required (current ETag ${etagOf(cur)})`);
      } else if (!matches(opts.ifMatch, cur)) {
        throw new ApiError(412, 'BWK_PRECONDITION_FAILED', `policy changed: current ETag is ${etagOf(cur)}`, { headers: { etag: etagOf(cur) } });
      }
      const r = this.validate({ yaml });
      if (!r.valid) throw new ApiError(422, 'BWK_POLICY_INVALID', 'policy is invalid', { errors: r.errors });
      try {
        await this.host.reload(r.policy);
      } catch (err) {
        throw new ApiError(500, 'BWK_INTERNAL', `gateway refused the policy: ${(err as Error).message}`);
      }
      this.writeFile(yaml);
      return { ...this.insert(yaml, author, opts.comment, latest?.yaml ?? ''), before: cur };
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Applies a change computed from the current document (read-modify-write inside the serialised section). */
  async update(author: string, fn: (doc: Record<string, unknown>) => Record<string, unknown>, opts: { comment?: string; ifMatch?: string; requireMatch?: boolean }): Promise<PolicyVersion & { before: number }> {
    // Read the document under the same lock as apply: compute inside a chained step, then apply with the
    // version we read as If-Match (so a concurrent change yields 412 rather than a lost update).
    const latest = this.store.latestPolicyVersion();
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

  versions(beforeVersion: number | undefined, limit: number): PolicyVersion[] {
    return this.store.listPolicyVersions(beforeVersion, limit);
  }

  version(v: number): PolicyVersion | undefined {
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
