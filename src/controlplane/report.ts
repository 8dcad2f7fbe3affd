/**
 * Printable HTML summary report. Every string that may come from a request (routes, client keys, countries,
 * rule ids, categories, authors, comments) goes through {@link escapeHtml}; the page has no script and is
 * served with a CSP that forbids scripts (`default-src 'none'`), so an injected payload renders as text.
 */

/** Escapes the five HTML-significant characters (OWASP XSS Prevention Cheat Sheet, rule #1). */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** Loose shape of the report built by `GET /api/v1/reports/summary`. */
export interface ReportData {
  generatedAt: number;
  period: { from: number; to: number };
  summary: {
    requests: number; allowed: number; throttled: number; blocked: number; monitored: number; costSaved: number; currency: string;
    costPerBlockedRequest: number; activeDecisions: number;
    topEndpoints: { route: string; requests: number; blocked: number }[];
    topClients: { clientIp: string; requests: number; blocked: number }[];
    countries: { country: string; requests: number; blocked: number }[];
    levels: Record<string, number>;
    categories: { category: string; count: number }[];
  };
  topRules: { ruleId: string; count: number }[];
  decisions: { created: number; manual: number; byType: Record<string, number> };
  policyVersions: { version: number; author: string; createdAt: number; comment?: string }[];
  auditActions: Record<string, number>;
}

const iso = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '<p class="empty">None in this period.</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Renders the report as a self-contained printable HTML page (inline CSS, no script, no external resource). */
export function renderReportHtml(r: ReportData): string {
  const s = r.summary;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bulwark security report ${escapeHtml(iso(r.period.from))} – ${escapeHtml(iso(r.period.to))}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#111}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;word-break:break-all}
th{background:#f3f3f3}.kpi{display:flex;gap:1.5em;flex-wrap:wrap}.kpi div{border:1px solid #ccc;padding:.6em 1em}.kpi b{display:block;font-size:1.3em}
.empty{color:#666}@media print{body{margin:0}}
</style></head><body>
<h1>Bulwark security summary</h1>
<p>Period: ${escapeHtml(iso(r.period.from))} – ${escapeHtml(iso(r.period.to))}. Generated ${escapeHtml(iso(r.generatedAt))}.</p>
<div class="kpi">
<div>Requests<b>${escapeHtml(s.requests)}</b></div><div>Allowed<b>${escapeHtml(s.allowed)}</b></div>
<div>Throttled<b>${escapeHtml(s.throttled)}</b></div><div>Blocked<b>${escapeHtml(s.blocked)}</b></div>
<div>Monitor-mode hits<b>${escapeHtml(s.monitored)}</b></div><div>Active decisions<b>${escapeHtml(s.activeDecisions)}</b></div>
<div>Estimated cost saved<b>${escapeHtml(s.costSaved)} ${escapeHtml(s.currency)}</b><small>${escapeHtml(s.costPerBlockedRequest)} per blocked request</small></div>
</div>
<h2>Threat levels</h2>${table(['Level', 'Requests'], Object.entries(s.levels))}
<h2>Top rules</h2>${table(['Rule', 'Requests'], r.topRules.map((x) => [x.ruleId, x.count]))}
<h2>Attack categories</h2>${table(['Category', 'Requests'], s.categories.map((x) => [x.category, x.count]))}
<h2>Top endpoints</h2>${table(['Endpoint', 'Requests', 'Blocked'], s.topEndpoints.map((x) => [x.route, x.requests, x.blocked]))}
<h2>Top clients</h2>${table(['Client', 'Requests', 'Blocked'], s.topClients.map((x) => [x.clientIp, x.requests, x.blocked]))}
<h2>Countries</h2>${table(['Country', 'Requests', 'Blocked'], s.countries.map((x) => [x.country, x.requests, x.blocked]))}
<h2>Decisions</h2><p>${escapeHtml(r.decisions.created)} created (${escapeHtml(r.decisions.manual)} manual).</p>${table(['Type', 'Count'], Object.entries(r.decisions.byType))}
<h2>Policy changes</h2>${table(['Version', 'Author', 'Time', 'Comment'], r.policyVersions.map((v) => [v.version, v.author, iso(v.createdAt), v.comment ?? '']))}
<h2>Audited changes</h2>${table(['Action', 'Count'], Object.entries(r.auditActions))}
</body></html>
`;
}
