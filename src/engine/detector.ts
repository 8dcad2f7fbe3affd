import type { DetectorFactory, Detector } from '../core/detector.ts';
import type { Services } from '../core/services.ts';
import type { Policy } from '../config/schema.ts';
import type { PayloadRule } from './types.ts';
import { PayloadEngine } from './engine.ts';
import { ruleRegistry } from './registry.ts';

/**
 * Builds the `payload` detector (the attack payload engine as one pipeline stage) for a policy.
 * Header/path/query/cookie rules run in `inspectRequest`; body rules in `inspectBody` (`needsBody: true`, so
 * the data plane reads up to `body.inspectLimitBytes` of the body). Stateless per client: nothing grows with
 * traffic. Returns undefined when `detection.enabled` is false.
 * @param rules - rule registry override (tests); defaults to every registered rule.
 * @throws {RuleRegistryError} when the registry is inconsistent (never on the request path).
 */
export function createPayloadDetector(policy: Policy, rules: readonly PayloadRule[] = ruleRegistry()): (Detector & { readonly engine: PayloadEngine }) | undefined {
  if (!policy.detection.enabled) return undefined;
  const engine = new PayloadEngine(policy.detection, rules);
  return {
    name: 'payload',
    needsBody: true,
    engine,
    inspectRequest: (ctx) => engine.inspectRequest(ctx),
    inspectBody: (ctx) => engine.inspectBody(ctx),
  };
}

/** The registry entry for `src/detectors/registry.ts`. */
export const payloadDetector: DetectorFactory<Services> = (policy) => createPayloadDetector(policy);
