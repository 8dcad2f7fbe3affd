/**
 * Event explorer: filters and full-text search, cursor pagination, request detail (request line, header
 * fields recorded, each signal's location, raw and transformed value, matched part) rendered as text,
 * and CSV / JSON export of the current filter (a plain download link: the cookie authenticates GETs).
 */
import { useMemo, useState } from 'preact/hooks';
import { api, qs } from '../api.ts';
import { ActionBadge, Drawer, ErrorBox, Level, Table, useLoad } from '../components.tsx';
import { fmtTime, RANGES } from '../util.ts';

interface Filters {
  range: string;
  clientIp: string;
  route: string;
  ruleId: string;
  category: string;
  action: string;
  level: string;
  monitor: string;
  q: string;
}

function initialFilters(): Filters {
  const u = new URLSearchParams(location.search);
  return {
    range: u.get('range') ?? '24h',
    clientIp: u.get('clientIp') ?? '',
    route: u.get('route') ?? '',
    ruleId: u.get('ruleId') ?? '',
    category: u.get('category') ?? '',
    action: u.get('action') ?? '',
    level: u.get('level') ?? '',
    monitor: u.get('monitor') ?? '',
    q: u.get('q') ?? '',
  };
}

/** The event explorer page. */
export function EventsPage() {
  const [draft, setDraft] = useState<Filters>(initialFilters);
  const [filters, setFilters] = useState<Filters>(draft);
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<any>();
  const [now] = useState(Date.now());
  const openId = new URLSearchParams(location.search).get('id');
  const query = useMemo(() => {
    const r = RANGES.find((x) => x.id === filters.range);
    const { range: _r, ...rest } = filters;
    return { ...rest, from: r ? now - r.ms : undefined, q: filters.q.trim() };
  }, [filters, now]);
  const cursor = cursors[cursors.length - 1];
  const [data, error] = useLoad(async () => {
    const page = await api<{ items: any[]; nextCursor?: string }>('GET', `/events${qs({ ...query, cursor, limit: 50 })}`);
    if (openId && !selected) {
      const hit = page.items.find((e) => e.id === openId);
      if (hit) setSelected(hit);
    }
    return page;
  }, [query, cursor]);
  const set = (k: keyof Filters) => (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });
  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([]);
    setFilters({ ...draft });
  };
  const exportHref = (format: string) => `/api/v1/events/export${qs({ ...query, format })}`;
  return (
    <div class="page" data-testid="page-events">
      <div class="page-head">
        <h1>Event explorer</h1>
        <div class="actions">
          <a class="button secondary" href={exportHref('csv')} download="bulwark-events.csv" data-testid="export-csv">
            Export CSV
          </a>
          <a class="button secondary" href={exportHref('json')} download="bulwark-events.json" data-testid="export-json">
            Export JSON
          </a>
        </div>
      </div>
      <form class="filters" onSubmit={apply} data-testid="event-filters">
        <input type="search" placeholder="Search target, user agent, evidence" value={draft.q} onInput={set('q')} maxLength={256} class="grow" aria-label="Search" data-testid="event-search" />
        <select value={draft.range} onChange={set('range')} aria-label="Time range">
          {RANGES.map((r) => (
            <option value={r.id}>last {r.label}</option>
          ))}
          <option value="all">all time</option>
        </select>
        <input placeholder="client IP" value={draft.clientIp} onInput={set('clientIp')} aria-label="Client IP" />
        <input placeholder="route" value={draft.route} onInput={set('route')} aria-label="Route" />
        <input placeholder="rule id" value={draft.ruleId} onInput={set('ruleId')} aria-label="Rule id" />
        <input placeholder="category" value={draft.category} onInput={set('category')} aria-label="Category" />
        <select value={draft.action} onChange={set('action')} aria-label="Action">
          <option value="">any action</option>
          {['allow', 'log', 'throttle', 'block', 'ban'].map((a) => (
            <option value={a}>{a}</option>
          ))}
        </select>
        <select value={draft.level} onChange={set('level')} aria-label="Level">
          <option value="">any level</option>
          {['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((a) => (
            <option value={a}>{a}</option>
          ))}
        </select>
        <select value={draft.monitor} onChange={set('monitor')} aria-label="Monitor">
          <option value="">monitor + enforce</option>
          <option value="true">monitor only</option>
          <option value="false">enforced only</option>
        </select>
        <button type="submit" data-testid="event-apply">
          Apply
        </button>
      </form>
      <ErrorBox error={error} />
      <Table
        testid="event-table"
        rows={data?.items ?? []}
        rowKey={(e: any) => e.id}
        onRow={setSelected}
        cols={[
          { label: 'Time', cell: (e: any) => fmtTime(e.time), class: 'nowrap' },
          { label: 'Client', cell: (e: any) => <code class="mono">{e.clientIp}</code> },
          { label: 'Request', cell: (e: any) => <code class="mono wrap">{e.method} {e.target}</code> },
          { label: 'Status', cell: (e: any) => e.status, class: 'num' },
          { label: 'Action', cell: (e: any) => <ActionBadge action={e.action} monitor={e.monitor} /> },
          { label: 'Level', cell: (e: any) => <Level level={e.level} /> },
          { label: 'Category', cell: (e: any) => e.category ?? '—' },
        ]}
        empty="No events match."
      />
      <div class="pager">
        <button class="secondary" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span class="muted small">page {cursors.length + 1}</span>
        <button class="secondary" disabled={!data?.nextCursor} onClick={() => setCursors([...cursors, data!.nextCursor!])} data-testid="next-page">
          Older →
        </button>
      </div>
      {selected ? <EventDetail e={selected} onClose={() => setSelected(undefined)} /> : null}
    </div>
  );
}

/** Request detail of one event; every value is a text node. */
export function EventDetail({ e, onClose }: { e: any; onClose: () => void }) {
  const fields: [string, unknown][] = [
    ['Time', fmtTime(e.time)],
    ['Request id', e.requestId],
    ['Client IP', e.clientIp],
    ['Client key', e.clientKey],
    ['Country', e.country ?? '—'],
    ['ASN', e.asn ?? '—'],
    ['Route', e.route ?? '—'],
    ['Status', e.status],
    ['Anomaly score', e.anomalyScore],
    ['Risk', e.risk],
    ['Would be', e.wouldBe],
    ['Reasons', (e.reasons ?? []).join(', ') || '—'],
    ['Decision', e.decisionId ?? '—'],
    ['Latency', `${e.latencyMs} ms`],
  ];
  const headers: [string, unknown][] = [
    ['Host', e.host],
    ['User-Agent', e.userAgent],
    ['API key (masked)', e.apiKey],
    ['User', e.user],
    ['Fingerprint', e.fingerprint],
  ];
  return (
    <Drawer title="Request detail" onClose={onClose} testid="event-detail">
      <p>
        <ActionBadge action={e.action} monitor={e.monitor} /> <Level level={e.level} />
      </p>
      <pre class="mono wrap request-line" data-testid="detail-target">
        {e.method} {e.target}
      </pre>
      <h3>Headers and identities</h3>
      <dl class="kv">
        {headers
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd class="mono wrap">{String(v)}</dd>
            </>
          ))}
      </dl>
      <h3>Signals</h3>
      {(e.signals ?? []).map((s: any) => (
        <div class="signal">
          <div>
            <code class="mono">{s.ruleId}</code> <span class="badge">{s.category}</span> {s.score ? <span class="muted small">+{s.score}</span> : null} {s.monitor ? <span class="badge">monitor</span> : null}
          </div>
          {s.message ? <div class="small">{s.message}</div> : null}
          {s.evidence ? (
            <dl class="kv small">
              {s.evidence.location ? (
                <>
                  <dt>Location</dt>
                  <dd class="mono">
                    {s.evidence.location.kind}
                    {s.evidence.location.name ? `: ${s.evidence.location.name}` : ''}
                  </dd>
                </>
              ) : null}
              {s.evidence.value !== undefined ? (
                <>
                  <dt>Value</dt>
                  <dd class="mono wrap">{s.evidence.value}</dd>
                </>
              ) : null}
              {s.evidence.transformed !== undefined ? (
                <>
                  <dt>Transformed</dt>
                  <dd class="mono wrap">{s.evidence.transformed}</dd>
                </>
              ) : null}
              {s.evidence.matched !== undefined ? (
                <>
                  <dt>Matched</dt>
                  <dd class="mono wrap">
                    <mark>{s.evidence.matched}</mark>
                  </dd>
                </>
              ) : null}
              {s.evidence.detail ? (
                <>
                  <dt>Detail</dt>
                  <dd class="mono wrap">{JSON.stringify(s.evidence.detail)}</dd>
                </>
              ) : null}
            </dl>
          ) : null}
        </div>
      ))}
      <h3>Event</h3>
      <dl class="kv">
        {fields.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd class="mono wrap">{String(v)}</dd>
          </>
        ))}
      </dl>
    </Drawer>
  );
}
