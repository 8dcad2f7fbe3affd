/**
 * Incidents and alerts: incident list with severity badges and filters, alert list, and the incident
 * detail (actor's request timeline, signals with explanations, recommendations; acknowledge, resolve, mute).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, can, qs } from '../api.ts';
import { ActionBadge, Card, ErrorBox, Level, Link, navigate, notify, Table, useLoad } from '../components.tsx';
import { on } from '../stream.ts';
import { fmtRel, fmtTime } from '../util.ts';

/** Routes `/incidents` (list) and `/incidents/:id` (detail). */
export function IncidentsPage({ path }: { path: string }) {
  const id = path.split('/')[2];
  return id ? <IncidentDetail id={decodeURIComponent(id)} /> : <IncidentList />;
}

function useLiveReload(name: string, reload: () => void): void {
  const last = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    const off = on(name, () => {
      // At most one reload per 3 s however many stream messages arrive.
      if (pending.current) return;
      const wait = Math.max(0, 3000 - (Date.now() - last.current));
      pending.current = setTimeout(() => {
        pending.current = undefined;
        last.current = Date.now();
        reload();
      }, wait);
    });
    return () => {
      off();
      clearTimeout(pending.current);
    };
  }, [name]);
}

function IncidentList() {
  const [state, setState] = useState('');
  const [severity, setSeverity] = useState('');
  const [scenario, setScenario] = useState('');
  const [tab, setTab] = useState<'incidents' | 'alerts'>('incidents');
  const [data, error, reload] = useLoad(() => api<{ items: any[] }>('GET', `/incidents${qs({ state, severity, scenario: scenario.trim(), limit: 200 })}`), [state, severity, scenario]);
  const [alerts, alertsError, reloadAlerts] = useLoad(() => api<{ items: any[] }>('GET', `/alerts${qs({ limit: 200 })}`), []);
  useLiveReload('incident', reload);
  useLiveReload('alert', reloadAlerts);
  const ackAlert = async (id: string) => {
    try {
      await api('POST', `/alerts/${encodeURIComponent(id)}/ack`, {});
      notify('Alert acknowledged');
      reloadAlerts();
    } catch (e) {
      notify((e as Error).message, 'err');
    }
  };
  return (
    <div class="page" data-testid="page-incidents">
      <div class="page-head">
        <h1>Incidents &amp; alerts</h1>
        <div class="tabs" role="tablist">
          <button role="tab" class={tab === 'incidents' ? 'active' : ''} onClick={() => setTab('incidents')}>
            Incidents
          </button>
          <button role="tab" class={tab === 'alerts' ? 'active' : ''} onClick={() => setTab('alerts')} data-testid="tab-alerts">
            Alerts
          </button>
        </div>
      </div>
      {tab === 'incidents' ? (
        <>
          <div class="filters">
            <select value={state} onChange={(e) => setState(e.currentTarget.value)} aria-label="State" data-testid="filter-state">
              <option value="">any state</option>
              {['open', 'acknowledged', 'resolved', 'muted'].map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
            <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value)} aria-label="Minimum severity">
              <option value="">any severity</option>
              {['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((s) => (
                <option value={s}>≥ {s}</option>
              ))}
            </select>
            <input placeholder="scenario (e.g. sqli)" value={scenario} onChange={(e) => setScenario(e.currentTarget.value)} aria-label="Scenario" />
          </div>
          <ErrorBox error={error} />
          <Table
            testid="incident-table"
            rows={data?.items ?? []}
            rowKey={(r: any) => r.id}
            onRow={(r: any) => navigate(`/incidents/${encodeURIComponent(r.id)}`)}
            cols={[
              { label: 'Severity', cell: (r: any) => <Level level={r.severity} /> },
              { label: 'Scenario', cell: (r: any) => r.scenario },
              { label: 'Actor', cell: (r: any) => <code class="mono">{r.actor.kind}:{r.actor.value}</code> },
              { label: 'State', cell: (r: any) => <span class={`state st-${r.state}`}>{r.state}</span> },
              { label: 'Events', cell: (r: any) => r.events, class: 'num' },
              { label: 'Blocked', cell: (r: any) => r.blocked, class: 'num' },
              { label: 'Last seen', cell: (r: any) => <span title={fmtTime(r.lastSeen)}>{fmtRel(r.lastSeen)}</span> },
            ]}
            empty="No incidents match."
          />
        </>
      ) : (
        <>
          <ErrorBox error={alertsError} />
          <Table
            testid="alert-table"
            rows={alerts?.items ?? []}
            rowKey={(r: any) => r.id}
            cols={[
              { label: 'Severity', cell: (r: any) => <Level level={r.severity} /> },
              { label: 'Alert', cell: (r: any) => <Link href={`/incidents/${encodeURIComponent(r.incidentId)}`}>{r.title}</Link> },
              { label: 'Kind', cell: (r: any) => r.kind },
              { label: 'State', cell: (r: any) => (r.muted ? 'muted' : r.state) },
              { label: 'Raised', cell: (r: any) => fmtRel(r.createdAt) },
              { label: '', cell: (r: any) => (r.state === 'new' && can('analyst') ? <button class="small" onClick={() => ackAlert(r.id)}>Acknowledge</button> : null) },
            ]}
            empty="No alerts."
          />
        </>
      )}
    </div>
  );
}

function IncidentDetail({ id }: { id: string }) {
  const [data, error, reload] = useLoad(() => api<any>('GET', `/incidents/${encodeURIComponent(id)}`), [id]);
  const [actionError, setActionError] = useState<unknown>();
  const [muteFor, setMuteFor] = useState('3600');
  useLiveReload('incident', reload);
  const act = async (verb: 'ack' | 'resolve' | 'mute' | 'reopen') => {
    setActionError(undefined);
    try {
      await api('POST', `/incidents/${encodeURIComponent(id)}/${verb}`, verb === 'mute' ? { durationS: Number(muteFor) } : {});
      notify(`Incident ${verb === 'ack' ? 'acknowledged' : verb === 'mute' ? 'muted' : verb === 'resolve' ? 'resolved' : 're-opened'}`);
      reload();
    } catch (e) {
      setActionError(e);
    }
  };
  const apply = async (recId: string) => {
    setActionError(undefined);
    try {
      await api('POST', `/incidents/${encodeURIComponent(id)}/recommendations/${encodeURIComponent(recId)}/apply`, {});
      notify('Recommendation applied');
      reload();
    } catch (e) {
      setActionError(e);
    }
  };
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p class="muted">Loading…</p>;
  const inc = data.incident;
  return (
    <div class="page" data-testid="page-incident">
      <div class="page-head">
        <h1>
          <Link href="/incidents">Incidents</Link> / <Level level={inc.severity} /> {inc.scenario} incident
        </h1>
        {can('analyst') ? (
          <div class="actions">
            {inc.state === 'open' ? (
              <button onClick={() => act('ack')} data-testid="ack">
                Acknowledge
              </button>
            ) : null}
            {inc.state !== 'resolved' ? (
              <button onClick={() => act('resolve')} data-testid="resolve">
                Resolve
              </button>
            ) : (
              <button onClick={() => act('reopen')}>Re-open</button>
            )}
            <select value={muteFor} onChange={(e) => setMuteFor(e.currentTarget.value)} aria-label="Mute duration">
              <option value="3600">1 h</option>
              <option value="86400">24 h</option>
              <option value="604800">7 days</option>
            </select>
            <button class="secondary" onClick={() => act('mute')} data-testid="mute">
              Mute
            </button>
          </div>
        ) : null}
      </div>
      <ErrorBox error={actionError} />
      <div class="grid">
        <Card title="Summary">
          <dl class="kv">
            <dt>State</dt>
            <dd>
              <span class={`state st-${inc.state}`} data-testid="incident-state">
                {inc.state}
              </span>
              {inc.acknowledgedBy ? ` by ${inc.acknowledgedBy}` : ''}
              {inc.mutedUntil ? ` until ${fmtTime(inc.mutedUntil)}` : ''}
            </dd>
            <dt>Actor</dt>
            <dd>
              <code class="mono">
                {inc.actor.kind}: {inc.actor.value}
              </code>
            </dd>
            <dt>Events</dt>
            <dd>
              {inc.events} ({inc.blocked} blocked)
            </dd>
            <dt>First seen</dt>
            <dd>{fmtTime(inc.firstSeen)}</dd>
            <dt>Last seen</dt>
            <dd>{fmtTime(inc.lastSeen)}</dd>
          </dl>
          <ul class="explain" data-testid="incident-explanation">
            {(Array.isArray(data.explanation) ? data.explanation : [data.explanation]).filter(Boolean).map((line: unknown) => (
              <li>{typeof line === 'string' ? line : JSON.stringify(line)}</li>
            ))}
          </ul>
        </Card>
        <Card title="Signals">
          <Table
            rows={data.signals ?? []}
            cols={[
              { label: 'Rule', cell: (s: any) => <code class="mono">{s.ruleId}</code> },
              { label: 'Category', cell: (s: any) => s.category },
              { label: 'Count', cell: (s: any) => s.count, class: 'num' },
              { label: 'Monitor', cell: (s: any) => s.monitor, class: 'num' },
            ]}
          />
        </Card>
        <Card title="Recommendations" class="span-2">
          {(data.recommendations ?? []).length === 0 ? <p class="muted">No recommendation.</p> : null}
          <ul class="recs">
            {(data.recommendations ?? []).map((r: any) => (
              <li>
                <strong>{r.title}</strong>
                {r.review ? <span class="badge">review</span> : null}
                <div class="muted small">{r.rationale}</div>
                {r.action.kind === 'decision' && can('analyst') ? (
                  <button class="small" onClick={() => apply(r.id)}>
                    Apply
                  </button>
                ) : r.action.kind !== 'decision' ? (
                  <div class="small muted">Apply on the Policy page ({r.action.kind === 'rule_mode' ? `rule ${r.action.ruleId} → ${r.action.mode}` : 'policy change'}).</div>
                ) : null}
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Request timeline" class="span-3" testid="incident-timeline">
          {data.timelineError ? <p class="error">{data.timelineError}</p> : null}
          <Table
            rows={data.timeline ?? []}
            rowKey={(e: any) => e.id}
            onRow={(e: any) => navigate(`/events?id=${encodeURIComponent(e.id)}&from=${e.time - 1}&to=${e.time + 1}`)}
            cols={[
              { label: 'Time', cell: (e: any) => fmtTime(e.time), class: 'nowrap' },
              { label: 'Action', cell: (e: any) => <ActionBadge action={e.action} monitor={e.monitor} /> },
              { label: 'Request', cell: (e: any) => <code class="mono wrap">{e.method} {e.target}</code> },
              { label: 'Status', cell: (e: any) => e.status, class: 'num' },
              { label: 'Rules', cell: (e: any) => (e.reasons ?? []).join(', ') },
            ]}
          />
        </Card>
      </div>
    </div>
  );
}
