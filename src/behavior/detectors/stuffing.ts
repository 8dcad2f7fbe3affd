import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, ResponseInfo, Signal } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { LruMap } from '../../core/lru.ts';
import { BucketCounter, CoarseCounter, DistinctWindow, Ewma, KeyedState, SlidingCounter } from '../window.ts';
import { fingerprintOf, fmtMs, loginUsername, signal, reloadable, behaviorKeys } from './common.ts';
import { LoginRecognizer } from './login.ts';

interface ClientState {
  attempts: SlidingCounter;
  failures: SlidingCounter;
  /** Created on the first failure. */
  failedUsers?: DistinctWindow;
  /** Low-and-slow counters (long window, coarse buckets), created on the first failure. */
  slow?: { attempts: CoarseCounter; failures: CoarseCounter };
}
interface FpState {
  clients: DistinctWindow;
  attempts: BucketCounter;
  failures: BucketCounter;
}

/**
 * Credential stuffing (OWASP OAT-008; OWASP Credential Stuffing Prevention Cheat Sheet). Login attempts and
 * failures are recognised as by the brute-force detector (`behavior.bruteforce` login settings).
 *
 * Why these keys: many real users can share one IP (carrier-grade NAT, RFC 6598; corporate egress). Counting
 * raw attempts per IP would ban them all, so every rule needs *distinct usernames or clients* and a *failure
 * ratio*: a shared IP of real users produces mostly successful logins for their own accounts, an attacker
 * replaying a leaked list produces mostly failures for many different accounts.
 *
 * - `behavior.stuffing.client` (ban ip): ≥ `perClient.distinctUsernames` (8) distinct usernames failing from one
 *   client in `perClient.window` (10 min) with a failure ratio ≥ 0.6. Halved (min 3) while a global spike is on.
 * - `behavior.stuffing.user` (throttle): one username failing from ≥ `perUsername.distinctClients` (5) clients in
 *   the window → attempts on it are throttled, except from clients that logged in as it successfully before.
 * - `behavior.stuffing.fingerprint`: one fingerprint failing from ≥ 8 clients, ≥ 15 failures, ratio ≥ 0.8 in
 *   10 min: stuffing over rotating IPs with one tool. The client that tipped it is banned (scope ip), and
 *   login attempts with that fingerprint are throttled for `perFingerprint.banDuration` (a fingerprint — User-Agent,
 *   header order, Accept headers — is shared by every user of a stock browser or app build: banning it on every
 *   route would lock all of them out of the whole API; on the login route they can retry later).
 * - `behavior.stuffing.global` (log, risk 0.4): the current bucket's global failure ratio ≥ `minRatio` and ≥
 *   `factor` × its EWMA baseline (span 30 buckets of 1 min), with ≥ `minAttempts` attempts.
 * - `behavior.stuffing.slow` (ban ip): low-and-slow, ≥ 20 failures in 6 h (6 buckets of 1 h) with ratio ≥ 0.8.
 *
 * Typos are forgiven: a success after failures for the same username from the same client removes that
 * username from the client's distinct count and that client from the username's distinct count.
 *
 * State: LRU maps bounded by {@link behaviorKeys}, created only for clients with a login outcome: two sliding
 * counters per client, plus (after a first failure) ≤ 256 failed-username hashes and the low-and-slow buckets.
 */
function buildCredentialStuffingDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.credentialStuffing;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const login = new LoginRecognizer(policy.behavior.bruteForce);
  const fields = policy.behavior.bruteForce.usernameFields;
  const maxKeys = behaviorKeys(policy);
  const pc = cfg.perClient;
  const pu = cfg.perUsername;
  const pf = cfg.perFingerprint;
  const gr = cfg.globalRatio;
  const ls = cfg.lowAndSlow;
  const clients = new KeyedState<ClientState>(maxKeys, () => ({ attempts: new SlidingCounter(pc.window), failures: new SlidingCounter(pc.window) }));
  const users = new KeyedState<DistinctWindow>(maxKeys, () => new DistinctWindow(pu.window, 64));
  const fps = new KeyedState<FpState>(Math.min(maxKeys, 50_000), () => ({
    clients: new DistinctWindow(pf.window, 256),
    attempts: new BucketCounter(pf.window, 10),
    failures: new BucketCounter(pf.window, 10),
  }));
  const goodPairs = new KeyedState<true>(maxKeys, () => true);
  /** Fingerprints caught stuffing → time until which their login attempts are throttled (ms). */
  const flagged = new LruMap<string, number>(Math.min(maxKeys, 50_000));
  const gAttempts = new Ewma(gr.bucket, gr.spanBuckets);
  const gFailures = new Ewma(gr.bucket, gr.spanBuckets);

  /** Global failure-ratio spike in the current bucket vs the EWMA baseline. */
  const spike = (now: number): { on: boolean; ratio: number; baseline: number; attempts: number } => {
    const a = gAttempts.currentValue(now);
    const f = gFailures.currentValue(now);
    const ratio = a > 0 ? f / a : 0;
    const baseline = gAttempts.value > 0 ? gFailures.value / gAttempts.value : 0;
    return { on: a >= gr.minAttempts && ratio >= gr.minRatio && ratio >= gr.factor * baseline, ratio, baseline, attempts: a };
  };

  return {
    name: 'stuffing',
    needsBody: true,
    inspectRequest(ctx: RequestContext): DetectorResult {
      if (flagged.size === 0 || !login.isLogin(ctx)) return undefined;
      const fp = fingerprintOf(ctx);
      const until = flagged.peek(fp);
      if (until === undefined) return undefined;
      if (until <= ctx.startedAt) {
        flagged.delete(fp);
        return undefined;
      }
      return signal({
        ruleId: 'behavior.stuffing.fingerprint',
        detector: 'stuffing',
        category: 'credential-stuffing',
        action: 'throttle',
        risk: 0.6,
        monitor: cfg.monitor,
        message: 'login attempt with a fingerprint caught credential stuffing; throttled',
        detail: { retryAfterS: Math.max(1, Math.ceil((until - ctx.startedAt) / 1000)) },
        tags: ['OWASP_OAT/OAT-008'],
      });
    },
    inspectBody(ctx: RequestContext): DetectorResult {
      if (!login.isLogin(ctx)) return undefined;
      const user = loginUsername(ctx, fields);
      if (user === undefined) return undefined;
      const w = users.peek(user);
      if (w === undefined) return undefined;
      const n = w.count(ctx.startedAt);
      if (n < pu.distinctClients || goodPairs.peek(ctx.clientKey + '\n' + user) !== undefined) return undefined;
      return signal({
        ruleId: 'behavior.stuffing.user',
        detector: 'stuffing',
        category: 'credential-stuffing',
        action: 'throttle',
        risk: 0.6,
        monitor: cfg.monitor,
        message: `one username failed from ${n} clients in ${fmtMs(pu.window)}; attempts throttled`,
        detail: { clients: n, threshold: pu.distinctClients, windowMs: pu.window, retryAfterS: Math.ceil(pu.throttleFor / 1000) },
        tags: ['OWASP_OAT/OAT-008'],
      });
    },
    observeResponse(ctx: RequestContext, res: ResponseInfo): DetectorResult {
      const outcome = login.outcome(ctx, res);
      if (outcome === undefined) return undefined;
      const now = ctx.startedAt + res.latencyMs;
      const user = loginUsername(ctx, fields);
      const fp = fingerprintOf(ctx);
      const failed = outcome === 'failure';
      const c = clients.get(ctx.clientKey);
      const f = fps.get(fp);
      c.attempts.add(now);
      c.slow?.attempts.add(now);
      f.attempts.add(now);
      gAttempts.add(now);
      if (!failed) {
        if (user !== undefined) {
          goodPairs.get(ctx.clientKey + '\n' + user);
          // A failure then a success for the same username from the same client is a typo: forgive it.
          c.failedUsers?.delete(user);
          users.peek(user)?.delete(ctx.clientKey);
        }
        return undefined;
      }
      gFailures.add(now);
      c.failures.add(now);
      if (c.slow === undefined) {
        c.slow = { attempts: new CoarseCounter(ls.window, ls.buckets), failures: new CoarseCounter(ls.window, ls.buckets) };
        c.slow.attempts.add(now);
      }
      const s = c.slow;
      s.failures.add(now);
      f.failures.add(now);
      f.clients.add(ctx.clientKey, now);
      if (user !== undefined) {
        (c.failedUsers ??= new DistinctWindow(pc.window, 256)).add(user, now);
        users.get(user).add(ctx.clientKey, now);
      }
      const out: Signal[] = [];
      const g = spike(now);
      const base = { detector: 'stuffing', category: 'credential-stuffing', monitor: cfg.monitor, tags: ['OWASP_OAT/OAT-008'] as const };
      if (g.on) {
        out.push(
          signal({
            ...base,
            ruleId: 'behavior.stuffing.global',
            action: 'log',
            risk: 0.4,
            message: `global login failure ratio ${g.ratio.toFixed(2)} vs baseline ${g.baseline.toFixed(2)}`,
            detail: { ratio: Number(g.ratio.toFixed(3)), baseline: Number(g.baseline.toFixed(3)), attempts: g.attempts, factor: gr.factor, bucketMs: gr.bucket },
          }),
        );
      }
      // One client, many usernames.
      const distinct = c.failedUsers?.count(now) ?? 0;
      const need = g.on ? Math.max(3, Math.ceil(pc.distinctUsernames / 2)) : pc.distinctUsernames;
      const cRatio = c.failures.total(now) / Math.max(1, c.attempts.total(now));
      if (distinct >= need && cRatio >= pc.minFailureRatio) {
        c.attempts = new SlidingCounter(pc.window);
        c.failures = new SlidingCounter(pc.window);
        c.failedUsers = undefined;
        out.push(
          signal({
            ...base,
            ruleId: 'behavior.stuffing.client',
            action: 'ban',
            risk: 0.9,
            message: `${distinct} distinct usernames failed from one client in ${fmtMs(pc.window)} (failure ratio ${cRatio.toFixed(2)})`,
            detail: { distinctUsernames: distinct, threshold: need, failureRatio: Number(cRatio.toFixed(3)), minFailureRatio: pc.minFailureRatio, windowMs: pc.window, globalSpike: g.on },
            ban: { scope: 'ip', value: ctx.clientKey, durationMs: pc.banDuration },
          }),
        );
        return out;
      }
      // Many clients, one fingerprint (rotating IPs, one tool).
      const fClients = f.clients.count(now);
      const fFail = f.failures.total(now);
      const fRatio = fFail / Math.max(1, f.attempts.total(now));
      if (fClients >= pf.minClients && fFail >= pf.minFailures && fRatio >= pf.minFailureRatio) {
        fps.delete(fp);
        if (!cfg.monitor) flagged.set(fp, now + pf.banDuration);
        out.push(
          signal({
            ...base,
            ruleId: 'behavior.stuffing.fingerprint',
            action: 'ban',
            risk: 0.9,
            message: `${fFail} failed logins from ${fClients} clients sharing one fingerprint in ${fmtMs(pf.window)} (failure ratio ${fRatio.toFixed(2)}); its login attempts throttled for ${fmtMs(pf.banDuration)}`,
            detail: { clients: fClients, failures: fFail, failureRatio: Number(fRatio.toFixed(3)), minClients: pf.minClients, minFailures: pf.minFailures, windowMs: pf.window, fingerprint: fp },
            ban: { scope: 'ip', value: ctx.clientKey, durationMs: pf.banDuration },
          }),
        );
        return out;
      }
      // Low and slow.
      const sFail = s.failures.total(now);
      const sRatio = sFail / Math.max(1, s.attempts.total(now));
      if (sFail >= ls.maxFailures && sRatio >= ls.minFailureRatio) {
        c.slow = undefined;
        out.push(
          signal({
            ...base,
            ruleId: 'behavior.stuffing.slow',
            action: 'ban',
            risk: 0.8,
            message: `${sFail} failed logins in ${fmtMs(ls.window)} from one client (low and slow, failure ratio ${sRatio.toFixed(2)})`,
            detail: { failures: sFail, maxFailures: ls.maxFailures, failureRatio: Number(sRatio.toFixed(3)), windowMs: ls.window, bucketMs: Math.ceil(ls.window / ls.buckets) },
            ban: { scope: 'ip', value: ctx.clientKey, durationMs: ls.banDuration },
          }),
        );
      }
      return out.length ? out : undefined;
    },
  };
}

/** Registry factory of {@link buildCredentialStuffingDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const credentialStuffingDetector = reloadable(buildCredentialStuffingDetector, (p) => [p.behavior.enabled, p.behavior.credentialStuffing, p.behavior.bruteForce, p.state.maxKeys]);
