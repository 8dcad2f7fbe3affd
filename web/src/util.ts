/** Formatting helpers. Everything request-derived is rendered as JSX text; {@link esc} is for ECharts HTML. */

/** HTML-escapes a value for ECharts tooltip/label formatters (which return HTML strings). */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `2026-11-21 18:40:12` in local time. */
export function fmtTime(ms: number | undefined | null): string {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `18:40` local. */
export function fmtHm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Relative time `3m ago` / `in 2h`. */
export function fmtRel(ms: number | undefined): string {
  if (!ms) return '—';
  const d = ms - Date.now();
  const a = Math.abs(d);
  const s = a < 60_000 ? `${Math.round(a / 1000)}s` : a < 3_600_000 ? `${Math.round(a / 60_000)}m` : a < 86_400_000 ? `${Math.round(a / 3_600_000)}h` : `${Math.round(a / 86_400_000)}d`;
  return d < 0 ? `${s} ago` : `in ${s}`;
}

/** Thousands separators. */
export function fmtNum(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-US');
}

/** Time ranges of the picker (ms). */
export const RANGES: { id: string; label: string; ms: number }[] = [
  { id: '15m', label: '15 min', ms: 15 * 60_000 },
  { id: '1h', label: '1 hour', ms: 3_600_000 },
  { id: '6h', label: '6 hours', ms: 6 * 3_600_000 },
  { id: '24h', label: '24 hours', ms: 86_400_000 },
  { id: '7d', label: '7 days', ms: 7 * 86_400_000 },
];
