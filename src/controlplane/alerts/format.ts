import type { Incident, Recommendation } from '../incidents/types.ts';
import type { Alert } from './types.ts';

/** Longest request-derived string put into a message, characters (longer ones end with `…`). */
const MAX_FIELD = 200;

function clip(s: string, max = MAX_FIELD): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/**
 * Escapes text for HTML element content and quoted attribute values (OWASP XSS Prevention Cheat Sheet, rule #1:
 * `& < > " '`). Every request-derived string in an e-mail goes through it.
 */
export function escapeHtml(s: string): string {
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '&': out += '&amp;'; break;
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '"': out += '&quot;'; break;
      case "'": out += '&#39;'; break;
      default: out += ch;
    }
  }
  return out;
}

/**
 * Escapes text for Slack `mrkdwn` / `plain_text`: Slack requires `&`, `<`, `>` as HTML entities (Slack API docs,
 * "Formatting text for app surfaces: escaping text"); otherwise `<!channel>` or `<http://…|…>` in request data
 * would ping or link. Backticks, `*`, `_`, `~` are neutralised with a zero-width space so request data cannot
 * change the formatting.
 */
export function escapeSlack(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '`' || ch === '*' || ch === '_' || ch === '~') out += ch + '\u200b';
    else out += ch;
  }
  return out;
}

/** Removes control characters (CR/LF included) so a string is safe in a one-line header such as the e-mail subject. */
export function oneLine(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029 ? ' ' : ch;
  }
  return out;
}

/** Top entries of a count map, highest first. */
function top<T>(map: Record<string, T>, count: (v: T) => number, n: number): [string, number][] {
  return Object.entries(map).map(([k, v]) => [k, count(v)] as [string, number]).sort((a, b) => b[1] - a[1]).slice(0, n);
}

/**
 * Bulwark's JSON webhook payload (version 1):
 * `{ type: 'bulwark.alert', version: 1, alert, incident: { id, actor, scenario, severity, state, firstSeen,
 * lastSeen, events, blocked, topRules, topRoutes, topIps }, recommendations: { type, title }[], url? }`.
 * Request-derived strings are included as JSON strings (escaped by JSON encoding; receivers must not render
 * them as HTML).
 */
export function jsonPayload(alert: Alert, incident: Incident, recs: readonly Recommendation[], dashboardUrl?: string): Record<string, unknown> {
  return {
    type: 'bulwark.alert',
    version: 1,
    alert: {
      id: alert.id, kind: alert.kind, severity: alert.severity, previousSeverity: alert.previousSeverity,
      title: alert.title, createdAt: alert.createdAt,
    },
    incident: {
      id: incident.id, actor: incident.actor, scenario: incident.scenario, severity: incident.severity,
      state: incident.state, firstSeen: incident.firstSeen, lastSeen: incident.lastSeen, events: incident.events,
      blocked: incident.blocked,
      topRules: top(incident.stats.rules, (r) => r.count, 5).map(([ruleId, count]) => ({ ruleId, count })),
      topRoutes: top(incident.stats.routes, (r) => r.count, 5).map(([route, count]) => ({ route, count })),
      topIps: top(incident.stats.ips, (n) => n, 5).map(([ip, count]) => ({ ip, count })),
    },
    recommendations: recs.map((r) => ({ type: r.type, title: r.title })),
    ...(dashboardUrl ? { url: `${dashboardUrl.replace(/\/+$/, '')}/incidents/${incident.id}` } : {}),
  };
}

/** The alert title: `HIGH sqli incident: ip 203.0.113.7 (12 events, 12 blocked)`, clipped, one line. */
export function alertTitle(kind: Alert['kind'], incident: Incident): string {
  const verb = kind === 'escalated' ? 'escalated to ' : kind === 'reopened' ? 're-opened, ' : kind === 'test' ? 'TEST ' : '';
  return oneLine(
    `${verb}${incident.severity} ${clip(incident.scenario, 64)} incident: ${incident.actor.kind} ${clip(incident.actor.value, 80)} ` +
      `(${incident.events} events, ${incident.blocked} blocked)`,
  );
}

/**
 * Slack-compatible message (`text` fallback + Block Kit `blocks`: header, fields section, context). Every
 * request-derived string is escaped with {@link escapeSlack} and clipped.
 */
export function slackPayload(alert: Alert, incident: Incident, recs: readonly Recommendation[], dashboardUrl?: string): Record<string, unknown> {
  const title = escapeSlack(clip(alert.title, 150));
  const fields = [
    `*Severity*\n${alert.severity}${alert.previousSeverity ? ` (was ${alert.previousSeverity})` : ''}`,
    `*Scenario*\n${escapeSlack(clip(incident.scenario, 64))}`,
    `*Actor*\n${incident.actor.kind} \`${escapeSlack(clip(incident.actor.value, 80))}\``,
    `*Events*\n${incident.events} (${incident.blocked} blocked)`,
  ].map((text) => ({ type: 'mrkdwn', text }));
  const rules = top(incident.stats.rules, (r) => r.count, 3).map(([id, n]) => `${escapeSlack(clip(id, 64))} ×${n}`).join(', ');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Bulwark: ${alert.severity} ${alert.kind} incident`, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: title }, fields },
  ];
  if (rules) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Top rules*: ${rules}` } });
  if (recs.length > 0) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '*Recommended*\n' + recs.slice(0, 3).map((r) => `• ${escapeSlack(clip(r.title, 150))}`).join('\n') } });
  }
  const ctx = [`incident ${incident.id}`, `first seen ${new Date(incident.firstSeen).toISOString()}`];
  if (dashboardUrl) ctx.push(`<${dashboardUrl.replace(/\/+$/, '')}/incidents/${incident.id}|open in Bulwark>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: ctx.join(' · ') }] });
  return { text: `[Bulwark] ${title}`, blocks };
}

/**
 * E-mail content: one-line subject, plain text and HTML (inline styles only, no remote content, every
 * request-derived string HTML-escaped with {@link escapeHtml}).
 */
export function emailContent(alert: Alert, incident: Incident, recs: readonly Recommendation[], dashboardUrl?: string): { subject: string; text: string; html: string } {
  const subject = oneLine(`[Bulwark] ${clip(alert.title, 180)}`);
  const rows: [string, string][] = [
    ['Severity', `${alert.severity}${alert.previousSeverity ? ` (was ${alert.previousSeverity})` : ''}`],
    ['Scenario', clip(incident.scenario, 64)],
    ['Actor', `${incident.actor.kind} ${clip(incident.actor.value)}`],
    ['Events', `${incident.events} (${incident.blocked} blocked)`],
    ['First seen', new Date(incident.firstSeen).toISOString()],
    ['Last seen', new Date(incident.lastSeen).toISOString()],
    ['State', incident.state],
    ['Incident', incident.id],
  ];
  const rules = top(incident.stats.rules, (r) => r.count, 5);
  const routes = top(incident.stats.routes, (r) => r.count, 5);
  const link = dashboardUrl ? `${dashboardUrl.replace(/\/+$/, '')}/incidents/${incident.id}` : undefined;
  const text = [
    alert.title,
    '',
    ...rows.map(([k, v]) => `${k}: ${v}`),
    '',
    rules.length ? 'Top rules:\n' + rules.map(([id, n]) => `  ${clip(id, 64)} x${n}`).join('\n') : '',
    routes.length ? 'Top routes:\n' + routes.map(([r, n]) => `  ${clip(r)} x${n}`).join('\n') : '',
    recs.length ? 'Recommended:\n' + recs.map((r) => `  - ${r.title}`).join('\n') : '',
    link ? `\n${link}` : '',
  ].filter((l) => l !== '').join('\n');
  const e = escapeHtml;
  const list = (items: [string, number][]) => `<ul>${items.map(([k, n]) => `<li><code>${e(clip(k))}</code> &times;${n}</li>`).join('')}</ul>`;
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><title>Bulwark alert</title></head>',
    '<body style="font-family:system-ui,sans-serif;color:#222">',
    `<h2 style="margin:0 0 12px">${e(alert.title)}</h2>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...rows.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td>${e(v)}</td></tr>`),
    '</table>',
    rules.length ? `<h3>Top rules</h3>${list(rules)}` : '',
    routes.length ? `<h3>Top routes</h3>${list(routes)}` : '',
    recs.length ? `<h3>Recommended</h3><ul>${recs.map((r) => `<li>${e(r.title)}<br><small>${e(r.rationale)}</small></li>`).join('')}</ul>` : '',
    link ? `<p><a href="${e(link)}">Open the incident in Bulwark</a></p>` : '',
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
