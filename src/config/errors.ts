/**
 * Stable error codes of configuration problems. Operators and scripts match on the code, never on the text.
 * - `BWK_CONFIG_READ`: the policy file cannot be read.
 * - `BWK_CONFIG_PARSE`: the file is not valid YAML.
 * - `BWK_CONFIG_INVALID`: the YAML does not satisfy the policy schema (see {@link ConfigError.issues}).
 * - `BWK_CONFIG_ENV`: an environment variable override is invalid.
 */
export type ConfigErrorCode = 'BWK_CONFIG_READ' | 'BWK_CONFIG_PARSE' | 'BWK_CONFIG_INVALID' | 'BWK_CONFIG_ENV';

/** One schema violation: `path` in dotted/indexed form (e.g. `rateLimits[2].limit`) and the reason. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A policy that cannot be used. `message` lists every issue as `path: reason`, one per line. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: readonly ConfigIssue[];
  readonly file?: string;

  constructor(code: ConfigErrorCode, issues: readonly ConfigIssue[], file?: string) {
    const where = file ? `${file}: ` : '';
    super(`${code}: ${where}invalid policy\n` + issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.code = code;
    this.issues = issues;
    this.file = file;
  }
}

/** Formats a zod issue path (`['rateLimits', 2, 'limit']`) as `rateLimits[2].limit`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
