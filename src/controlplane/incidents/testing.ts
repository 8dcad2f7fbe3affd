import { randomUUID } from 'node:crypto';
import type { SecurityEvent } from '../../events/types.ts';

/**
 * Builds a {@link SecurityEvent} for tests of the incidents/alerts modules: a blocked SQL-injection request from
 * 203.0.113.7 unless overridden. Not used at run time.
 */
export function makeEvent(over: Partial<SecurityEvent> = {}): SecurityEvent {
  const clientIp = over.clientIp ?? '203.0.113.7';
  return {
    id: randomUUID(),
    time: Date.now(),
    requestId: randomUUID(),
    clientIp,
    clientKey: clientIp,
    method: 'GET',
    target: '/api/items?q=1%27%20or%201=1',
    status: 403,
    action: 'block',
    wouldBe: 'block',
    monitor: false,
    anomalyScore: 5,
    risk: 0.7,
    level: 'HIGH',
    signals: [{ ruleId: 'sqli.942100', detector: 'sqli', category: 'sqli', score: 5, severity: 'critical' }],
    reasons: ['sqli.942100'],
    latencyMs: 1,
    category: 'sqli',
    ...over,
  };
}
