import type { Policy } from '../config/schema.ts';
import type { Services } from '../core/services.ts';

/**
 * What the control plane needs from the running gateway: the shape of `BulwarkApp` from `src/app.ts` that it
 * uses (structural, so tests can pass a small host built on real services without the data plane).
 */
export interface ControlPlaneHost {
  services: Services;
  /** The policy in force. */
  policy(): Policy;
  /**
   * Applies a new validated policy atomically (detectors rebuilt, pipeline swapped).
   * @throws when the gateway refuses it; the old policy stays in force.
   */
  reload(next: Policy): unknown;
  /** Path of the policy file the gateway was started with, if any (the control plane writes applied versions there). */
  policyFile?: string;
}
