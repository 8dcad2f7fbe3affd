import type { Detector, DetectorFactory } from '../core/detector.ts';
import type { Services } from '../core/services.ts';
import type { Policy } from '../config/schema.ts';
import { decisionsDetector } from './decisions.ts';
import { listsDetector } from './lists.ts';
import { rateLimitDetector } from './ratelimit.ts';
import { payloadDetector } from '../engine/detector.ts';

/**
 * The ordered list of detector factories: the order requests flow through. Cheap checks that can end a
 * request early come first (active decisions, allow/deny lists, rate limits), then payload inspection, then
 * behavioural detectors. Each factory returns undefined when the policy disables its detector.
 *
 * To add a detector: write `src/<module>/<name>.ts` exporting a {@link DetectorFactory}, and list it here.
 */
export const DETECTOR_FACTORIES: readonly DetectorFactory<Services>[] = [decisionsDetector, listsDetector, rateLimitDetector, payloadDetector];

/** Builds the detectors for a policy, in pipeline order. */
export function buildDetectors(policy: Policy, services: Services): Detector[] {
  const out: Detector[] = [];
  for (const f of DETECTOR_FACTORIES) {
    const d = f(policy, services);
    if (d) out.push(d);
  }
  return out;
}
