import { SCRATCH_IP_BYTES, type RequestContext } from '../core/context.ts';
import type { Detector, DetectorFactory } from '../core/detector.ts';
import type { Services } from '../core/services.ts';
import type { Signal } from '../core/types.ts';
import type { Policy } from '../config/schema.ts';
import { CidrList, parseIp } from '../decisions/cidr.ts';
import { maskApiKey } from '../events/record.ts';

/** Outcome of a list lookup: `allow`, `deny` (with what matched, secrets masked), or undefined. */
export type ListVerdict = { kind: 'allow' } | { kind: 'deny'; matched: string; location: 'client' | 'header' };

/**
 * The policy's allow and deny lists (`lists.allow`, `lists.deny`), compiled once per policy object.
 *
 * Precedence: a deny entry on any identity (IP or API key) wins over an allow entry on another identity;
 * for IPs the most specific block wins (an allowed /8 with a denied /32 inside denies that host), and an
 * equally specific allow and deny is a deny.
 */
export class CompiledLists {
  private readonly allowIps = new Set<string>();
  private readonly denyIps = new Set<string>();
  private readonly cidrs = new CidrList<'allow' | 'deny'>();
  private readonly allowKeys: ReadonlySet<string>;
  private readonly denyKeys: ReadonlySet<string>;
  /** True when no list has an entry (the detector is then skipped). */
  readonly empty: boolean;

  constructor(policy: Policy) {
    const add = (text: string, kind: 'allow' | 'deny'): void => {
      const slash = text.indexOf('/');
      const bytes = parseIp(slash === -1 ? text : text.slice(0, slash));
      if (bytes === undefined) return;
      const full = bytes.length * 8;
      const bits = slash === -1 ? full : Number(text.slice(slash + 1)) - (bytes.length === 4 && text.slice(0, slash).includes(':') ? 96 : 0);
      if (bits === full) {
        // Exact address: canonical text lookup (also matches how the data plane formats clientIp).
        const canon = bytes.length === 4 ? bytes.join('.') : (slash === -1 ? text : text.slice(0, slash)).toLowerCase();
        (kind === 'allow' ? this.allowIps : this.denyIps).add(canon);
      }
      this.cidrs.add(text, kind);
    };
    for (const ip of policy.lists.allow.ips) add(ip, 'allow');
    for (const ip of policy.lists.deny.ips) add(ip, 'deny');
    this.allowKeys = new Set(policy.lists.allow.apiKeys);
    this.denyKeys = new Set(policy.lists.deny.apiKeys);
    this.empty = this.cidrs.size === 0 && this.allowKeys.size === 0 && this.denyKeys.size === 0;
  }

  /** Looks up the request's client IP and API key. O(1) for exact entries, O(CIDR count) otherwise. */
  check(ctx: RequestContext): ListVerdict | undefined {
    if (this.empty) return undefined;
    let allowed = false;
    const key = ctx.apiKey;
    if (key !== undefined) {
      if (this.denyKeys.has(key)) return { kind: 'deny', matched: maskApiKey(key), location: 'header' };
      if (this.allowKeys.has(key)) allowed = true;
    }
    if (this.cidrs.size > 0) {
      const ip = ctx.clientIp;
      if (this.denyIps.has(ip)) return { kind: 'deny', matched: ip, location: 'client' };
      if (this.allowIps.has(ip)) return { kind: 'allow' };
      let bytes = ctx.scratch.get(SCRATCH_IP_BYTES);
      if (bytes === undefined) {
        bytes = parseIp(ip);
        if (bytes) ctx.scratch.set(SCRATCH_IP_BYTES, bytes);
      }
      if (bytes) {
        const best = this.longest(bytes);
        if (best?.kind === 'deny') return { kind: 'deny', matched: ip, location: 'client' };
        if (best?.kind === 'allow') allowed = true;
      }
    }
    return allowed ? { kind: 'allow' } : undefined;
  }

  /** Most specific matching block; at equal length, deny wins. */
  private longest(bytes: Uint8Array): { bits: number; kind: 'allow' | 'deny' } | undefined {
    let best: { bits: number; kind: 'allow' | 'deny' } | undefined;
    for (const m of this.cidrs.matchAllWithBits(bytes)) {
      if (!best || m.bits > best.bits || (m.bits === best.bits && m.value === 'deny')) best = { bits: m.bits, kind: m.value };
    }
    return best;
  }
}

const cache = new WeakMap<Policy, CompiledLists>();

/** The compiled lists of a policy (cached per policy object, so a reload recompiles). */
export function compiledLists(policy: Policy): CompiledLists {
  let c = cache.get(policy);
  if (!c) {
    c = new CompiledLists(policy);
    cache.set(policy, c);
  }
  return c;
}

/**
 * Allow/deny lists (`lists.allow`, `lists.deny`: IPs, CIDRs, API keys).
 * Allow → `ctx.allowListed = true` (later detectors are skipped except counting ones such as rate limits;
 * the decide step allows). Deny → signal `lists.deny` with `action: 'block'` (403), category `lists`.
 * Returns undefined (detector disabled) when both lists are empty.
 */
export const listsDetector: DetectorFactory<Services> = (policy) => {
  const lists = compiledLists(policy);
  if (lists.empty) return undefined;
  const detector: Detector = {
    name: 'lists',
    inspectRequest(ctx: RequestContext): Signal | undefined {
      const v = lists.check(ctx);
      if (v === undefined) return undefined;
      if (v.kind === 'allow') {
        ctx.allowListed = true;
        return undefined;
      }
      return {
        ruleId: 'lists.deny',
        detector: 'lists',
        category: 'lists',
        score: 0,
        action: 'block',
        message: v.location === 'client' ? 'client IP is on the deny list' : 'API key is on the deny list',
        evidence: { location: { kind: v.location === 'client' ? 'client' : 'header' }, matched: v.matched },
      };
    },
  };
  return detector;
};
