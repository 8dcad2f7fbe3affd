import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics, on one registry served by the admin listener at `/metrics`.
 * Names follow Prometheus conventions (`_total` counters, `_seconds` histograms). Label values are bounded
 * sets (actions, rule ids, detector names, status classes): never a client IP or path, so cardinality stays fixed.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Requests seen by the data plane, by method class and action. */
  readonly requests = new Counter({ name: 'bulwark_requests_total', help: 'Requests received by the gateway', labelNames: ['action'] as const, registers: [this.registry] });
  /** Non-allow decisions by action and deciding rule id (monitor = "would" actions). */
  readonly decisions = new Counter({ name: 'bulwark_decisions_total', help: 'Verdicts other than allow, by action and rule', labelNames: ['action', 'rule', 'monitor'] as const, registers: [this.registry] });
  /** Signals emitted by detectors. */
  readonly signals = new Counter({ name: 'bulwark_signals_total', help: 'Signals emitted, by detector and category', labelNames: ['detector', 'category'] as const, registers: [this.registry] });
  /** Upstream response latency, seconds, by status class (2xx, 4xx, 5xx, error). */
  readonly upstreamLatency = new Histogram({
    name: 'bulwark_upstream_latency_seconds',
    help: 'Time from forwarding to upstream response headers',
    labelNames: ['status_class'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Time spent in the pipeline per request, seconds. */
  readonly inspectionLatency = new Histogram({
    name: 'bulwark_inspection_seconds',
    help: 'Time spent deciding a request (all detectors)',
    buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({ name: 'bulwark_upstream_errors_total', help: 'Upstream failures answered with 502/504', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly detectorErrors = new Counter({ name: 'bulwark_detector_errors_total', help: 'Exceptions caught from detectors (the request continued)', labelNames: ['detector'] as const, registers: [this.registry] });
  readonly eventQueueDepth = new Gauge({ name: 'bulwark_event_queue_depth', help: 'Events waiting to be written to the store', registers: [this.registry] });
  readonly eventsWritten = new Counter({ name: 'bulwark_events_written_total', help: 'Events written to the store', registers: [this.registry] });
  readonly eventsDropped = new Counter({ name: 'bulwark_events_dropped_total', help: 'Events dropped because the queue was full or the store failed past retries', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly activeDecisions = new Gauge({ name: 'bulwark_active_decisions', help: 'Active decisions (bans, throttles)', registers: [this.registry] });
  readonly trackedKeys = new Gauge({ name: 'bulwark_tracked_keys', help: 'Per-client state entries held in memory, by store', labelNames: ['store'] as const, registers: [this.registry] });
  readonly policyReloads = new Counter({ name: 'bulwark_policy_reloads_total', help: 'Policy reload attempts', labelNames: ['result'] as const, registers: [this.registry] });

  /** @param defaults - also collect Node.js process metrics (heap, event loop lag, RSS). */
  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'bulwark_' });
  }
}
