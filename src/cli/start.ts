import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startBulwark, createLogger, postgresSchemaProblem, redisPrefixProblem, type StartOptions } from '../app.ts';
import { envOverrides, type EnvStartOverrides } from '../config/watch.ts';
import { ConfigError, type ConfigIssue } from '../config/errors.ts';
import { ADMIN_PLUGINS } from '../admin/plugins.ts';

/** Flags of `bulwark start` (commander output; all optional: environment and defaults fill the rest). */
interface StartFlags {
  upstream?: string;
  policy?: string;
  port?: string;
  adminPort?: string;
  demoPort?: string;
  dataDir?: string;
  host?: string;
  logLevel?: string;
  redisUrl?: string;
  redisPrefix?: string;
  postgresUrl?: string;
  postgresSchema?: string;
  demo?: boolean;
}

function portFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) throw new ConfigError('BWK_CONFIG_ENV', [{ path: `--${name}`, message: `expected a port number 0-65535, got ${JSON.stringify(v)}` }]);
  return Number(v);
}

/**
 * The Redis key prefix from `--redis-prefix`, else `BULWARK_REDIS_PREFIX` (ignored when blank, like the other
 * variables), else undefined (the app's default `bulwark:`). Problems are added to `issues`.
 */
function redisPrefixOption(flag: string | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): string | undefined {
  const fromEnv = env.BULWARK_REDIS_PREFIX;
  const [path, v] = flag !== undefined ? ['--redis-prefix', flag] : fromEnv !== undefined && fromEnv.trim() !== '' ? ['BULWARK_REDIS_PREFIX', fromEnv] : [undefined, undefined];
  if (path === undefined || v === undefined) return undefined;
  const problem = redisPrefixProblem(v);
  if (problem === undefined) return v;
  issues.push({ path, message: problem });
  return undefined;
}

/** The flag's value, else the variable's when it is not blank (like the other variables), with its name. */
function flagOrEnv(flag: string | undefined, flagName: string, env: NodeJS.ProcessEnv, varName: string): [string, string] | undefined {
  if (flag !== undefined) return [flagName, flag];
  const v = env[varName];
  return v !== undefined && v.trim() !== '' ? [varName, v] : undefined;
}

/**
 * The PostgreSQL URL from `--postgres-url`, else `BULWARK_POSTGRES_URL`, else undefined (events in
 * `bulwark.db`). Only the scheme is checked here (`postgres://` or `postgresql://`, what pg's connection-string
 * parser reads as a URL); reachability is checked at start. The value is not echoed in the problem: it may
 * hold a password. Problems are added to `issues`.
 */
function postgresUrlOption(flag: string | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): string | undefined {
  const got = flagOrEnv(flag, '--postgres-url', env, 'BULWARK_POSTGRES_URL');
  if (got === undefined) return undefined;
  const [path, v] = got;
  if (/^postgres(ql)?:\/\/\S+$/.test(v.trim())) return v.trim();
  issues.push({ path, message: 'expected postgres://user:password@host:5432/database' });
  return undefined;
}

/**
 * The events schema from `--postgres-schema`, else `BULWARK_POSTGRES_SCHEMA`, else undefined (the app's
 * default `public`), checked with {@link postgresSchemaProblem}. Problems are added to `issues`.
 */
function postgresSchemaOption(flag: string | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): string | undefined {
  const got = flagOrEnv(flag, '--postgres-schema', env, 'BULWARK_POSTGRES_SCHEMA');
  if (got === undefined) return undefined;
  const [path, v] = got;
  const problem = postgresSchemaProblem(v);
  if (problem === undefined) return v;
  issues.push({ path, message: problem });
  return undefined;
}

/**
 * Resolves the start options: command-line flag, then environment variable (`BULWARK_*`), then policy /
 * built-in default (gateway 8080, admin 9090, demo 3001, data dir `./data`, host `0.0.0.0`, Redis key
 * prefix `bulwark:`, events in `bulwark.db`, PostgreSQL schema `public`).
 * @throws {ConfigError} `BWK_CONFIG_ENV` for an invalid flag or variable (every invalid variable,
 *   `--redis-prefix`, `--postgres-url` and `--postgres-schema` are listed together).
 */
export function resolveStartOptions(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): StartOptions {
  const issues: ConfigIssue[] = [];
  let e: EnvStartOverrides = {};
  try {
    e = envOverrides(env);
  } catch (err) {
    if (!(err instanceof ConfigError) || err.code !== 'BWK_CONFIG_ENV') throw err;
    issues.push(...err.issues);
  }
  const redisPrefix = redisPrefixOption(flags.redisPrefix, env, issues);
  const postgresUrl = postgresUrlOption(flags.postgresUrl, env, issues);
  const postgresSchema = postgresSchemaOption(flags.postgresSchema, env, issues);
  if (issues.length > 0) throw new ConfigError('BWK_CONFIG_ENV', issues);
  return {
    upstream: flags.upstream ?? e.upstream,
    policyFile: flags.policy ?? e.policyFile,
    gatewayPort: portFlag('port', flags.port) ?? e.gatewayPort ?? 8080,
    adminPort: portFlag('admin-port', flags.adminPort) ?? e.adminPort ?? 9090,
    demoPort: portFlag('demo-port', flags.demoPort) ?? e.demoPort ?? 3001,
    dataDir: flags.dataDir ?? e.dataDir ?? './data',
    host: flags.host ?? e.host ?? '0.0.0.0',
    logLevel: flags.logLevel ?? env.BULWARK_LOG_LEVEL ?? 'info',
    redisUrl: flags.redisUrl ?? e.redisUrl,
    redisPrefix,
    postgresUrl,
    postgresSchema,
    demo: flags.demo !== false,
    handleSignals: true,
  };
}

/** Heap flags that mean the user chose the V8 heap size themselves (then `bulwark start` leaves it alone). */
const HEAP_FLAG = /--max[-_]old[-_]space[-_]size/;
const SEMI_FLAG = /--max[-_]semi[-_]space[-_]size/;

/**
 * Young-generation semi-space bound `bulwark start` uses by default, MiB. V8's default (16–32 MiB on 64-bit)
 * keeps up to 3 semi-spaces resident. Smaller is not cheaper: a request's short-lived objects must die young,
 * and with 2 or 4 MiB they survive into the old generation, so the gateway spent ~40% more CPU per request
 * (proxy bench client mix, 3 alternating runs each: 116 / 111 / 82 / 82 µs per request at saturation with 2 / 4 /
 * 8 / 16 MiB; 147 / 138 / 93–107 / 101 µs at 1,000 req/s) for ~15 MiB less RSS. 8 MiB is the knee; the
 * 1,000,000-IP flood bench stays under 300 MB with it and {@link heapLimitMb}.
 */
export const DEFAULT_SEMI_SPACE_MB = 8;

/**
 * Default V8 old-generation bound for `bulwark start`, MiB, derived from the per-store state bound.
 * All per-client state is bounded by `state.maxKeys` per store. Measured with the flood bench
 * (bench/sections/30-ip-flood.ts): the live heap after GC is ~25 MiB of code, policy and tables plus ~300 bytes
 * per tracked key summed over the stores (65–72 MiB at the default 200,000 keys since the behaviour stores keep
 * numeric state in typed arrays; 84–93 MiB before). The bound is 40 MiB + maxKeys × 400 B (117 MiB at the
 * default, ~1.7× the live heap), at least 112 MiB: headroom for garbage between full collections without letting
 * V8 size the heap from the machine's RAM (with V8's defaults a 1,000,000-IP flood reached ~675 MB RSS with
 * ~83 MiB live). Flood peak RSS with {@link DEFAULT_SEMI_SPACE_MB}: 275.3 MB at a 116 MiB bound vs 285.7–296.4 MB
 * (five runs) at the previous 136 MiB; the flood's throughput was the same within noise (6,687 vs 6,890 req/s).
 * @param maxKeys - `state.maxKeys` of the policy (entries per store).
 * @returns the `--max-old-space-size` value, MiB.
 */
export function heapLimitMb(maxKeys: number): number {
  return Math.max(112, Math.ceil(40 + (maxKeys * 400) / 1048576));
}

/**
 * Node flags `bulwark start` re-executes itself with so that memory stays bounded without the user knowing
 * any flag, or `null` to run as is: when the process already has a heap size flag (command line or
 * `NODE_OPTIONS`), when `BULWARK_HEAP_MB=0` (opt-out), or when Node lacks `process.execve` (Node < 23.11).
 * `BULWARK_HEAP_MB=<n>` sets the old-generation bound explicitly (MiB); otherwise {@link heapLimitMb} of the
 * policy's `state.maxKeys` (read leniently from the policy file: on any read or parse problem the default
 * 200,000 is used and the real validation happens at start). Adds `--max-semi-space-size`
 * ({@link DEFAULT_SEMI_SPACE_MB}) unless the user set one.
 * @param policyFile - the policy path `bulwark start` will load, if any.
 */
export function boundedHeapFlags(policyFile: string | undefined, execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): string[] | null {
  if (typeof (process as { execve?: unknown }).execve !== 'function') return null;
  const nodeOptions = env.NODE_OPTIONS ?? '';
  if (execArgv.some((a) => HEAP_FLAG.test(a)) || HEAP_FLAG.test(nodeOptions)) return null;
  const explicit = env.BULWARK_HEAP_MB;
  if (explicit === '0' || explicit === 'off') return null;
  let mb: number;
  if (explicit && /^[0-9]{2,6}$/.test(explicit)) mb = Number(explicit);
  else {
    let maxKeys = 200_000;
    if (policyFile) {
      try {
        const doc = parseYaml(readFileSync(policyFile, 'utf8')) as { state?: { maxKeys?: unknown } } | null;
        const k = doc?.state?.maxKeys;
        if (typeof k === 'number' && Number.isInteger(k) && k > 0) maxKeys = k;
      } catch {
        // unreadable or invalid: startBulwark reports it with the path and reason
      }
    }
    mb = heapLimitMb(maxKeys);
  }
  const flags = [`--max-old-space-size=${mb}`];
  if (!execArgv.some((a) => SEMI_FLAG.test(a)) && !SEMI_FLAG.test(nodeOptions)) flags.push(`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MB}`);
  return flags;
}

/** Registers `bulwark start`. */
export function register(program: Command): void {
  program
    .command('start')
    .description('Start the gateway (and the bundled demo API when no upstream is configured)')
    .option('-u, --upstream <url>', 'upstream base URL (env BULWARK_UPSTREAM; default: policy upstreams, else the demo API)')
    .option('-p, --policy <file>', 'policy YAML file, hot-reloaded on change and SIGHUP (env BULWARK_POLICY)')
    .option('--port <port>', 'gateway port (env BULWARK_PORT or BULWARK_LISTEN=host:port; default 8080)')
    .option('--admin-port <port>', 'admin listener port: /healthz /readyz /metrics, control plane (env BULWARK_ADMIN_PORT; default 9090)')
    .option('--demo-port <port>', 'demo API port (env BULWARK_DEMO_PORT; default 3001)')
    .option('--data-dir <dir>', 'directory of persistent state, bulwark.db (env BULWARK_DATA_DIR; default ./data)')
    .option('--host <address>', 'listen address of the gateway and admin listener (env BULWARK_HOST; default 0.0.0.0)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (env BULWARK_LOG_LEVEL; default info)')
    .option('--redis-url <url>', 'Redis URL for state shared between instances: rate limits and bans (env BULWARK_REDIS_URL)')
    .option('--redis-prefix <prefix>', 'prefix of every Redis key, to share one Redis between deployments (env BULWARK_REDIS_PREFIX; default bulwark:)')
    .option('--postgres-url <url>', 'PostgreSQL URL for security events shared between instances, instead of bulwark.db (env BULWARK_POSTGRES_URL)')
    .option('--postgres-schema <name>', 'schema of the PostgreSQL events table, to share one database between deployments (env BULWARK_POSTGRES_SCHEMA; default public)')
    .option('--no-demo', 'never start the demo API (fail when no upstream is configured)')
    .action(async (flags: StartFlags) => {
      let opts: StartOptions;
      try {
        opts = resolveStartOptions(flags);
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        process.exit(1);
      }
      // bounded V8 heap by default (see heapLimitMb): replace this process (same PID, signals, stdio) with
      // one started with the flag; the new process sees the flag in execArgv and does not re-execute again
      const heapFlags = boundedHeapFlags(opts.policyFile);
      if (heapFlags) {
        const execve = (process as unknown as { execve: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
        execve(process.execPath, [process.execPath, ...heapFlags, ...process.execArgv, ...process.argv.slice(1)], process.env);
      }
      const logger = createLogger(opts.logLevel);
      let app: Awaited<ReturnType<typeof startBulwark>>;
      try {
        app = await startBulwark({ ...opts, logger, plugins: ADMIN_PLUGINS });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
        } else {
          logger.fatal({ err }, 'bulwark failed to start');
        }
        process.exit(1);
      }
      process.stdout.write(
        `\nBulwark is running\n  gateway  ${app.gatewayUrl}\n  admin    ${app.adminUrl}  (/healthz /readyz /metrics)\n` +
          `  dashboard ${app.adminUrl}/  (management API ${app.adminUrl}/api/v1, docs ${app.adminUrl}/api/docs)\n` +
          (app.demoUrl ? `  demo API ${app.demoUrl}  (try: curl ${app.gatewayUrl}/api/products)\n` : '') +
          '\n',
      );
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting immediately');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        const force = setTimeout(() => {
          logger.error('shutdown took longer than 15 s: exiting');
          process.exit(1);
        }, 15_000);
        force.unref();
        app.close().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      // last-resort safety nets: the request path catches its own errors; anything reaching here is a bug
      process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection (ignored; please report)'));
      process.on('uncaughtException', (err) => {
        logger.fatal({ err }, 'uncaught exception: shutting down');
        stop('uncaughtException');
      });
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
