/** Admin only: users, API tokens (shown once on creation) and alert channels (secrets masked by the API). */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Card, ErrorBox, notify, Table, useLoad } from '../components.tsx';
import { fmtRel } from '../util.ts';

const ROLES = ['viewer', 'analyst', 'admin'];

/** The users, tokens and channels page. */
export function AdminPage() {
  const [users, uErr, reloadUsers] = useLoad(() => api<{ items: any[] }>('GET', '/users'), []);
  const [tokens, tErr, reloadTokens] = useLoad(() => api<{ items: any[] }>('GET', '/tokens'), []);
  const [channels, cErr, reloadChannels] = useLoad(() => api<{ items: any[] }>('GET', '/channels'), []);
  const [nu, setNu] = useState({ username: '', password: '', role: 'viewer' });
  const [nt, setNt] = useState({ name: '', role: 'viewer', ttl: '' });
  const [nc, setNc] = useState({ name: '', url: '', minSeverity: 'HIGH', format: 'json' });
  const [newToken, setNewToken] = useState<string>();
  const [err, setErr] = useState<unknown>();
  const run = async (fn: () => Promise<unknown>, ok: string, reload: () => void) => {
    setErr(undefined);
    try {
      await fn();
      notify(ok);
      reload();
      return true;
    } catch (e) {
      setErr(e);
      return false;
    }
  };
  return (
    <div class="page" data-testid="page-admin">
      <div class="page-head">
        <h1>Users, tokens &amp; alert channels</h1>
      </div>
      <ErrorBox error={err ?? uErr ?? tErr ?? cErr} />
      <div class="grid">
        <Card title="Users" class="span-2">
          <Table
            rows={users?.items ?? []}
            rowKey={(u: any) => u.id}
            cols={[
              { label: 'User', cell: (u: any) => u.username },
              {
                label: 'Role',
                cell: (u: any) => (
                  <select value={u.role} aria-label={`Role of ${u.username}`} onChange={(e) => run(() => api('PATCH', `/users/${u.id}`, { role: e.currentTarget.value }), 'Role changed', reloadUsers)}>
                    {ROLES.map((r) => (
                      <option value={r}>{r}</option>
                    ))}
                  </select>
                ),
              },
              { label: 'Last login', cell: (u: any) => fmtRel(u.lastLoginAt) },
              { label: 'Status', cell: (u: any) => (u.disabled ? 'disabled' : 'active') },
              {
                label: '',
                cell: (u: any) => (
                  <span class="row-actions">
                    <button class="small secondary" onClick={() => run(() => api('PATCH', `/users/${u.id}`, { disabled: !u.disabled }), u.disabled ? 'Enabled' : 'Disabled', reloadUsers)}>
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                    <button class="small danger" onClick={() => confirm(`Delete ${u.username}?`) && run(() => api('DELETE', `/users/${u.id}`), 'User deleted', reloadUsers)}>
                      Delete
                    </button>
                  </span>
                ),
              },
            ]}
          />
          <form
            class="form"
            onSubmit={async (e) => {
              e.preventDefault();
              if (await run(() => api('POST', '/users', nu), `User ${nu.username} created`, reloadUsers)) setNu({ username: '', password: '', role: 'viewer' });
            }}
          >
            <label>
              Username
              <input value={nu.username} onInput={(e) => setNu({ ...nu, username: e.currentTarget.value })} required pattern="[A-Za-z0-9._@\-]{1,64}" />
            </label>
            <label>
              Password (≥ 12)
              <input type="password" autoComplete="new-password" value={nu.password} onInput={(e) => setNu({ ...nu, password: e.currentTarget.value })} required minLength={12} />
            </label>
            <label>
              Role
              <select value={nu.role} onChange={(e) => setNu({ ...nu, role: e.currentTarget.value })}>
                {ROLES.map((r) => (
                  <option value={r}>{r}</option>
                ))}
              </select>
            </label>
            <button type="submit">Add user</button>
          </form>
        </Card>
        <Card title="API tokens">
          {newToken ? (
            <div class="notice" data-testid="new-token">
              Copy this token now, it is not shown again:
              <pre class="mono wrap">{newToken}</pre>
              <button class="small secondary" onClick={() => setNewToken(undefined)}>
                Done
              </button>
            </div>
          ) : null}
          <Table
            rows={tokens?.items ?? []}
            rowKey={(t: any) => t.id}
            cols={[
              { label: 'Name', cell: (t: any) => t.name },
              { label: 'Prefix', cell: (t: any) => <code class="mono">{t.prefix}…</code> },
              { label: 'Role', cell: (t: any) => t.role },
              { label: 'Last used', cell: (t: any) => (t.revokedAt ? 'revoked' : fmtRel(t.lastUsedAt)) },
              { label: '', cell: (t: any) => (t.revokedAt ? null : <button class="small danger" onClick={() => run(() => api('DELETE', `/tokens/${t.id}`), 'Token revoked', reloadTokens)}>Revoke</button>) },
            ]}
          />
          <form
            class="form"
            onSubmit={async (e) => {
              e.preventDefault();
              setErr(undefined);
              try {
                const r = await api<{ token: string }>('POST', '/tokens', { name: nt.name, role: nt.role, ...(nt.ttl ? { ttlS: Number(nt.ttl) } : {}) });
                setNewToken(r.token);
                setNt({ name: '', role: 'viewer', ttl: '' });
                reloadTokens();
              } catch (er) {
                setErr(er);
              }
            }}
          >
            <label>
              Name
              <input value={nt.name} onInput={(e) => setNt({ ...nt, name: e.currentTarget.value })} required maxLength={64} />
            </label>
            <label>
              Role
              <select value={nt.role} onChange={(e) => setNt({ ...nt, role: e.currentTarget.value })}>
                {ROLES.map((r) => (
                  <option value={r}>{r}</option>
                ))}
              </select>
            </label>
            <label>
              Expires
              <select value={nt.ttl} onChange={(e) => setNt({ ...nt, ttl: e.currentTarget.value })}>
                <option value="">never</option>
                <option value="86400">1 day</option>
                <option value="2592000">30 days</option>
                <option value="31536000">1 year</option>
              </select>
            </label>
            <button type="submit">Create token</button>
          </form>
        </Card>
        <Card title="Alert channels" class="span-3" testid="channels">
          <Table
            rows={channels?.items ?? []}
            rowKey={(c: any) => c.id}
            cols={[
              { label: 'Name', cell: (c: any) => c.name },
              { label: 'Type', cell: (c: any) => c.type },
              { label: 'Target', cell: (c: any) => <code class="mono wrap">{c.webhook?.url ?? c.email?.to?.join(', ') ?? '—'}</code> },
              { label: 'Min severity', cell: (c: any) => c.minSeverity },
              { label: 'Enabled', cell: (c: any) => <input type="checkbox" checked={c.enabled} aria-label={`Enable ${c.name}`} onChange={(e) => run(() => api('PATCH', `/channels/${c.id}`, { enabled: e.currentTarget.checked }), 'Channel updated', reloadChannels)} /> },
              {
                label: '',
                cell: (c: any) => (
                  <span class="row-actions">
                    <button class="small secondary" onClick={() => run(() => api('POST', `/channels/${c.id}/test`, {}), 'Test alert sent', reloadChannels)}>
                      Test
                    </button>
                    <button class="small danger" onClick={() => confirm(`Delete channel ${c.name}?`) && run(() => api('DELETE', `/channels/${c.id}`), 'Channel deleted', reloadChannels)}>
                      Delete
                    </button>
                  </span>
                ),
              },
            ]}
            empty="No alert channels."
          />
          <form
            class="form"
            onSubmit={async (e) => {
              e.preventDefault();
              const ok = await run(
                () => api('POST', '/channels', { type: 'webhook', name: nc.name, minSeverity: nc.minSeverity, webhook: { url: nc.url, format: nc.format } }),
                'Channel created',
                reloadChannels,
              );
              if (ok) setNc({ name: '', url: '', minSeverity: 'HIGH', format: 'json' });
            }}
          >
            <label>
              Name
              <input value={nc.name} onInput={(e) => setNc({ ...nc, name: e.currentTarget.value })} required maxLength={64} />
            </label>
            <label class="wide">
              Webhook URL
              <input type="url" value={nc.url} onInput={(e) => setNc({ ...nc, url: e.currentTarget.value })} required />
            </label>
            <label>
              Format
              <select value={nc.format} onChange={(e) => setNc({ ...nc, format: e.currentTarget.value })}>
                <option value="json">JSON</option>
                <option value="slack">Slack</option>
              </select>
            </label>
            <label>
              Min severity
              <select value={nc.minSeverity} onChange={(e) => setNc({ ...nc, minSeverity: e.currentTarget.value })}>
                {['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].map((l) => (
                  <option value={l}>{l}</option>
                ))}
              </select>
            </label>
            <button type="submit">Add webhook channel</button>
          </form>
        </Card>
      </div>
    </div>
  );
}
