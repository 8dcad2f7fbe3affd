import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing and token helpers of the control plane.
 *
 * Passwords: scrypt (RFC 7914), a memory-hard KDF, with N = 2^15, r = 8, p = 1 (the OWASP Password Storage
 * Cheat Sheet minimum for scrypt is N=2^17,r=8,p=1 *or* equivalent; RFC 7914 §2 recommends r=8, p=1 and N
 * as large as the latency budget allows — 2^15 costs 32 MiB and ~50–100 ms here). 32-byte random salt,
 * 64-byte derived key. The parameters are stored with the hash, so they can be raised later without
 * invalidating existing hashes. Comparison is constant-time (`timingSafeEqual`).
 *
 * Tokens and session ids: 256 random bits (base64url, 43 chars), stored only as their SHA-256 — a database
 * leak does not reveal usable credentials, and 256-bit entropy makes a fast hash sufficient
 * (OWASP Session Management Cheat Sheet: ≥ 64 bits of entropy).
 */

/** scrypt cost parameters (RFC 7914): N = 2^logN, block size r, parallelism p. */
export interface ScryptParams {
  logN: number;
  r: number;
  p: number;
}

/** Default parameters: N = 2^15, r = 8, p = 1 (RFC 7914 / OWASP). */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 15, r: 8, p: 1 };

const KEY_LEN = 64;
const SALT_LEN = 32;

function derive(password: string, salt: Buffer, prm: ScryptParams): Promise<Buffer> {
  const N = 2 ** prm.logN;
  // maxmem must exceed 128·N·r bytes (32 MiB for the defaults); allow twice that.
  const maxmem = 256 * N * prm.r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LEN, { N, r: prm.r, p: prm.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Hashes a password with scrypt. Runs on the libuv thread pool (does not block the event loop).
 * @returns `scrypt$<logN>$<r>$<p>$<salt b64>$<key b64>`.
 */
export async function hashPassword(password: string, prm: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await derive(password, salt, prm);
  return `scrypt$${prm.logN}$${prm.r}$${prm.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks a password against a stored hash in constant time (for equal-length keys).
 * @returns false for a wrong password or a malformed hash; never throws for bad input.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const prm: ScryptParams = { logN: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  if (!Number.isInteger(prm.logN) || prm.logN < 10 || prm.logN > 22 || !Number.isInteger(prm.r) || !Number.isInteger(prm.p)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  let got: Buffer;
  try {
    got = await derive(password, salt, prm);
  } catch {
    return false;
  }
  return got.length === want.length && timingSafeEqual(got, want);
}

/** A hash of a password nobody knows, verified against for unknown users so timing does not reveal which usernames exist. */
let dummyHash: Promise<string> | undefined;
/** Spends the same time as a real verification (for unknown users); always false. */
export async function verifyDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomToken());
  await verifyPassword(password, await dummyHash);
  return false;
}

/** 256 random bits, base64url (43 chars). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a token or session id, hex (64 chars): what is stored. */
export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Constant-time comparison of two strings (false when lengths differ). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Prefix of API tokens: `bwk_` + 43 base64url chars. Makes leaked tokens greppable by secret scanners. */
export const TOKEN_PREFIX = 'bwk_';

/** A new API token (`bwk_…`). */
export function newApiToken(): string {
  return TOKEN_PREFIX + randomToken();
}
