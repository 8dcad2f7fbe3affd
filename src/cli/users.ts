import { join } from 'node:path';
import type { Command } from 'commander';
import { openDatabase } from '../store/sqlite.ts';
import { recordAudit, storeFor } from '../controlplane/audit.ts';
import { validUsername } from '../controlplane/auth.ts';
import { hashPassword, newApiToken, sha256, TOKEN_PREFIX } from '../controlplane/crypto.ts';
import { publicUser, type Role } from '../controlplane/store.ts';

const ROLES: readonly Role[] = ['admin', 'analyst', 'viewer'];

/** Output and input of the commands (replaced in tests). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** The new password: env `BULWARK_NEW_PASSWORD`, else the first line of stdin (never a command-line argument: argv is visible to other users in `ps`). */
  password(): Promise<string>;
}

async function stdinLine(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) {
    data += String(chunk);
    const nl = data.indexOf('\n');
    if (nl !== -1) return data.slice(0, nl).replace(/\r$/, '');
    if (data.length > 4096) break;
  }
  return data.replace(/\r?\n$/, '');
}

const defaultIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  password: async () => process.env.BULWARK_NEW_PASSWORD ?? (await stdinLine()),
};

function open(dataDir: string | undefined) {
  const db = openDatabase(join(dataDir ?? process.env.BULWARK_DATA_DIR ?? './data', 'bulwark.db'));
  return { db, store: storeFor(db) };
}

function role(r: string): Role {
  if (!(ROLES as readonly string[]).includes(r)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
  return r as Role;
}

async function newPassword(io: CliIo): Promise<string> {
  const pw = await io.password();
  if (pw.length < 12 || pw.length > 1024) throw new Error('password needs 12–1024 characters (env BULWARK_NEW_PASSWORD or first line of stdin)');
  return pw;
}

/**
 * Runs one `users`/`tokens` action against `<dataDir>/bulwark.db` (works while the gateway runs: SQLite WAL
 * allows a second writer process with the busy timeout). Every change is audited with actor `cli`.
 * @returns the exit code (0 ok, 1 error).
 */
export async function runUsers(action: string, args: { username?: string; role?: string; name?: string; ttl?: string; id?: string; dataDir?: string }, io: CliIo = defaultIo): Promise<number> {
  const { db, store } = open(args.dataDir);
  const audit = (a: string, resource: string, resourceId: string, after?: unknown) => recordAudit(db, { actor: 'cli', action: a, resource, resourceId, after });
  try {
    switch (action) {
      case 'users.list':
        for (const u of await store.listUsers()) io.out(`${u.username}\t${u.role}${u.disabled ? '\tdisabled' : ''}\n`);
        return 0;
      case 'users.add': {
        const username = args.username ?? '';
        if (!validUsername(username)) throw new Error('invalid username');
        if ((await store.getUserByName(username)) !== undefined) throw new Error('user exists');
        const u = await store.createUser({ username, role: role(args.role ?? 'viewer'), passwordHash: await hashPassword(await newPassword(io)) });
        await audit('user.create', 'user', u.id, publicUser(u));
        io.out(`created ${u.username} (${u.role})\n`);
        return 0;
      }
      case 'users.passwd': {
        const u = await store.getUserByName(args.username ?? '');
        if (!u) throw new Error('no such user');
        await store.updateUser(u.id, { passwordHash: await hashPassword(await newPassword(io)), disabled: false });
        await store.deleteUserSessions(u.id);
        await audit('user.password', 'user', u.id);
        io.out(`password of ${u.username} changed; sessions revoked\n`);
        return 0;
      }
      case 'users.remove': {
        const u = await store.getUserByName(args.username ?? '');
        if (!u) throw new Error('no such user');
        await store.revokeUserTokens(u.id, Date.now());
        await store.deleteUserSessions(u.id);
        await store.deleteUser(u.id);
        await audit('user.delete', 'user', u.id, publicUser(u));
        io.out(`removed ${u.username}\n`);
        return 0;
      }
      case 'tokens.list':
        for (const t of await store.listTokens()) io.out(`${t.id}\t${t.name}\t${t.role}\t${t.prefix}…${t.revokedAt ? '\trevoked' : ''}\n`);
        return 0;
      case 'tokens.create': {
        const owner = await store.getUserByName(args.username ?? '');
        if (!owner) throw new Error('--user must name an existing user (the token owner)');
        const r = role(args.role ?? 'viewer');
        const ttlS = args.ttl === undefined ? undefined : Number(args.ttl);
        if (ttlS !== undefined && (!Number.isInteger(ttlS) || ttlS < 60)) throw new Error('--ttl must be seconds ≥ 60');
        const token = newApiToken();
        const id = crypto.randomUUID();
        const now = Date.now();
        await store.createToken({ id, name: args.name ?? 'cli', role: r, prefix: token.slice(0, TOKEN_PREFIX.length + 6), userId: owner.id, createdAt: now, expiresAt: ttlS === undefined ? undefined : now + ttlS * 1000, hash: sha256(token) });
        await audit('token.create', 'token', id, { name: args.name ?? 'cli', role: r });
        // Printed once, to stdout only (for piping into a secret store); never logged.
        io.out(`${token}\n`);
        return 0;
      }
      case 'tokens.revoke':
        if (!(await store.revokeToken(args.id ?? '', Date.now()))) throw new Error('no such active token');
        await audit('token.revoke', 'token', args.id ?? '');
        io.out('revoked\n');
        return 0;
      default:
        throw new Error(`unknown action ${action}`);
    }
  } catch (e) {
    io.err(`error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    db.close();
  }
}

/** Registers `bulwark users …` and `bulwark tokens …` (control-plane accounts; recovery when locked out). */
export function register(program: Command): void {
  const dd = '--data-dir <dir>';
  const ddHelp = 'directory of bulwark.db (env BULWARK_DATA_DIR; default ./data)';
  const exit = (code: number) => {
    process.exitCode = code;
  };
  const users = program.command('users').description('Manage control-plane users (password from env BULWARK_NEW_PASSWORD or stdin)');
  users.command('list').option(dd, ddHelp).action(async (o) => exit(await runUsers('users.list', o)));
  users.command('add').argument('<username>').option('--role <role>', 'admin, analyst or viewer', 'viewer').option(dd, ddHelp)
    .action(async (username, o) => exit(await runUsers('users.add', { ...o, username })));
  users.command('passwd').description('set a new password (also re-enables the user)').argument('<username>').option(dd, ddHelp)
    .action(async (username, o) => exit(await runUsers('users.passwd', { ...o, username })));
  users.command('remove').argument('<username>').option(dd, ddHelp).action(async (username, o) => exit(await runUsers('users.remove', { ...o, username })));
  const tokens = program.command('tokens').description('Manage control-plane API tokens');
  tokens.command('list').option(dd, ddHelp).action(async (o) => exit(await runUsers('tokens.list', o)));
  tokens.command('create').description('create a token and print it once').requiredOption('--user <username>', 'owner').option('--name <name>', 'label', 'cli')
    .option('--role <role>', 'admin, analyst or viewer', 'viewer').option('--ttl <seconds>', 'lifetime').option(dd, ddHelp)
    .action(async (o) => exit(await runUsers('tokens.create', { ...o, username: o.user })));
  tokens.command('revoke').argument('<id>').option(dd, ddHelp).action(async (id, o) => exit(await runUsers('tokens.revoke', { ...o, id })));
}
