/** Decisions (ban / throttle with TTL, unban) and allow / deny lists (IP, CIDR, API key) with who and why. */
import { useEffect, useState } from 'preact/hooks';
import { api, can, qs } from '../api.ts';
import { Card, ErrorBox, notify, Table, useLoad } from '../components.tsx';
import { on } from '../stream.ts';
import { fmtRel, fmtTime } from '../util.ts';

/** The decisions and lists page. */
export function DecisionsPage() {
  const [includeExpired, setIncludeExpired] = useState(false);
  const [decisions, dErr, reloadDecisions] = useLoad(() => api<{ items: any[]; total: number }>('GET', `/decisions${qs({ includeExpired: includeExpired || undefined, limit: 500 })}`), [includeExpired]);
  const [lists, lErr, reloadLists] = useLoad(() => api<{ items: any[]; policyVersion: number }>('GET', '/lists'), []);
  useEffect(() => on('decision', () => reloadDecisions()), []);
  const [form, setForm] = useState({ scope: 'ip', value: '', type: 'ban', ttl: '3600', reason: '' });
  const [formErr, setFormErr] = useState<unknown>();
  const [entry, setEntry] = useState({ list: 'deny', kind: 'ip', value: '', reason: '' });
  const [entryErr, setEntryErr] = useState<unknown>();
  const analyst = can('analyst');

  const create = async (e: Event) => {
    e.preventDefault();
    setFormErr(undefined);
    try {
      await api('POST', '/decisions', { scope: form.scope, value: form.value.trim(), type: form.type, ttlS: Number(form.ttl), reason: form.reason.trim() || 'manual' });
      notify(`${form.type === 'ban' ? 'Banned' : 'Throttled'} ${form.value.trim()}`);
      setForm({ ...form, value: '', reason: '' });
      reloadDecisions();
    } catch (err) {
      setFormErr(err);
    }
  };
  const remove = async (d: any) => {
    try {
      await api('DELETE', `/decisions/${encodeURIComponent(d.id)}`);
      notify(`Removed ${d.type} on ${d.value}`);
      reloadDecisions();
    } catch (err) {
      notify((err as Error).message, 'err');
    }
  };
  const addEntry = async (e: Event) => {
    e.preventDefault();
    setEntryErr(undefined);
    try {
      await api('POST', `/lists/${entry.list}/entries`, { kind: entry.kind, value: entry.value.trim(), ...(entry.reason.trim() ? { reason: entry.reason.trim() } : {}) });
      notify(`Added to ${entry.list} list`);
      setEntry({ ...entry, value: '', reason: '' });
      reloadLists();
    } catch (err) {
      setEntryErr(err);
    }
  };
  const removeEntry = async (x: any) => {
    try {
      await api('DELETE', `/lists/${x.list}/entries${qs({ kind: x.kind, value: x.value })}`);
      notify(`Removed from ${x.list} list`);
      reloadLists();
    } catch (err) {
      notify((err as Error).message, 'err');
    }
  };
  const now = Date.now();
  return (
    <div class="page" data-testid="page-decisions">
      <div class="page-head">
        <h1>Decisions &amp; lists</h1>
      </div>
      <div class="grid">
        {analyst ? (
          <Card title="Ban or throttle a client">
            <form class="form" onSubmit={create} data-testid="decision-form">
              <label>
                Scope
                <select value={form.scope} onChange={(e) => setForm({ ...form, scope: e.currentTarget.value })} name="scope">
                  {['ip', 'range', 'api_key', 'user', 'fingerprint'].map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              </label>
              <label>
                Value
                <input name="value" value={form.value} onInput={(e) => setForm({ ...form, value: e.currentTarget.value })} required maxLength={512} placeholder="203.0.113.7" />
              </label>
              <label>
                Type
                <select value={form.type} onChange={(e) => setForm({ ...form, type: e.currentTarget.value })} name="type">
                  <option value="ban">ban</option>
                  <option value="throttle">throttle</option>
                </select>
              </label>
              <label>
                TTL
                <select value={form.ttl} onChange={(e) => setForm({ ...form, ttl: e.currentTarget.value })} name="ttl">
                  <option value="600">10 min</option>
                  <option value="3600">1 h</option>
                  <option value="86400">24 h</option>
                  <option value="604800">7 days</option>
                  <option value="2592000">30 days</option>
                </select>
              </label>
              <label class="wide">
                Reason
                <input name="reason" value={form.reason} onInput={(e) => setForm({ ...form, reason: e.currentTarget.value })} maxLength={512} placeholder="why" />
              </label>
              <ErrorBox error={formErr} />
              <button type="submit" data-testid="decision-submit">
                Apply decision
              </button>
            </form>
          </Card>
        ) : null}
        <Card title="Decisions" class="span-2" testid="decisions" actions={<label class="inline small"><input type="checkbox" checked={includeExpired} onChange={(e) => setIncludeExpired(e.currentTarget.checked)} /> include expired</label>}>
          <ErrorBox error={dErr} />
          <Table
            testid="decision-table"
            rows={decisions?.items ?? []}
            rowKey={(d: any) => d.id}
            cols={[
              { label: 'Type', cell: (d: any) => <span class={`badge act-${d.type === 'ban' ? 'ban' : 'throttle'}`}>{d.type}</span> },
              { label: 'Scope', cell: (d: any) => d.scope },
              { label: 'Value', cell: (d: any) => <code class="mono">{d.value}</code> },
              { label: 'Origin / by', cell: (d: any) => `${d.origin} · ${d.source}` },
              { label: 'Reason', cell: (d: any) => d.reason },
              { label: 'Expires', cell: (d: any) => <span title={fmtTime(d.expiresAt)}>{d.expiresAt <= now ? 'expired' : fmtRel(d.expiresAt)}</span> },
              { label: '', cell: (d: any) => (analyst && d.expiresAt > now ? <button class="small danger" onClick={() => remove(d)} data-testid="unban">{d.type === 'ban' ? 'Unban' : 'Remove'}</button> : null) },
            ]}
            empty="No active decisions."
          />
        </Card>
        {analyst ? (
          <Card title="Add to allow / deny list">
            <form class="form" onSubmit={addEntry} data-testid="list-form">
              <label>
                List
                <select name="list" value={entry.list} onChange={(e) => setEntry({ ...entry, list: e.currentTarget.value })}>
                  <option value="deny">deny</option>
                  <option value="allow">allow</option>
                </select>
              </label>
              <label>
                Kind
                <select name="kind" value={entry.kind} onChange={(e) => setEntry({ ...entry, kind: e.currentTarget.value })}>
                  <option value="ip">IP or CIDR</option>
                  <option value="api_key">API key</option>
                </select>
              </label>
              <label class="wide">
                Value
                <input name="value" value={entry.value} onInput={(e) => setEntry({ ...entry, value: e.currentTarget.value })} required maxLength={512} placeholder="198.51.100.0/24" />
              </label>
              <label class="wide">
                Reason
                <input name="reason" value={entry.reason} onInput={(e) => setEntry({ ...entry, reason: e.currentTarget.value })} maxLength={512} />
              </label>
              <ErrorBox error={entryErr} />
              <button type="submit" data-testid="list-submit">
                Add entry
              </button>
            </form>
          </Card>
        ) : null}
        <Card title={`Allow / deny lists${lists ? ` (policy v${lists.policyVersion})` : ''}`} class="span-2" testid="lists">
          <ErrorBox error={lErr} />
          <Table
            testid="list-table"
            rows={lists?.items ?? []}
            cols={[
              { label: 'List', cell: (x: any) => <span class={`badge ${x.list === 'deny' ? 'act-block' : 'act-allow'}`}>{x.list}</span> },
              { label: 'Kind', cell: (x: any) => x.kind },
              { label: 'Value', cell: (x: any) => <code class="mono">{x.value}</code> },
              { label: 'Added by', cell: (x: any) => x.addedBy ?? '—' },
              { label: 'Why', cell: (x: any) => x.reason ?? '—' },
              { label: 'When', cell: (x: any) => fmtRel(x.addedAt) },
              { label: '', cell: (x: any) => (analyst ? <button class="small danger" onClick={() => removeEntry(x)} data-testid="list-remove">Remove</button> : null) },
            ]}
            empty="Both lists are empty."
          />
        </Card>
      </div>
    </div>
  );
}
