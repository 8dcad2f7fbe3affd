import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Policy } from '../../config/schema.ts';
import type { DecisionScope } from '../../core/types.ts';
import type { Incident, Recommendation } from './types.ts';

/** Ban length proposed for a range (24 h) and for an actor (1 h), in seconds. */
const RANGE_BAN_TTL_S = 86_400;
const ACTOR_BAN_TTL_S = 3_600;
/** Categories of abuse of a business flow (issue 4's behavioural detectors) rather than payload attacks. */
const FLOW_CATEGORIES = new Set(['bruteforce', 'credential-stuffing', 'credential_stuffing', 'stuffing', 'enumeration', 'scraping', 'flow', 'abuse']);
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function rid(incident: Incident, type: string, key: string): string {
  return createHash('sha256').update(`${incident.id}\0${type}\0${key}`).digest('hex').slice(0, 12);
}

/**
 * The network an IP belongs to for range bans: IPv4 /24 (one allocation block of a hosting provider or a
 * residential pool), IPv6 /48 (one site, RFC 6177). Returns undefined for anything that is not an IP.
 */
export function networkOf(ip: string): string | undefined {
  const slash = ip.indexOf('/');
  const addr = slash === -1 ? ip : ip.slice(0, slash);
  const v = isIP(addr);
  if (v === 4) {
    const p = addr.split('.');
    return `${p[0]}.${p[1]}.${p[2]}.0/24`;
  }
  if (v === 6) {
    // Expand "::" to full groups so the first three groups are the /48.
    const [head, tail] = addr.includes('::') ? addr.split('::') as [string, string] : [addr, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
    const g = (i: number) => (groups[i] ?? '0').toLowerCase().replace(/^0+(?=.)/, '');
    // Canonical compressed form (RFC 5952) via the WHATWG URL parser: `2001:db8:0::` → `2001:db8::`.
    const canon = new URL(`http://[${g(0)}:${g(1)}:${g(2)}::]`).hostname.slice(1, -1);
    return `${canon}/48`;
  }
  return undefined;
}

/** Turns a discovered route template (`/api/users/{id}`) into a rate-limit path pattern (`/api/users/*`). */
function routePattern(route: string): string | undefined {
  if (route.length === 0 || route.length > 256 || route[0] !== '/') return undefined;
  let out = '';
  let inBrace = false;
  for (const ch of route) {
    if (ch === '{') { inBrace = true; out += '*'; continue; }
    if (ch === '}') { inBrace = false; continue; }
    if (inBrace) continue;
    const c = ch.charCodeAt(0);
    if (c < 0x21 || c > 0x7e || ch === '?' || ch === '#') return undefined;
    out += ch;
  }
  return out;
}

/**
 * Computes recommendations from an incident's aggregates. Pure: no I/O. Each has a machine-readable action the
 * dashboard can apply through the control-plane API (decisions, rule modes, policy patches).
 *
 * Rules (thresholds from `controlPlane.incidents.recommend`):
 * - `ban_range`: ≥ `rangeMinIps` distinct client IPs of one IPv4 /24 or IPv6 /48 in the incident → ban the range 24 h.
 * - `ban_actor`: ≥ `banMinBlocked` blocked events from one IP, user or fingerprint with no active ban → ban 1 h
 *   (masked API keys cannot be banned by value: use the user or the IPs).
 * - `rate_limit_route`: ≥ `floodMinEvents` events on one route and none throttled by a rate limit → a rate-limit
 *   rule at a quarter of the observed per-minute rate (at least 5/min), keyed like the actor.
 * - `enforce_mode` / `enforce_rule`: monitor-mode events that would have been blocked → switch the global mode
 *   or the rule to enforce.
 * - `business_flow`: a flow-abuse scenario (brute force, stuffing, enumeration, scraping) or repeated unsafe
 *   calls on one route → a draft frequency rule for `behavior.flows` (marked `review`).
 * @param isBanned - whether an active ban already covers (scope, value); skips redundant bans.
 */
export function recommend(incident: Incident, policy: Policy, isBanned: (scope: DecisionScope, value: string) => boolean = () => false): Recommendation[] {
  const cfg = policy.controlPlane.incidents.recommend;
  const out: Recommendation[] = [];
  const s = incident.stats;

  // 1. Many IPs of one network.
  const nets = new Map<string, number>();
  for (const ip of Object.keys(s.ips)) {
    const net = networkOf(ip);
    if (net) nets.set(net, (nets.get(net) ?? 0) + 1);
  }
  const bigNets = [...nets].filter(([, n]) => n >= cfg.rangeMinIps).sort((a, b) => b[1] - a[1]).slice(0, 3);
  for (const [net, n] of bigNets) {
    if (isBanned('range', net)) continue;
    out.push({
      id: rid(incident, 'ban_range', net),
      type: 'ban_range',
      title: `Ban ${net}`,
      rationale: `${n} distinct client IPs of ${net} took part in this ${incident.scenario} incident (threshold ${cfg.rangeMinIps}).`,
      action: { kind: 'decision', decision: { scope: 'range', value: net, type: 'ban', ttlS: RANGE_BAN_TTL_S, reason: `incident ${incident.id}: ${n} IPs of ${net} (${incident.scenario})` } },
    });
  }

  // 2. Ban the actor itself.
  const a = incident.actor;
  if (incident.blocked >= cfg.banMinBlocked && a.kind !== 'api_key') {
    const scope: DecisionScope = a.kind === 'ip' ? (a.value.includes('/') ? 'range' : 'ip') : a.kind;
    if (!isBanned(scope, a.value)) {
      out.push({
        id: rid(incident, 'ban_actor', a.value),
        type: 'ban_actor',
        title: `Ban ${a.kind} ${a.value} for 1 hour`,
        rationale: `${incident.blocked} of ${incident.events} requests were blocked and no ban is active (threshold ${cfg.banMinBlocked}).`,
        action: { kind: 'decision', decision: { scope, value: a.value, type: 'ban', ttlS: ACTOR_BAN_TTL_S, reason: `incident ${incident.id}: ${incident.blocked} blocked ${incident.scenario} requests` } },
      });
    }
  }

  // 3. Floods on a route that no rate limit throttled.
  const spanMin = Math.max(1, (incident.lastSeen - incident.firstSeen) / 60_000);
  const floods = Object.entries(s.routes)
    .filter(([, r]) => r.count >= cfg.floodMinEvents && r.throttled === 0)
    .sort((x, y) => y[1].count - x[1].count)
    .slice(0, 2);
  for (const [key, r] of floods) {
    const route = key.slice(key.indexOf(' ') + 1);
    const path = routePattern(route);
    if (!path) continue;
    const rpm = r.count / spanMin;
    const limit = Math.max(5, Math.min(1000, Math.floor(rpm / 4)));
    const ruleId = `rec-${rid(incident, 'rl', key).slice(0, 8)}`;
    const rule = { id: ruleId, match: { path, methods: [r.method] }, key: a.kind === 'ip' ? 'ip' : a.kind, limit, window: '1m' };
    out.push({
      id: rid(incident, 'rate_limit_route', key),
      type: 'rate_limit_route',
      title: `Add a rate limit on ${r.method} ${path}`,
      rationale: `${r.count} requests (${rpm.toFixed(1)}/min) on ${r.method} ${route} and none was throttled by a rate limit (threshold ${cfg.floodMinEvents}).`,
      action: { kind: 'policy_patch', jsonPatch: [{ op: 'add', path: '/rateLimits/-', value: rule }] },
    });
  }

  // 4. Monitor-mode rules that would have blocked.
  const wouldBlock = Object.entries(s.rules).filter(([, r]) => r.wouldBlock > 0).sort((x, y) => y[1].wouldBlock - x[1].wouldBlock);
  if (wouldBlock.length > 0 && policy.mode === 'monitor') {
    const total = wouldBlock.reduce((n, [, r]) => n + r.wouldBlock, 0);
    out.push({
      id: rid(incident, 'enforce_mode', 'global'),
      type: 'enforce_mode',
      title: 'Switch the gateway from monitor to enforce mode',
      rationale: `${total} requests of this incident would have been blocked; the gateway runs in monitor mode (rules: ${wouldBlock.slice(0, 5).map(([id]) => id).join(', ')}).`,
      action: { kind: 'policy_patch', jsonPatch: [{ op: 'replace', path: '/mode', value: 'enforce' }], mergePatch: { mode: 'enforce' } },
    });
  } else {
    for (const [ruleId, r] of wouldBlock.slice(0, 3)) {
      out.push({
        id: rid(incident, 'enforce_rule', ruleId),
        type: 'enforce_rule',
        title: `Enable rule ${ruleId} in enforce mode`,
        rationale: `${ruleId} (${r.category}) is in monitor mode and would have blocked ${r.wouldBlock} requests of this incident.`,
        action: { kind: 'rule_mode', ruleId, mode: 'enforce' },
      });
    }
  }

  // 5. Business-flow rule for repeated state-changing calls.
  const flowScenario = FLOW_CATEGORIES.has(incident.scenario);
  const unsafe = Object.entries(s.routes)
    .filter(([, r]) => UNSAFE_METHODS.has(r.method) && r.count >= Math.max(10, Math.floor(cfg.floodMinEvents / 5)))
    .sort((x, y) => y[1].count - x[1].count)[0];
  if (unsafe && (flowScenario || a.kind === 'user' || a.kind === 'api_key')) {
    const [key, r] = unsafe;
    const route = key.slice(key.indexOf(' ') + 1);
    const path = routePattern(route);
    if (path) {
      const by = a.kind === 'user' || a.kind === 'api_key' ? a.kind : 'ip';
      const max = Math.max(3, Math.min(100, Math.floor(r.count / spanMin / 2)));
      const flow = { id: `rec-flow-${rid(incident, 'flow', key).slice(0, 8)}`, then: `${r.method} ${path}`, max, within: '1m', by, action: 'block' };
      out.push({
        id: rid(incident, 'business_flow', key),
        type: 'business_flow',
        title: `Add a business-flow rule on ${r.method} ${path}`,
        rationale: `${r.count} ${r.method} calls on ${route} by one ${a.kind} during a ${incident.scenario} incident; a per-${by} frequency rule (max ${max}/min) or a prerequisite step ("requires") would stop the abuse. Draft: review the limit and add a "requires" step if the flow has one.`,
        action: { kind: 'policy_patch', jsonPatch: [{ op: 'add', path: '/behavior/flows/-', value: flow }] },
        review: true,
      });
    }
  }
  return out;
}
