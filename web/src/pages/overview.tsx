/**
 * Overview: live traffic timeline (per minute, fed by the stream's `counters`), threat levels, top
 * endpoints and clients, world map of threat origins, banned clients, events per category, cost saved,
 * and a live feed of blocked attacks. Summary figures are re-read at most every 15 s while events arrive.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, qs } from '../api.ts';
import { Chart, COUNTRY_NAMES, ensureWorldMap } from '../charts.tsx';
import { ActionBadge, Card, ErrorBox, Level, Link, Table } from '../components.tsx';
import { ALPHA2_TO_NUMERIC } from '../iso.ts';
import { on } from '../stream.ts';
import { esc, fmtHm, fmtNum, fmtRel, fmtTime, RANGES } from '../util.ts';

interface Bucket {
  t: number;
  allowed: number;
  logged: number;
  throttled: number;
  blocked: number;
  monitored: number;
}

const LEVEL_COLORS: Record<string, string> = { LOW: '#5b8def', MEDIUM: '#e6a23c', HIGH: '#f56c6c', CRITICAL: '#b0205a' };

/** The overview page. */
export function OverviewPage() {
  const [rangeId, setRangeId] = useState(() => localStorage.getItem('bwk-range') ?? '1h');
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[1];
  const bucketMs = range.ms > 6 * 3_600_000 ? 3_600_000 : 60_000;
  const [summary, setSummary] = useState<any>();
  const [buckets, setBuckets] = useState<Map<number, Bucket>>(new Map());
  const [bans, setBans] = useState<any[]>([]);
  const [live, setLive] = useState<any[]>([]);
  const [error, setError] = useState<unknown>();
  const [liveTotal, setLiveTotal] = useState(0);
  const lastSummary = useRef(0);

  const loadSummary = async () => {
    lastSummary.current = Date.now();
    const to = Date.now();
    try {
      setSummary(await api('GET', `/stats/summary${qs({ from: to - range.ms, to })}`));
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    const to = Date.now();
    void loadSummary();
    api<{ items: Bucket[] }>('GET', `/stats/timeline${qs({ from: to - range.ms, to, bucket: bucketMs === 60_000 ? 'minute' : 'hour' })}`).then(
      (r) => setBuckets(new Map(r.items.map((b) => [b.t, { ...b }]))),
      setError,
    );
    // Seed the live feed with the latest blocked requests; the stream adds new ones.
    Promise.all(['block', 'ban'].map((action) => api<{ items: any[] }>('GET', `/events${qs({ action, from: to - range.ms, limit: 12 })}`))).then(
      (pages) => setLive((cur) => [...cur, ...pages.flatMap((p) => p.items)].filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i).sort((a, b) => b.time - a.time).slice(0, 12)),
      () => {},
    );
    api<{ items: any[] }>('GET', '/decisions?type=ban&limit=200').then((r) => setBans(r.items.filter((d) => d.expiresAt > Date.now())), setError);
    localStorage.setItem('bwk-range', rangeId);
  }, [rangeId]);

  useEffect(() => {
    const offCounters = on('counters', (c: Bucket) => {
      const n = c.allowed + c.logged + c.throttled + c.blocked;
      if (n === 0) return;
      setLiveTotal((x) => x + n);
      setBuckets((prev) => {
        const next = new Map(prev);
        const t = Math.floor(c.t / bucketMs) * bucketMs;
        const b = next.get(t) ?? { t, allowed: 0, logged: 0, throttled: 0, blocked: 0, monitored: 0 };
        next.set(t, { t, allowed: b.allowed + c.allowed, logged: b.logged + c.logged, throttled: b.throttled + c.throttled, blocked: b.blocked + c.blocked, monitored: b.monitored + c.monitored });
        const cutoff = Date.now() - range.ms;
        for (const k of next.keys()) if (k < cutoff - bucketMs) next.delete(k);
        return next;
      });
    });
    const offEvent = on('event', (e: any) => {
      if (e.action === 'block' || e.action === 'ban' || e.wouldBe === 'block' || e.wouldBe === 'ban') setLive((l) => [e, ...l].slice(0, 12));
      if (Date.now() - lastSummary.current > 15_000) void loadSummary();
    });
    const offDecision = on('decision', (d: any) => {
      if (d.op === 'put' && d.decision.type === 'ban') setBans((b) => [d.decision, ...b.filter((x) => x.id !== d.decision.id)]);
      if (d.op === 'delete') setBans((b) => b.filter((x) => x.id !== d.id));
    });
    return () => {
      offCounters();
      offEvent();
      offDecision();
    };
  }, [rangeId]);

  const timeline = useMemo(() => {
    const now = Date.now();
    const start = Math.floor((now - range.ms) / bucketMs) * bucketMs;
    const xs: number[] = [];
    // Fill empty buckets so the line is continuous (bounded: ≤ 360 minute or 168 hour buckets).
    for (let t = start; t <= now; t += bucketMs) xs.push(t);
    const get = (t: number, k: keyof Bucket) => buckets.get(t)?.[k] ?? 0;
    const series = (name: string, color: string, f: (t: number) => number) => ({ name, type: 'line', smooth: true, showSymbol: false, stack: 'total', areaStyle: { opacity: 0.25 }, color, data: xs.map(f) });
    return {
      tooltip: { trigger: 'axis', formatter: (ps: any[]) => `${esc(ps[0]?.axisValueLabel)}<br/>${ps.map((p) => `${esc(p.seriesName)}: ${esc(p.value)}`).join('<br/>')}` },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: xs.map((t) => (bucketMs === 60_000 ? fmtHm(t) : `${new Date(t).getDate()}/${fmtHm(t)}`)), boundaryGap: false },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        series('allowed', '#3aa675', (t) => get(t, 'allowed') + get(t, 'logged')),
        series('throttled', '#e6a23c', (t) => get(t, 'throttled')),
        series('blocked', '#f56c6c', (t) => get(t, 'blocked')),
      ],
    };
  }, [buckets, rangeId]);

  const totals = useMemo(() => {
    let a = 0, th = 0, b = 0;
    for (const x of buckets.values()) {
      a += x.allowed + x.logged;
      th += x.throttled;
      b += x.blocked;
    }
    return { a, th, b };
  }, [buckets]);

  const levels = useMemo(() => {
    const l = summary?.levels ?? {};
    return {
      tooltip: { trigger: 'item', formatter: (p: any) => `${esc(p.name)}: ${esc(p.value)} (${esc(p.percent)}%)` },
      legend: { bottom: 0 },
      series: [{ type: 'pie', radius: ['45%', '70%'], center: ['50%', '45%'], label: { show: false }, data: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((k) => ({ name: k, value: l[k] ?? 0, itemStyle: { color: LEVEL_COLORS[k] } })) }],
    };
  }, [summary]);

  const categories = useMemo(() => {
    const c: { category: string; count: number }[] = (summary?.categories ?? []).slice(0, 12).reverse();
    return {
      tooltip: { trigger: 'item', formatter: (p: any) => `${esc(p.name)}: ${esc(p.value)}` },
      grid: { left: 90, right: 16, top: 8, bottom: 24 },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', data: c.map((x) => x.category), axisLabel: { width: 80, overflow: 'truncate' } },
      series: [{ type: 'bar', data: c.map((x) => x.count), color: '#8e6cef' }],
    };
  }, [summary]);

  const map = useMemo(() => {
    ensureWorldMap();
    const rows: { country: string; requests: number; blocked: number }[] = summary?.countries ?? [];
    const data = rows.flatMap((r) => {
      const id = ALPHA2_TO_NUMERIC.get(String(r.country).toUpperCase());
      return id ? [{ name: id, value: r.blocked, requests: r.requests, code: r.country }] : [];
    });
    const max = Math.max(1, ...data.map((d) => d.value));
    return {
      tooltip: {
        trigger: 'item',
        formatter: (p: any) => `${esc(COUNTRY_NAMES.get(p.name) ?? p.name)}${p.data ? ` (${esc(p.data.code)})<br/>blocked: ${esc(p.data.value)}<br/>requests: ${esc(p.data.requests)}` : ''}`,
      },
      visualMap: { min: 0, max, left: 8, bottom: 8, calculable: false, itemHeight: 80, inRange: { color: ['#fde2e2', '#f56c6c', '#8b0000'] }, text: ['blocked', ''] },
      series: [{ type: 'map', map: 'world', roam: false, emphasis: { label: { show: false } }, select: { disabled: true }, itemStyle: { areaColor: 'rgba(128,128,128,0.18)', borderColor: 'rgba(128,128,128,0.5)' }, data }],
    };
  }, [summary]);

  const s = summary;
  return (
    <div class="page overview" data-testid="page-overview">
      <div class="page-head">
        <h1>Overview</h1>
        <label class="inline">
          Time range{' '}
          <select value={rangeId} onChange={(e) => setRangeId(e.currentTarget.value)} data-testid="range">
            {RANGES.map((r) => (
              <option value={r.id}>{r.label}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      <div class="kpis">
        <div class="kpi">
          <span>Requests</span>
          <strong data-testid="kpi-requests">{fmtNum(Math.max(s?.requests ?? 0, totals.a + totals.th + totals.b))}</strong>
        </div>
        <div class="kpi bad">
          <span>Blocked</span>
          <strong data-testid="kpi-blocked">{fmtNum(Math.max(s?.blocked ?? 0, totals.b))}</strong>
        </div>
        <div class="kpi warn">
          <span>Throttled</span>
          <strong>{fmtNum(Math.max(s?.throttled ?? 0, totals.th))}</strong>
        </div>
        <div class="kpi">
          <span>Active bans</span>
          <strong>{fmtNum(bans.length)}</strong>
        </div>
        <div class="kpi good">
          <span>Est. cost saved</span>
          <strong data-testid="kpi-cost">
            {(s?.costSaved ?? 0).toLocaleString('en-US', { maximumFractionDigits: 2 })} {s?.currency ?? ''}
          </strong>
        </div>
      </div>
      <div class="grid">
        <Card title="Traffic per minute" class="span-2" testid="timeline" actions={<span class="muted small" data-testid="live-total">live: {fmtNum(liveTotal)} req</span>}>
          <Chart option={timeline} class="h-260" label="Traffic timeline: allowed, throttled, blocked per minute" />
        </Card>
        <Card title="Live blocked attacks" testid="live-feed">
          {live.length === 0 ? <p class="muted">Waiting for blocked requests…</p> : null}
          <ul class="feed">
            {live.map((e) => (
              <li key={e.id}>
                <ActionBadge action={e.action} monitor={e.monitor} /> <Level level={e.level} /> <code class="mono">{e.method} {e.target}</code>
                <div class="muted small">
                  {e.clientIp} · {e.category ?? '—'} · {fmtRel(e.time)}
                </div>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Threat origins" class="span-2" testid="world-map">
          <Chart option={map} class="h-300" label="World map of blocked requests by country" />
        </Card>
        <Card title="Threat levels">
          <Chart option={levels} class="h-260" label="Threat level distribution" />
        </Card>
        <Card title="Events per category">
          <Chart option={categories} class="h-260" label="Events per category" />
        </Card>
        <Card title="Top endpoints" testid="top-endpoints">
          <Table
            rows={s?.topEndpoints ?? []}
            cols={[
              { label: 'Route', cell: (r: any) => <code class="mono">{r.route}</code> },
              { label: 'Requests', cell: (r: any) => fmtNum(r.requests), class: 'num' },
              { label: 'Blocked', cell: (r: any) => fmtNum(r.blocked), class: 'num' },
            ]}
          />
        </Card>
        <Card title="Top attacking clients" testid="top-clients">
          <Table
            rows={(s?.topClients ?? []).filter((c: any) => c.blocked > 0).slice(0, 10)}
            cols={[
              { label: 'Client IP', cell: (r: any) => <Link href={`/events?clientIp=${encodeURIComponent(r.clientIp)}`}>{r.clientIp}</Link> },
              { label: 'Requests', cell: (r: any) => fmtNum(r.requests), class: 'num' },
              { label: 'Blocked', cell: (r: any) => fmtNum(r.blocked), class: 'num' },
            ]}
          />
        </Card>
        <Card title="Currently banned" testid="banned">
          <Table
            rows={bans}
            cols={[
              { label: 'Value', cell: (d: any) => <code class="mono">{d.value}</code> },
              { label: 'Scope', cell: (d: any) => d.scope },
              { label: 'Reason', cell: (d: any) => d.reason },
              { label: 'Expires', cell: (d: any) => <span title={fmtTime(d.expiresAt)}>{fmtRel(d.expiresAt)}</span> },
            ]}
            empty="No active bans."
          />
        </Card>
      </div>
    </div>
  );
}
