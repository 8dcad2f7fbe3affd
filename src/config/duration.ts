import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `250ms`, `90s`, `10m`, `1h`, `7d`, or a bare number of seconds.
 * @returns milliseconds, or NaN when the text is not a duration.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : Number.NaN;
  const s = input.trim();
  let i = 0;
  while (i < s.length && ((s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) || s[i] === '.')) i++;
  if (i === 0) return Number.NaN;
  const n = Number(s.slice(0, i));
  const unit = s.slice(i).trim() || 's';
  const mul = UNIT_MS[unit];
  if (mul === undefined || !Number.isFinite(n)) return Number.NaN;
  return n * mul;
}

/**
 * Zod schema for a duration given as `"10m"` or a number of seconds; the parsed value is in milliseconds.
 * Rejects negative and unparseable values with `expected a duration such as 500ms, 30s, 10m, 1h, 7d`.
 */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 30s, 10m, 1h, 7d' });
      return z.NEVER;
    }
    return ms;
  });
