import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isIP } from 'node:net';
import { ConfigError, type ConfigIssue } from './errors.ts';

/**
 * Watches a policy file for changes and calls `onChange` once per burst of changes (debounced).
 *
 * Watches the file's directory rather than the file: editors and config managers (vim, Kubernetes
 * ConfigMaps, `mv new old`) replace the file atomically, which ends a watch held on the old inode.
 * Events are filtered by file name. `fs.watch` is not 100 % reliable on every platform (network file
 * systems); SIGHUP is the dependable trigger.
 */
export class PolicyWatcher {
  readonly file: string;
  private readonly onChange: () => void;
  private readonly debounceMs: number;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param file - policy file path.
   * @param onChange - called after `debounceMs` of quiet following a change; must not throw.
   * @param debounceMs - quiet period, ms (default 200: long enough to coalesce an editor's write + rename).
   */
  constructor(file: string, onChange: () => void, debounceMs = 200) {
    this.file = resolve(file);
    this.onChange = onChange;
    this.debounceMs = debounceMs;
  }

  /** Starts watching. @throws when the directory cannot be watched. */
  start(): void {
    if (this.watcher) return;
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name && String(changed) !== name) return;
      this.trigger();
    });
    this.watcher.on('error', () => {
      /* directory removed: keep the current policy; SIGHUP still works */
    });
  }

  /** Schedules a debounced change notification (also used for SIGHUP-like triggers). */
  trigger(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.debounceMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/** Start options that environment variables can override (see {@link envOverrides}). */
export interface EnvStartOverrides {
  upstream?: string;
  policyFile?: string;
  dataDir?: string;
  host?: string;
  gatewayPort?: number;
  adminPort?: number;
  demoPort?: number;
  redisUrl?: string;
}

function port(name: string, v: string, issues: ConfigIssue[]): number | undefined {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) > 65535) {
    issues.push({ path: name, message: `expected a port number 0-65535, got ${JSON.stringify(v.slice(0, 40))}` });
    return undefined;
  }
  return Number(v);
}

/**
 * Reads the environment overrides: `BULWARK_UPSTREAM` (URL), `BULWARK_POLICY` (file), `BULWARK_DATA_DIR`,
 * `BULWARK_LISTEN` (`host:port`, `[v6]:port` or a port), `BULWARK_PORT`, `BULWARK_ADMIN_PORT`,
 * `BULWARK_DEMO_PORT`, `BULWARK_HOST`, `BULWARK_REDIS_URL`. Empty variables are ignored.
 * `BULWARK_PORT` wins over the port part of `BULWARK_LISTEN`, `BULWARK_HOST` over its host part.
 * @throws {ConfigError} `BWK_CONFIG_ENV` listing every invalid variable.
 */
export function envOverrides(env: NodeJS.ProcessEnv = process.env): EnvStartOverrides {
  const out: EnvStartOverrides = {};
  const issues: ConfigIssue[] = [];
  const get = (k: string): string | undefined => {
    const v = env[k];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const up = get('BULWARK_UPSTREAM');
  if (up !== undefined) {
    try {
      const u = new URL(up);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      out.upstream = up;
    } catch {
      issues.push({ path: 'BULWARK_UPSTREAM', message: 'expected an http(s) URL such as http://127.0.0.1:3000' });
    }
  }
  const pol = get('BULWARK_POLICY');
  if (pol !== undefined) out.policyFile = pol;
  const dd = get('BULWARK_DATA_DIR');
  if (dd !== undefined) out.dataDir = dd;
  const listen = get('BULWARK_LISTEN');
  if (listen !== undefined) {
    if (/^[0-9]+$/.test(listen)) out.gatewayPort = port('BULWARK_LISTEN', listen, issues);
    else {
      const colon = listen.lastIndexOf(':');
      let host = colon === -1 ? listen : listen.slice(0, colon);
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      if (colon === -1 || (isIP(host) === 0 && host !== 'localhost')) {
        issues.push({ path: 'BULWARK_LISTEN', message: 'expected host:port, [ipv6]:port or a port' });
      } else {
        out.host = host;
        out.gatewayPort = port('BULWARK_LISTEN', listen.slice(colon + 1), issues);
      }
    }
  }
  const p = get('BULWARK_PORT');
  if (p !== undefined) out.gatewayPort = port('BULWARK_PORT', p, issues);
  const ap = get('BULWARK_ADMIN_PORT');
  if (ap !== undefined) out.adminPort = port('BULWARK_ADMIN_PORT', ap, issues);
  const dp = get('BULWARK_DEMO_PORT');
  if (dp !== undefined) out.demoPort = port('BULWARK_DEMO_PORT', dp, issues);
  const host = get('BULWARK_HOST');
  if (host !== undefined) {
    if (isIP(host) === 0 && host !== 'localhost') issues.push({ path: 'BULWARK_HOST', message: 'expected an IP address such as 0.0.0.0 or ::' });
    else out.host = host;
  }
  const redis = get('BULWARK_REDIS_URL');
  if (redis !== undefined) {
    if (!/^rediss?:\/\//.test(redis)) issues.push({ path: 'BULWARK_REDIS_URL', message: 'expected redis://host:port' });
    else out.redisUrl = redis;
  }
  if (issues.length > 0) throw new ConfigError('BWK_CONFIG_ENV', issues);
  return out;
}
