import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { SecretError, createSecretBox, isEncrypted, loadSecretKey, maskSecret, maskUrl, openSecretBox } from './secrets.ts';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'bwk-secrets-'));
}

test('AES-256-GCM round trip, random nonce per encryption, versioned format, context bound as AAD', () => {
  const box = createSecretBox(randomBytes(32));
  const a = box.encrypt('https://hooks.example.test/T0/B1/xyz', 'channel:1');
  const b = box.encrypt('https://hooks.example.test/T0/B1/xyz', 'channel:1');
  assert.notEqual(a, b, 'fresh nonce each time');
  assert.ok(isEncrypted(a));
  const parts = a.split('.');
  assert.equal(parts.length, 5);
  assert.equal(parts[0], 'bwk1');
  assert.equal(parts[1], box.keyId);
  assert.equal(Buffer.from(parts[2]!, 'base64url').length, 12);
  assert.equal(Buffer.from(parts[4]!, 'base64url').length, 16);
  assert.ok(!a.includes('hooks.example.test'));
  assert.equal(box.decrypt(a, 'channel:1'), 'https://hooks.example.test/T0/B1/xyz');
  assert.equal(box.decrypt(box.encrypt('ünïcødé ✓'), undefined), 'ünïcødé ✓');

  // Wrong context, tampered ciphertext or tag, other key, bad format.
  assert.throws(() => box.decrypt(a, 'channel:2'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_DECRYPT');
  const ct = Buffer.from(parts[3]!, 'base64url');
  ct[0]! ^= 1;
  const tampered = [parts[0], parts[1], parts[2], ct.toString('base64url'), parts[4]].join('.');
  assert.throws(() => box.decrypt(tampered, 'channel:1'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_DECRYPT');
  const other = createSecretBox(randomBytes(32));
  assert.throws(() => other.decrypt(a, 'channel:1'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_DECRYPT');
  assert.throws(() => box.decrypt('plain text'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_FORMAT');
  assert.throws(() => box.decrypt('bwk2.a.b.c.d'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_FORMAT');
  assert.throws(() => createSecretBox(randomBytes(16)), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_KEY');
});

test('key from BULWARK_SECRET_KEY (base64, 32 bytes); invalid values are rejected with BWK_SECRET_KEY', () => {
  const dir = tmp();
  try {
    const key = randomBytes(32);
    const got = loadSecretKey({ dataDir: dir, env: { BULWARK_SECRET_KEY: key.toString('base64') } });
    assert.equal(got.source, 'env');
    assert.ok(got.key.equals(key));
    assert.ok(loadSecretKey({ dataDir: dir, env: { BULWARK_SECRET_KEY: key.toString('base64url') } }).key.equals(key));
    for (const bad of [randomBytes(31).toString('base64'), 'not base64 !!', randomBytes(33).toString('base64')]) {
      assert.throws(() => loadSecretKey({ dataDir: dir, env: { BULWARK_SECRET_KEY: bad } }), (e: unknown) => {
        assert.ok(e instanceof SecretError && e.code === 'BWK_SECRET_KEY');
        assert.ok(!(e as Error).message.includes(bad), 'the bad key is not echoed');
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('key file: created once with mode 0600, reused on the next start; group-readable file warns; corrupt file throws', () => {
  const dir = tmp();
  try {
    const lines: string[] = [];
    const logger = pino(new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
    const first = loadSecretKey({ dataDir: dir, env: {}, logger });
    assert.equal(first.source, 'created');
    const file = join(dir, 'secret.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = loadSecretKey({ dataDir: dir, env: {}, logger });
    assert.equal(second.source, 'file');
    assert.ok(second.key.equals(first.key));
    // A value encrypted before a "restart" decrypts after it.
    const blob = openSecretBox({ dataDir: dir, env: {} }).encrypt('smtp-password', 'ctx');
    assert.equal(openSecretBox({ dataDir: dir, env: {} }).decrypt(blob, 'ctx'), 'smtp-password');
    // The key never reaches the logs.
    const keyB64 = readFileSync(file, 'utf8').trim();
    assert.ok(!lines.join('').includes(keyB64));

    chmodSync(file, 0o644);
    loadSecretKey({ dataDir: dir, env: {}, logger });
    assert.ok(lines.some((l) => l.includes('readable by group/others')));

    writeFileSync(file, 'garbage');
    assert.throws(() => loadSecretKey({ dataDir: dir, env: {} }), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_KEY');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('masking: URLs keep only the origin, keys only their last 4 characters', () => {
  assert.equal(maskUrl('https://hooks.example.test/services/T0/B1/xyz?token=abc'), 'https://hooks.example.test/***');
  assert.equal(maskUrl('https://user:pass@hooks.example.test:8443/a'), 'https://hooks.example.test:8443/***');
  assert.equal(maskUrl('not a url'), '***');
  assert.equal(maskSecret('whsec_0123456789abcd'), '****abcd');
  assert.equal(maskSecret('short'), '****');
  assert.equal(maskSecret(''), '****');
});

test('key rotation: values under a previous key still decrypt; new values use the current key', () => {
  const dir = tmp();
  try {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = openSecretBox({ dataDir: dir, env: { BULWARK_SECRET_KEY: oldKey.toString('base64') } });
    const blob = before.encrypt('https://hooks.example.test/rotate', 'c1');
    const after = openSecretBox({ dataDir: dir, env: { BULWARK_SECRET_KEY: newKey.toString('base64'), BULWARK_SECRET_KEY_PREVIOUS: ` ${oldKey.toString('base64')} ,` } });
    assert.notEqual(after.keyId, before.keyId);
    assert.equal(after.decrypt(blob, 'c1'), 'https://hooks.example.test/rotate');
    assert.equal(after.encrypt('x').split('.')[1], after.keyId);
    const without = openSecretBox({ dataDir: dir, env: { BULWARK_SECRET_KEY: newKey.toString('base64') } });
    assert.throws(() => without.decrypt(blob, 'c1'), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_DECRYPT');
    assert.throws(() => openSecretBox({ dataDir: dir, env: { BULWARK_SECRET_KEY: newKey.toString('base64'), BULWARK_SECRET_KEY_PREVIOUS: 'short' } }), (e: unknown) => e instanceof SecretError && e.code === 'BWK_SECRET_KEY');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
