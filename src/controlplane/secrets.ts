import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/**
 * Stable codes of secret-handling failures:
 * - `BWK_SECRET_KEY`: `BULWARK_SECRET_KEY` is not base64 of exactly 32 bytes, or the key file is unreadable/invalid.
 * - `BWK_SECRET_FORMAT`: a stored value is not a ciphertext of a known version.
 * - `BWK_SECRET_DECRYPT`: authentication failed (wrong key, wrong context, or tampered ciphertext).
 */
export type SecretErrorCode = 'BWK_SECRET_KEY' | 'BWK_SECRET_FORMAT' | 'BWK_SECRET_DECRYPT';

/** A secret could not be loaded, decoded or decrypted. The message never contains the secret itself. */
export class SecretError extends Error {
  readonly code: SecretErrorCode;
  constructor(code: SecretErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SecretError';
    this.code = code;
  }
}

/** Environment variable holding the 32-byte master key in base64. */
export const SECRET_KEY_ENV = 'BULWARK_SECRET_KEY';
/**
 * Environment variable with earlier master keys (base64, comma-separated) during a key rotation: values encrypted
 * under them still decrypt (chosen by key id); every new encryption uses the current key.
 */
export const PREVIOUS_KEYS_ENV = 'BULWARK_SECRET_KEY_PREVIOUS';
/** Key file name inside the data directory, created with mode 0600 on first run when the env var is unset. */
export const SECRET_KEY_FILE = 'secret.key';
/** Prefix and version of the ciphertext format. */
const FORMAT_V1 = 'bwk1';
/** AES-GCM nonce length: 96 bits, the length NIST SP 800-38D recommends for random nonces. */
const NONCE_BYTES = 12;
/** GCM tag length: the full 128 bits (NIST SP 800-38D). */
const TAG_BYTES = 16;

/**
 * Authenticated encryption of small secrets (webhook URLs, signing keys, SMTP credentials) at rest with
 * AES-256-GCM. Ciphertext format (version 1), all parts base64url:
 * `bwk1.<keyId>.<nonce 12 B>.<ciphertext>.<tag 16 B>` where `keyId` is 8 hex chars of SHA-256 of the key
 * (identifies which key encrypted a value, for rotation; reveals nothing usable). Each encryption draws a fresh
 * random 96-bit nonce; with random nonces NIST SP 800-38D bounds one key to 2^32 encryptions, far above the
 * number of secrets a control plane stores. An optional `context` string is bound as additional authenticated
 * data, so a ciphertext copied to another row (e.g. another channel) fails to decrypt.
 */
export interface SecretBox {
  /** Identifier of the key in use (8 hex chars). */
  readonly keyId: string;
  /** Encrypts UTF-8 text; returns the versioned ciphertext string. */
  encrypt(plain: string, context?: string): string;
  /**
   * Decrypts a value produced by {@link SecretBox.encrypt} with the same `context`.
   * @throws {SecretError} `BWK_SECRET_FORMAT` or `BWK_SECRET_DECRYPT`.
   */
  decrypt(blob: string, context?: string): string;
}

/** True when `value` looks like a ciphertext of this module (any version prefix `bwk<n>.`). */
export function isEncrypted(value: string): boolean {
  return /^bwk\d{1,3}\./.test(value);
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('bulwark-secret-key-id\0').update(key).digest('hex').slice(0, 8);
}

function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) throw new SecretError('BWK_SECRET_KEY', `${where} is not base64`);
  const key = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  if (key.length !== 32) throw new SecretError('BWK_SECRET_KEY', `${where} must be base64 of exactly 32 bytes (got ${key.length})`);
  return key;
}

/**
 * Loads the 32-byte master key: from `BULWARK_SECRET_KEY` (base64) when set, else from `<dataDir>/secret.key`,
 * creating that file (exclusively, mode 0600, random key) on first run. A key file readable by group or others
 * is used but logged as a warning.
 * @throws {SecretError} `BWK_SECRET_KEY` when the variable or the file does not hold a 32-byte base64 key.
 */
export function loadSecretKey(opts: { dataDir: string; env?: NodeJS.ProcessEnv; logger?: Logger }): { key: Buffer; source: 'env' | 'file' | 'created' } {
  const env = opts.env ?? process.env;
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { key: decodeKey(fromEnv, SECRET_KEY_ENV), source: 'env' };
  const file = join(opts.dataDir, SECRET_KEY_FILE);
  mkdirSync(opts.dataDir, { recursive: true });
  try {
    // 'wx': fails if the file exists, so two processes starting at once never overwrite each other's key.
    const fd = openSync(file, 'wx', 0o600);
    try {
      const key = randomBytes(32);
      writeSync(fd, key.toString('base64') + '\n');
      opts.logger?.info({ file }, 'secrets: created a new master key file (mode 0600); back it up with the database');
      return { key, source: 'created' };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SecretError('BWK_SECRET_KEY', `cannot create key file ${file}: ${(err as Error).message}`);
    }
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) opts.logger?.warn({ file, mode: mode.toString(8) }, 'secrets: key file is readable by group/others; chmod 600 it');
  } catch (err) {
    throw new SecretError('BWK_SECRET_KEY', `cannot read key file ${file}: ${(err as Error).message}`);
  }
  return { key: decodeKey(text, file), source: 'file' };
}

/**
 * Creates a {@link SecretBox} over a 32-byte key; `previous` keys (rotation) are used only to decrypt values
 * whose key id is theirs.
 * @throws {SecretError} `BWK_SECRET_KEY` when a key is not 32 bytes.
 */
export function createSecretBox(key: Buffer, previous: readonly Buffer[] = []): SecretBox {
  for (const x of [key, ...previous]) {
    if (x.length !== 32) throw new SecretError('BWK_SECRET_KEY', `AES-256 needs a 32-byte key (got ${x.length})`);
  }
  const k = Buffer.from(key);
  const keyId = keyIdOf(k);
  const byId = new Map<string, Buffer>(previous.map((p) => [keyIdOf(p), Buffer.from(p)]));
  byId.set(keyId, k);
  return {
    keyId,
    encrypt(plain: string, context?: string): string {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', k, nonce, { authTagLength: TAG_BYTES });
      if (context !== undefined) cipher.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [FORMAT_V1, keyId, nonce.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
    },
    decrypt(blob: string, context?: string): string {
      const parts = blob.split('.');
      if (parts.length !== 5 || parts[0] !== FORMAT_V1) throw new SecretError('BWK_SECRET_FORMAT', 'not a bwk1 ciphertext');
      const [, kid, n, c, t] = parts as [string, string, string, string, string];
      const dk = byId.get(kid);
      if (!dk) throw new SecretError('BWK_SECRET_DECRYPT', `encrypted with an unknown key (${kid}); the current key is ${keyId}`);
      const nonce = Buffer.from(n, 'base64url');
      const tag = Buffer.from(t, 'base64url');
      if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw new SecretError('BWK_SECRET_FORMAT', 'bad nonce or tag length');
      try {
        const decipher = createDecipheriv('aes-256-gcm', dk, nonce, { authTagLength: TAG_BYTES });
        if (context !== undefined) decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(Buffer.from(c, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretError('BWK_SECRET_DECRYPT', 'authentication failed (wrong key or context, or tampered value)');
      }
    },
  };
}

/**
 * Convenience: {@link loadSecretKey} then {@link createSecretBox}, with earlier keys from
 * `BULWARK_SECRET_KEY_PREVIOUS` (comma-separated base64) for rotation.
 * @throws {SecretError} `BWK_SECRET_KEY` when a key is invalid.
 */
export function openSecretBox(opts: { dataDir: string; env?: NodeJS.ProcessEnv; logger?: Logger }): SecretBox {
  const env = opts.env ?? process.env;
  const prev = (env[PREVIOUS_KEYS_ENV] ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  return createSecretBox(loadSecretKey(opts).key, prev.map((p, i) => decodeKey(p, `${PREVIOUS_KEYS_ENV}[${i}]`)));
}

/**
 * Masks a URL for display: scheme, host and port are kept, path, query, fragment and user-info are hidden:
 * `https://hooks.example.test/T0/B1/xyz` → `https://hooks.example.test/***`. Not a URL → `***`.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.origin === 'null') return '***';
    return `${u.origin}/***`;
  } catch {
    return '***';
  }
}

/**
 * Masks a key, token or password for display: `****` plus its last 4 characters when it is at least 12 long
 * (so at most a third is shown), else `****` alone.
 */
export function maskSecret(secret: string): string {
  return secret.length >= 12 ? `****${secret.slice(-4)}` : '****';
}
