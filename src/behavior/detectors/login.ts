import { scratchKey, type RequestContext } from '../../core/context.ts';
import { stemmedRoute } from '../../core/strings.ts';
import type { ResponseInfo } from '../../core/types.ts';
import type { BruteForcePolicy } from './schema.ts';
import { compilePattern, matchesAny, segmentsOf, type PathPattern } from './common.ts';

/** Whether the request is a login attempt (shared by the brute-force and stuffing detectors). */
const IS_LOGIN = scratchKey<boolean>('behavior.login');

/**
 * Login-attempt recognition shared by the brute-force and credential-stuffing detectors, both configured by
 * `behavior.bruteForce` (`loginRoutes`, `usernameFields`, `failureStatuses`, `failureBodyMarker`), so the
 * two always agree on what a failed login is.
 */
export class LoginRecognizer {
  readonly cfg: BruteForcePolicy;
  private readonly routes: readonly PathPattern[];
  private readonly failure: ReadonlySet<number>;
  private readonly marker?: Buffer;

  /** @throws {Error} on an invalid login route pattern (the schema already rejects those). */
  constructor(cfg: BruteForcePolicy) {
    this.cfg = cfg;
    this.routes = cfg.loginRoutes.map(compilePattern);
    this.failure = new Set(cfg.failureStatuses);
    this.marker = cfg.failureBodyMarker !== undefined ? Buffer.from(cfg.failureBodyMarker, 'utf8') : undefined;
  }

  /** True when the request is a login attempt; cached in `ctx.scratch`. Asks for a response sample when a body marker is configured. */
  isLogin(ctx: RequestContext): boolean {
    const k = IS_LOGIN;
    const c = ctx.scratch.get(k);
    if (c !== undefined) return c;
    const segs = segmentsOf(ctx);
    let v = matchesAny(this.routes, ctx.method, segs) !== undefined;
    if (!v) {
      // frameworks route `/login.json` (a format suffix: Rails, Django REST Framework) and `/login;jsessionid=…`
      // (path parameters: Tomcat, Spring) to the login handler too
      const cut = stemmedRoute(segs);
      if (cut !== undefined) v = matchesAny(this.routes, ctx.method, cut) !== undefined;
    }
    ctx.scratch.set(k, v);
    if (v && this.marker) ctx.wantResponseBody = Math.max(ctx.wantResponseBody, this.cfg.responseSampleBytes);
    return v;
  }

  /**
   * Outcome of a login attempt from the upstream response: `failure` for a configured failure status or a
   * body containing the marker, `success` for other 2xx/3xx, undefined when not a login, answered by the
   * gateway itself (blocked/throttled: the password was never checked) or inconclusive (e.g. 5xx, 400).
   */
  outcome(ctx: RequestContext, res: ResponseInfo): 'success' | 'failure' | undefined {
    if (res.byGateway || !this.isLogin(ctx)) return undefined;
    if (this.failure.has(res.status)) return 'failure';
    if (res.status >= 200 && res.status < 400) {
      if (this.marker && res.bodySample && res.bodySample.indexOf(this.marker) !== -1) return 'failure';
      return 'success';
    }
    return undefined;
  }
}

