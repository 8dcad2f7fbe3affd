import type { Detector, DetectorFactory } from '../core/detector.ts';
import type { Services } from '../core/services.ts';
import type { Policy } from '../config/schema.ts';
import { decisionsDetector } from './decisions.ts';
import { listsDetector } from './lists.ts';
import { rateLimitDetector } from './ratelimit.ts';
import { payloadDetector } from '../engine/detector.ts';
import { honeypotDetector } from '../behavior/detectors/honeypot.ts';
import { flowsDetector } from '../behavior/detectors/flows.ts';
import { bruteForceDetector } from '../behavior/detectors/bruteforce.ts';
import { credentialStuffingDetector } from '../behavior/detectors/stuffing.ts';
import { enumerationDetector } from '../behavior/detectors/enumeration.ts';
import { scannerDetector } from '../behavior/detectors/scanner.ts';
import { fingerprintDetector } from '../behavior/detectors/fingerprint.ts';
import { botsDetector } from '../behavior/detectors/bots.ts';
import { trafficStatsDetector } from '../controlplane/stats/traffic.ts';
import { geoDetector } from '../behavior/geo/detector.ts';
import { discoveryDetector } from '../behavior/discovery/detector.ts';
import { baselineDetector } from '../behavior/baseline/detector.ts';
import { positiveDetector } from '../behavior/positive/detector.ts';
import { anomalyDetector } from '../behavior/iforest/detector.ts';

/**
 * The ordered list of detector factories: the order requests flow through. Cheap checks that can end a
 * request early come first (active decisions, allow/deny lists, rate limits), then payload inspection, then
 * behavioural detectors. Each factory returns undefined when the policy disables its detector.
 *
 * To add a detector: write `src/<module>/<name>.ts` exporting a {@link DetectorFactory}, and list it here.
 */
export const DETECTOR_FACTORIES: readonly DetectorFactory<Services>[] = [
  decisionsDetector,
  listsDetector,
  // GeoIP/ASN early: sets ctx.geo (country lists can end the request before rate limits)
  geoDetector,
  rateLimitDetector,
  payloadDetector,
  // API discovery first among behaviour detectors (sets ctx.route), then per-endpoint baselines, the positive
  // security model and the Isolation Forest's per-client feature tracking
  discoveryDetector,
  baselineDetector,
  positiveDetector,
  anomalyDetector,
  // Behavioural abuse detectors (after API discovery when present): honeypot first (cheap, decisive), then
  // business flows, login abuse, bot signatures (before the sweeps: they exempt verified crawlers), sweeps and
  // floods.
  honeypotDetector,
  flowsDetector,
  bruteForceDetector,
  credentialStuffingDetector,
  botsDetector,
  enumerationDetector,
  scannerDetector,
  fingerprintDetector,
  // Last: counts every request (allow-listed too) with its final verdict for the control plane's statistics.
  trafficStatsDetector,
];

/** Builds the detectors for a policy, in pipeline order. */
export function buildDetectors(policy: Policy, services: Services): Detector[] {
  const out: Detector[] = [];
  for (const f of DETECTOR_FACTORIES) {
    const d = f(policy, services);
    if (d) out.push(d);
  }
  return out;
}
