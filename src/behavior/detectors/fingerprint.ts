import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { KeyMemo } from '../../core/key-memo.ts';
import { Ewma, KeyedRecords, KeyedState, RecordBuckets, RecordDistinct, RecordEwma } from '../window.ts';
import { fingerprintOf, fmtMs, isGoodBot, segmentsOf, signal, templatedRoute, reloadable } from './common.ts';


interface SurgeState {
  ewma: Ewma;
  /** Bucket index of the last surge signal (one signal per bucket). */
  flagged: number;
}

/**
 * Distributed floods and surges (OWASP OAT-015 Denial of Service; API4:2023 Unrestricted Resource Consumption).
 *
 * - `behavior.fingerprint.flood` (ban, scope fingerprint): one client fingerprint (`ctx.fingerprint` from the
 *   data plane: hash of User-Agent, header names and order, Accept headers; computed the same way here when
 *   unset) sends ≥ `minRequests` (600) requests in `window` (1 min) from ≥ `minClients` (20) distinct client keys,
 *   and that is ≥ `surgeFactor` (4) × its own EWMA baseline per window (span 30 windows). A flood spread over
 *   hundreds of IPs slips under every per-IP limit but shares its tool's fingerprint; the baseline condition
 *   spares a popular browser fingerprint whose steady volume is high. The decision is on the fingerprint
 *   scope, so every IP of the flood is stopped at once, and expires after `banDuration` (15 min). Baselines start
 *   at 0, so no fingerprint is banned during the first `warmupWindows` (5) windows after start, when every
 *   fingerprint, popular browsers included, is new (after 5 windows a steady fingerprint's baseline, α = 2/31,
 *   is ≥ 28 % of its rate, so it stays under the 4 × surge factor).
 * - `behavior.surge.global` / `behavior.surge.endpoint` (log, risk 0.3): the current `surge.bucket` (10 s) holds
 *   ≥ `surge.minRequests` and ≥ `surge.factor` (5) × the EWMA of previous buckets (span 60), after a warm-up of
 *   `surge.warmupBuckets`; once per bucket (an alert for operators and the risk model, not a block).
 *
 * Known good crawlers (many IPs by design) are not counted per fingerprint. State: fingerprints in an LRU of
 * min(`state.maxKeys`, 50,000), each a numeric record of 14 doubles (requests in 6 buckets, the one client seen
 * so far, the EWMA baseline) in one typed array, plus a map of ≤ `minClients` client hashes once a second client
 * appears; endpoints in an LRU of 10,000 (the keys of id-less routes memoised by method and raw path: at most
 * 16 × 4,096 paths of ≤ 256 chars). A new fingerprint (every request of a client mix with per-client
 * User-Agents) allocates no object of its own: only its LRU entry.
 */
function buildFingerprintDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.fingerprint;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const sc = cfg.surge;
  // Per fingerprint: requests in the window, distinct client keys, and the requests-per-window EWMA (the
  // fingerprint's own baseline).
  const requests = new RecordBuckets(0, cfg.window, 6);
  const clientsSeen = new RecordDistinct(requests.end, cfg.window, cfg.minClients);
  const baseline = new RecordEwma(clientsSeen.end, cfg.window, cfg.spanWindows);
  const fps = new KeyedRecords(Math.min(policy.state.maxKeys, 50_000), [requests, clientsSeen, baseline]);
  const global: SurgeState = { ewma: new Ewma(sc.bucket, sc.spanBuckets), flagged: -1 };
  /** Time of the first request seen (ms): fingerprint bans wait for `warmupWindows` windows of history. */
  let firstSeen = -1;
  const endpoints = new KeyedState<SurgeState>(10_000, () => ({ ewma: new Ewma(sc.bucket, sc.spanBuckets), flagged: -1 }));
  // Endpoint keys of routes without an id (`METHOD /first/four/segments`) by method and raw path, so a
  // repeated path reuses one key string (hash cached) instead of building and hashing a new one.
  const epKeys = new KeyMemo();
  const endpointKey = (ctx: RequestContext): string => {
    const t = templatedRoute(ctx);
    if (t) return t.route;
    return epKeys.get(ctx.method, ctx.path) ?? epKeys.set(ctx.method, ctx.path, ctx.method + ' /' + segmentsOf(ctx).slice(0, 4).join('/'));
  };

  const surge = (st: SurgeState, now: number, rule: string, scope: string): Signal | undefined => {
    st.ewma.add(now);
    const cur = st.ewma.currentValue(now);
    const bucket = Math.floor(now / sc.bucket);
    if (st.flagged === bucket || cur < sc.minRequests || st.ewma.samples < sc.warmupBuckets) return undefined;
    const base = st.ewma.value;
    if (cur < sc.factor * base) return undefined;
    st.flagged = bucket;
    return signal({
      ruleId: `behavior.surge.${rule}`,
      detector: 'fingerprint',
      category: 'surge',
      action: 'log',
      risk: 0.3,
      monitor: cfg.monitor,
      message: `${scope}: ${cur} requests in the current ${fmtMs(sc.bucket)} bucket vs baseline ${base.toFixed(1)}`,
      detail: { scope, requests: cur, baseline: Number(base.toFixed(2)), factor: sc.factor, bucketMs: sc.bucket },
      tags: ['OWASP_OAT/OAT-015'],
    });
  };

  return {
    name: 'fingerprint',
    inspectRequest(ctx: RequestContext): DetectorResult {
      const now = ctx.startedAt;
      if (firstSeen < 0) firstSeen = now;
      const out: Signal[] = [];
      if (sc.enabled) {
        const g = surge(global, now, 'global', 'all endpoints');
        if (g) out.push(g);
        const ep = endpointKey(ctx);
        const e = surge(endpoints.get(ep), now, 'endpoint', ep.slice(0, 256));
        if (e) out.push(e);
      }
      if (!isGoodBot(ctx)) {
        const fp = fingerprintOf(ctx);
        const st = fps.get(fp);
        requests.add(fps, st, now);
        baseline.add(fps, st, now);
        clientsSeen.add(fps, st, ctx.clientKey, now);
        const n = requests.total(fps, st, now);
        if (n >= cfg.minRequests && now - firstSeen >= cfg.warmupWindows * cfg.window) {
          const clients = clientsSeen.count(fps, st, now);
          const base = baseline.value(fps, st);
          if (clients >= cfg.minClients && n >= cfg.surgeFactor * base) {
            fps.delete(fp);
            out.push(
              signal({
                ruleId: 'behavior.fingerprint.flood',
                detector: 'fingerprint',
                category: 'flood',
                action: 'ban',
                risk: 0.9,
                monitor: cfg.monitor,
                message: `${n} requests from ${clients}+ clients sharing one fingerprint in ${fmtMs(cfg.window)} (baseline ${base.toFixed(1)})`,
                detail: { requests: n, clients, minClients: cfg.minClients, minRequests: cfg.minRequests, baseline: Number(base.toFixed(2)), surgeFactor: cfg.surgeFactor, windowMs: cfg.window },
                ban: { scope: 'fingerprint', value: fp, durationMs: cfg.banDuration },
                tags: ['OWASP_OAT/OAT-015', 'OWASP_API/API4:2023'],
              }),
            );
          }
        }
      }
      return out.length ? out : undefined;
    },
  };
}

/** Registry factory of {@link buildFingerprintDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const fingerprintDetector = reloadable(buildFingerprintDetector, (p) => [p.behavior.enabled, p.behavior.fingerprint, p.behavior.bots, p.state.maxKeys]);
