import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { compilePattern, matchesAny, segmentsOf, signal, reloadable, thirdPartyInduced } from './common.ts';

/**
 * Honeypot detector: routes that no legitimate client calls (default `/api/admin` and `/api/admin/**`, the
 * demo API's decoy admin area). Any hit is a CRITICAL signal (risk 1, severity critical) that bans the client
 * key for `behavior.honeypot.banDuration` (default 1 hour). Paths are matched after normalisation
 * (percent-decoding, case folding, dot-segment removal), so `/API/%61dmin/../admin/x` still matches.
 * Rule id: `behavior.honeypot`. A CORS preflight (`OPTIONS`) or a browser request marked `Sec-Fetch-Site:
 * cross-site` (Fetch Metadata: a third-party page made the visitor's browser send it) is blocked without a ban
 * (`behavior.honeypot.induced`, risk 0.3). Stateless: no per-client memory.
 *
 * @returns undefined when `behavior.enabled` or `behavior.honeypot.enabled` is false.
 */
function buildHoneypotDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.honeypot;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const patterns = cfg.paths.map(compilePattern);
  return {
    name: 'honeypot',
    inspectRequest(ctx: RequestContext): DetectorResult {
      const hit = matchesAny(patterns, ctx.method, segmentsOf(ctx));
      if (!hit) return undefined;
      if (thirdPartyInduced(ctx)) {
        return signal({
          ruleId: 'behavior.honeypot.induced',
          detector: 'honeypot',
          category: 'honeypot',
          action: 'block',
          risk: 0.3,
          monitor: cfg.monitor,
          message: `honeypot route ${hit.source} requested ${ctx.method === 'OPTIONS' ? 'in a CORS preflight' : 'cross-site'}; blocked, not banned`,
          detail: { pattern: hit.source, method: ctx.method, fetchSite: ctx.header('sec-fetch-site').slice(0, 32) },
          tags: ['OWASP_OAT/OAT-014'],
        });
      }
      return signal({
        ruleId: 'behavior.honeypot',
        detector: 'honeypot',
        category: 'honeypot',
        action: 'ban',
        risk: 1,
        severity: 'critical',
        monitor: cfg.monitor,
        message: `honeypot route ${hit.source} requested`,
        detail: { pattern: hit.source, banDurationMs: cfg.banDuration },
        ban: { scope: 'ip', value: ctx.clientKey, durationMs: cfg.banDuration },
        tags: ['OWASP_OAT/OAT-014', 'MITRE/T1595'],
      });
    },
  };
}

/** Registry factory of {@link buildHoneypotDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const honeypotDetector = reloadable(buildHoneypotDetector, (p) => [p.behavior.enabled, p.behavior.honeypot]);
