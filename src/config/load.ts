import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError, formatPath, type ConfigIssue } from './errors.ts';
import { policySchema, type Policy } from './schema.ts';

/**
 * Validates a policy object (already parsed from YAML/JSON).
 * @throws {ConfigError} `BWK_CONFIG_INVALID` with every issue as `path: reason`.
 */
export function validatePolicy(input: unknown, file?: string): Policy {
  const r = policySchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues: ConfigIssue[] = r.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  throw new ConfigError('BWK_CONFIG_INVALID', issues, file);
}

/**
 * Parses and validates policy YAML text.
 * @throws {ConfigError} `BWK_CONFIG_PARSE` for YAML syntax errors (with line/column), `BWK_CONFIG_INVALID` for schema errors.
 */
export function parsePolicy(text: string, file?: string): Policy {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      'BWK_CONFIG_PARSE',
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}:${e.linePos[0].col}` : '', message: e.message.split('\n')[0] ?? e.message })),
      file,
    );
  }
  return validatePolicy(doc.toJS({ maxAliasCount: 100 }), file);
}

/**
 * Loads the policy file, or the defaults when `file` is undefined.
 * @throws {ConfigError} `BWK_CONFIG_READ` when the file cannot be read, or as {@link parsePolicy}.
 */
export function loadPolicy(file?: string): Policy {
  if (!file) return validatePolicy({});
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('BWK_CONFIG_READ', [{ path: '', message: (err as Error).message }], file);
  }
  return parsePolicy(text, file);
}
