import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, ResponseInfo } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { DistinctWindow, KeyedState } from '../window.ts';
import { compilePattern, fmtMs, isGoodBot, matchesAny, segmentsOf, signal, reloadable, behaviorKeys, thirdPartyInduced } from './common.ts';

/** File names that scanners probe (OWASP WSTG-CONF-04 "Review Old Backup and Unreferenced Files", SecLists common probes). */
const SENSITIVE_NAMES: ReadonlySet<string> = new Set([
  'wp-login.php', 'wp-admin', 'wp-config.php', 'xmlrpc.php', 'wp-content', 'wp-includes', 'phpmyadmin', 'pma', 'myadmin', 'adminer.php',
  'server-status', 'server-info', 'web.config', 'config.php', 'configuration.php', 'phpinfo.php', 'info.php', 'id_rsa', 'id_dsa',
  'cgi-bin', 'actuator', 'jmx-console', 'trace.axd', 'elmah.axd', 'docker-compose.yml',
  'dump.sql', 'database.sql', 'db.sql', 'settings.py', 'local.settings.json',
]);

/** Backup / archive / editor-leftover suffixes of the last path segment (WSTG-CONF-04). */
const SENSITIVE_SUFFIXES: readonly string[] = ['.bak', '.old', '.orig', '.save', '.swp', '.swo', '.backup', '.sql', '.tar', '.tar.gz', '.tgz', '.zip', '.rar', '.7z', '.gz', '~', '.tmp', '.ini', '.conf', '.cfg', '.pem', '.key'];

/**
 * Whether the normalised path probes a known-sensitive location: any dot-segment other than `.well-known`
 * (`/.env`, `/.git/config`, `/.aws/credentials`, `/.DS_Store` …), a known sensitive file or directory name,
 * or a backup/archive suffix on the last segment. Linear in the number of segments.
 * @returns the reason (e.g. `dotfile .env`), or undefined.
 */
export function sensitiveReason(segs: readonly string[]): string | undefined {
  for (const s of segs) {
    if (s.length > 1 && s.charCodeAt(0) === 46 && s !== '.well-known') return `dotfile ${s.slice(0, 64)}`;
    if (SENSITIVE_NAMES.has(s)) return `sensitive name ${s}`;
  }
  const last = segs[segs.length - 1];
  if (last !== undefined) {
    for (const suf of SENSITIVE_SUFFIXES) if (last.length > suf.length && last.endsWith(suf)) return `backup/archive suffix ${suf}`;
  }
  return undefined;
}

interface ScanState {
  notFound?: DistinctWindow;
  sensitive?: DistinctWindow;
}

/**
 * Scanners and probing (OWASP OAT-014 Vulnerability Scanning; MITRE ATT&CK T1595 Active Scanning). The payload
 * engine flags single probes; this detector judges the behaviour over `window` (5 min) per client key:
 *
 * - `behavior.scanner.sensitive`: a probe of a known-sensitive path ({@link sensitiveReason}, plus
 *   `sensitivePaths` patterns) is a risk signal (log, risk 0.5); `maxSensitivePaths` (3) distinct ones → `action`;
 * - `behavior.scanner.notfound`: `maxNotFoundPaths` (20) distinct paths answered 404 by the upstream → `action`.
 *
 * `action` defaults to a ban of the client key for `banDuration` (1 h). Known good crawlers are exempt.
 * State: an LRU bounded by {@link behaviorKeys}; per client ≤ `maxNotFoundPaths` + `maxSensitivePaths` hashes.
 */
function buildScannerDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.scanner;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const extra = cfg.sensitivePaths.map(compilePattern);
  const clients = new KeyedState<ScanState>(behaviorKeys(policy), () => ({}));
  // crawlers the bots detector verified (isGoodBot), not User-Agent claims
  const exempt = (ctx: RequestContext): boolean => isGoodBot(ctx);
  const ban = (ctx: RequestContext, rule: string, message: string, detail: Record<string, string | number | boolean>) =>
    signal({
      ruleId: `behavior.scanner.${rule}`,
      detector: 'scanner',
      category: 'scanner',
      action: cfg.action,
      risk: 0.9,
      monitor: cfg.monitor,
      message,
      detail: { windowMs: cfg.window, ...detail },
      ban: { scope: 'ip', value: ctx.clientKey, durationMs: cfg.banDuration },
      tags: ['OWASP_OAT/OAT-014', 'MITRE/T1595'],
    });

  return {
    name: 'scanner',
    inspectRequest(ctx: RequestContext): DetectorResult {
      const segs = segmentsOf(ctx);
      let reason = sensitiveReason(segs);
      if (reason === undefined && extra.length > 0) {
        const p = matchesAny(extra, ctx.method, segs);
        if (p) reason = `policy pattern ${p.source}`;
      }
      // requests a third-party page can make a visitor's browser send are not counted toward a ban
      if (reason === undefined || exempt(ctx) || thirdPartyInduced(ctx)) return undefined;
      const now = ctx.startedAt;
      const st = clients.get(ctx.clientKey);
      const path = '/' + segs.join('/');
      const w = (st.sensitive ??= new DistinctWindow(cfg.window, Math.min(65536, cfg.maxSensitivePaths)));
      w.add(path, now);
      const n = w.count(now);
      if (n >= cfg.maxSensitivePaths) {
        clients.delete(ctx.clientKey);
        return ban(ctx, 'sensitive', `${n} distinct sensitive paths probed in ${fmtMs(cfg.window)} (last: ${reason})`, { distinctSensitive: n, threshold: cfg.maxSensitivePaths, reason });
      }
      return signal({
        ruleId: 'behavior.scanner.sensitive-probe',
        detector: 'scanner',
        category: 'scanner',
        action: 'log',
        risk: 0.5,
        monitor: cfg.monitor,
        message: `sensitive path probed: ${reason}`,
        detail: { distinctSensitive: n, threshold: cfg.maxSensitivePaths, reason },
        tags: ['OWASP_OAT/OAT-014'],
      });
    },
    observeResponse(ctx: RequestContext, res: ResponseInfo): DetectorResult {
      if (res.byGateway || res.status !== 404 || exempt(ctx) || thirdPartyInduced(ctx)) return undefined;
      const now = ctx.startedAt + res.latencyMs;
      const st = clients.get(ctx.clientKey);
      const w = (st.notFound ??= new DistinctWindow(cfg.window, Math.min(65536, cfg.maxNotFoundPaths)));
      w.add('/' + segmentsOf(ctx).join('/'), now);
      const n = w.count(now);
      if (n < cfg.maxNotFoundPaths) return undefined;
      clients.delete(ctx.clientKey);
      return ban(ctx, 'notfound', `${n} distinct paths answered 404 in ${fmtMs(cfg.window)}`, { distinctNotFound: n, threshold: cfg.maxNotFoundPaths });
    },
  };
}

/** Registry factory of {@link buildScannerDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const scannerDetector = reloadable(buildScannerDetector, (p) => [p.behavior.enabled, p.behavior.scanner, p.behavior.bots, p.state.maxKeys]);
