/** API inventory: discovered endpoints with traffic, error and threat figures; shadow endpoints flagged. */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ErrorBox, Table, useLoad } from '../components.tsx';
import { fmtNum, fmtRel, fmtTime } from '../util.ts';

/** The API inventory page. */
export function InventoryPage() {
  const [data, error] = useLoad(() => api<{ learningUntil: number | null; items: any[] }>('GET', '/inventory'), []);
  const [shadowOnly, setShadowOnly] = useState(false);
  const rows = (data?.items ?? []).filter((r) => !shadowOnly || r.shadow).sort((a, b) => b.requests - a.requests);
  return (
    <div class="page" data-testid="page-inventory">
      <div class="page-head">
        <h1>API inventory</h1>
        <label class="inline small">
          <input type="checkbox" checked={shadowOnly} onChange={(e) => setShadowOnly(e.currentTarget.checked)} /> shadow endpoints only
        </label>
      </div>
      {data?.learningUntil && data.learningUntil > Date.now() ? <p class="muted">Learning until {fmtTime(data.learningUntil)}.</p> : null}
      <ErrorBox error={error} />
      <Table
        testid="inventory-table"
        rows={rows}
        rowKey={(r: any) => `${r.method} ${r.route}`}
        cols={[
          { label: 'Method', cell: (r: any) => <code class="mono">{r.method}</code> },
          { label: 'Route', cell: (r: any) => <code class="mono wrap">{r.route}</code> },
          { label: 'Source', cell: (r: any) => (r.shadow ? <span class="badge act-block" title="Seen in traffic but absent from the OpenAPI spec">shadow</span> : r.source) },
          { label: 'Requests', cell: (r: any) => fmtNum(r.requests), class: 'num' },
          { label: 'Errors', cell: (r: any) => `${fmtNum(r.errors)}${r.requests ? ` (${Math.round((100 * r.errors) / r.requests)}%)` : ''}`, class: 'num' },
          { label: 'Threats 24h', cell: (r: any) => fmtNum(r.threats), class: 'num' },
          { label: 'Status', cell: (r: any) => Object.entries(r.status ?? {}).map(([k, v]) => `${k}:${v}`).join(' ') },
          { label: 'Last seen', cell: (r: any) => fmtRel(r.lastSeen) },
        ]}
        empty="No endpoints discovered yet (API discovery learns from traffic)."
      />
    </div>
  );
}
