import type { Detector } from '../../core/detector.ts';
import type { RequestContext } from '../../core/context.ts';
import type { DetectorResult, ResponseInfo } from '../../core/types.ts';
import type { Policy } from '../../config/schema.ts';
import { DistinctWindow, FailureLedger, KeyedState } from '../window.ts';
import { fmtMs, loginUsername, signal, reloadable, behaviorKeys } from './common.ts';
import { LoginRecognizer } from './login.ts';

interface ClientState {
  /** Failures per username from this client (forgiven when the client then logs in as that username). */
  failures: FailureLedger;
  /** Distinct usernames that logged in successfully from this client in the window (its visible user population); created on the first success. */
  okUsers?: DistinctWindow;
}

/**
 * Failed authentication / brute force (OWASP Authentication Cheat Sheet, "Protect against automated attacks";
 * OWASP OAT-007 Credential Cracking). Failures are read from the upstream response (status in
 * `failureStatuses`, default 401/403, or the `failureBodyMarker` in the body sample).
 *
 * - `behavior.bruteforce.ip` (action ban, scope ip): more than `maxFailures` (5) failures in `window` (10 min)
 *   from one client key → ban `banDuration` (30 min). The allowance is multiplied by the number of distinct
 *   usernames that logged in successfully from that client in the same window: one carrier-NAT or office IP
 *   with 40 real users is allowed 40 × 5 typos, while an attacker (no successes) or a user with one own account
 *   gets 5. Credential stuffing across many usernames is caught by the stuffing detector's ratios.
 *   A failure followed by a successful login for the same username from the same client is forgiven (a typo,
 *   not an attack: OWASP Authentication Cheat Sheet advises against locking out users for mistyped passwords).
 * - `behavior.bruteforce.user` (action throttle): more than `perUsername.maxFailures` (10) failures in its
 *   window on one username across all clients → further attempts on it are throttled (429, Retry-After
 *   `throttleFor`), lock-out style, except from clients that logged in successfully as that username before,
 *   so the real owner is not locked out by an attacker. Failures later resolved by a success from the same
 *   client (typos) are forgiven here too.
 *
 * State: LRU maps bounded by {@link behaviorKeys}, created only for clients with a login outcome (per client
 * ≤ 16 failing usernames × ~100 bytes, ≤ 64 successful-username hashes; per username ≤ 64 failing clients).
 */
function buildBruteForceDetector(policy: Policy): Detector | undefined {
  const cfg = policy.behavior.bruteForce;
  if (!policy.behavior.enabled || !cfg.enabled) return undefined;
  const login = new LoginRecognizer(cfg);
  const maxKeys = behaviorKeys(policy);
  const clients = new KeyedState<ClientState>(maxKeys, () => ({ failures: new FailureLedger(cfg.window, 16) }));
  const users = new KeyedState<FailureLedger>(maxKeys, () => new FailureLedger(cfg.perUsername.window, 64));
  const goodPairs = new KeyedState<true>(maxKeys, () => true);

  return {
    name: 'bruteforce',
    needsBody: true,
    inspectRequest(ctx: RequestContext): DetectorResult {
      login.isLogin(ctx);
      return undefined;
    },
    inspectBody(ctx: RequestContext): DetectorResult {
      if (!cfg.perUsername.enabled || !login.isLogin(ctx)) return undefined;
      const user = loginUsername(ctx, cfg.usernameFields);
      if (user === undefined) return undefined;
      const c = users.peek(user);
      if (c === undefined) return undefined;
      const n = c.total(ctx.startedAt);
      if (n <= cfg.perUsername.maxFailures || goodPairs.peek(ctx.clientKey + '\n' + user) !== undefined) return undefined;
      return signal({
        ruleId: 'behavior.bruteforce.user',
        detector: 'bruteforce',
        category: 'bruteforce',
        action: 'throttle',
        risk: 0.6,
        monitor: cfg.monitor,
        message: `${n} failed logins for one username in ${fmtMs(cfg.perUsername.window)} (max ${cfg.perUsername.maxFailures}); attempts throttled`,
        detail: { failures: n, max: cfg.perUsername.maxFailures, windowMs: cfg.perUsername.window, retryAfterS: Math.ceil(cfg.perUsername.throttleFor / 1000) },
        tags: ['OWASP_OAT/OAT-007'],
      });
    },
    observeResponse(ctx: RequestContext, res: ResponseInfo): DetectorResult {
      const outcome = login.outcome(ctx, res);
      if (outcome === undefined) return undefined;
      const now = ctx.startedAt + res.latencyMs;
      const user = loginUsername(ctx, cfg.usernameFields);
      if (outcome === 'success') {
        if (user !== undefined) {
          const st = clients.get(ctx.clientKey);
          (st.okUsers ??= new DistinctWindow(cfg.window, 64)).add(user, now);
          st.failures.forgive(user);
          users.peek(user)?.forgive(ctx.clientKey);
          goodPairs.get(ctx.clientKey + '\n' + user);
        }
        return undefined;
      }
      if (user !== undefined && cfg.perUsername.enabled) users.get(user).add(ctx.clientKey, now);
      const st = clients.get(ctx.clientKey);
      st.failures.add(user ?? '', now);
      const n = st.failures.total(now);
      const population = Math.max(1, st.okUsers?.count(now) ?? 0);
      const allowed = cfg.maxFailures * population;
      if (n <= allowed) return undefined;
      clients.delete(ctx.clientKey);
      return signal({
        ruleId: 'behavior.bruteforce.ip',
        detector: 'bruteforce',
        category: 'bruteforce',
        action: 'ban',
        risk: 0.9,
        severity: 'critical',
        monitor: cfg.monitor,
        message: `${n} failed logins in ${fmtMs(cfg.window)} from one client (allowed ${allowed} = ${cfg.maxFailures} × ${population} users seen logging in)`,
        detail: { failures: n, maxFailures: cfg.maxFailures, usersLoggedIn: population, windowMs: cfg.window, banDurationMs: cfg.banDuration },
        ban: { scope: 'ip', value: ctx.clientKey, durationMs: cfg.banDuration },
        tags: ['OWASP_OAT/OAT-007', 'CWE-307'],
      });
    },
  };
}

/** Registry factory of {@link buildBruteForceDetector}, kept across policy reloads with its state ({@link reloadable}). */
export const bruteForceDetector = reloadable(buildBruteForceDetector, (p) => [p.behavior.enabled, p.behavior.bruteForce, p.state.maxKeys]);
