import type { RequestContext } from '../core/context.ts';
import type { Detector, DetectorFactory } from '../core/detector.ts';
import type { Services } from '../core/services.ts';
import { compiledLists } from './lists.ts';

/**
 * Active decisions, checked first on every request (CrowdSec's remediation step): sets
 * `ctx.matchedDecision` from `services.decisions.match(ctx)`. The decide step turns a `ban` into 403 and a
 * `throttle`/`captcha` into 429 with Retry-After until the decision expires; the pipeline then stops early.
 *
 * Allow-listed clients are recognized here already (and `ctx.allowListed` set), because the pipeline stops
 * at a matched decision before the lists detector runs: an operator's allow list must beat a ban.
 * Never throws: a failing lookup leaves the request undecided.
 */
export const decisionsDetector: DetectorFactory<Services> = (policy, services) => {
  const lists = compiledLists(policy);
  const detector: Detector = {
    name: 'decisions',
    inspectRequest(ctx: RequestContext): undefined {
      if (!lists.empty && lists.check(ctx)?.kind === 'allow') {
        ctx.allowListed = true;
        return undefined;
      }
      const d = services.decisions.match(ctx);
      if (d !== undefined) ctx.matchedDecision = d;
      return undefined;
    },
  };
  return detector;
};
