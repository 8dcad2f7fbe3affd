import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Leaf schemas shared by the policy sections. This module imports no other policy module, so section
 * schemas (`src/engine/schema.ts`, …) and `src/config/schema.ts` can both use it without an import cycle.
 */

/** An IP address or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
export const cidr = z.string().refine(
  (s) => {
    const slash = s.indexOf('/');
    const ip = slash === -1 ? s : s.slice(0, slash);
    const v = isIP(ip);
    if (v === 0) return false;
    if (slash === -1) return true;
    const bits = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits)) return false;
    return Number(bits) <= (v === 4 ? 32 : 128);
  },
  { message: 'expected an IP address or CIDR such as 10.0.0.0/8 or 2001:db8::/32' },
);

/** A rule, exclusion or rate-limit id: `a-z`, `0-9`, `.`, `_`, `-`, at most 64 characters. */
export const slug = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected an id of a-z, 0-9, ".", "_", "-" (max 64)');
