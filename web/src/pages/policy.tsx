/**
 * Policy: the YAML document with validation errors shown inline, save with optimistic concurrency
 * (`If-Match: "v<n>"`), detectors and rules switched between monitor and enforce, version history with
 * the unified diff of each version and rollback.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, can, type Issue } from '../api.ts';
import { Card, ErrorBox, notify, Table, useLoad } from '../components.tsx';
import { fmtTime } from '../util.ts';

/** Behavioural detector key (policy `behavior.<key>`) → its rule-id family (`behavior.<family>.*`). */
const FAMILY_OF: Readonly<Record<string, string>> = {
  bots: 'bots', bruteForce: 'bruteforce', fingerprint: 'fingerprint', honeypot: 'honeypot', scanner: 'scanner',
  credentialStuffing: 'stuffing', enumeration: 'enum', flows: 'flow',
};

/** The policy page. */
export function PolicyPage() {
  const [policy, pErr, reloadPolicy] = useLoad(() => api<{ version: number; yaml: string }>('GET', '/policy'), []);
  const [detectors, detErr, reloadDetectors] = useLoad(() => api<any>('GET', '/detectors'), []);
  const [versions, vErr, reloadVersions] = useLoad(() => api<{ items: any[] }>('GET', '/policy/versions?limit=50'), []);
  const [text, setText] = useState('');
  const [comment, setComment] = useState('');
  const [issues, setIssues] = useState<Issue[] | null>(null);
  const [saveErr, setSaveErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [diffOf, setDiffOf] = useState<any>();
  const [ruleFilter, setRuleFilter] = useState('');
  const admin = can('admin');
  useEffect(() => {
    if (policy) setText(policy.yaml);
  }, [policy]);
  const dirty = policy !== undefined && text !== policy.yaml;

  const reloadAll = () => {
    reloadPolicy();
    reloadDetectors();
    reloadVersions();
  };
  const validate = async () => {
    setSaveErr(undefined);
    const r = await api<{ valid: boolean; errors?: Issue[] }>('POST', '/policy/validate', { yaml: text });
    setIssues(r.valid ? [] : (r.errors ?? []));
    return r.valid;
  };
  const save = async () => {
    setBusy(true);
    setSaveErr(undefined);
    try {
      if (!(await validate())) return;
      const r = await api<{ version: number }>('PUT', '/policy', { yaml: text, ...(comment.trim() ? { comment: comment.trim() } : {}) }, { 'if-match': `"v${policy!.version}"` });
      notify(`Policy version ${r.version} applied`);
      setComment('');
      setIssues(null);
      reloadAll();
    } catch (e: any) {
      if (e.errors?.length) setIssues(e.errors);
      setSaveErr(e);
    } finally {
      setBusy(false);
    }
  };
  const setMode = async (ruleId: string, mode: string) => {
    try {
      const r = await api<{ version: number }>('PUT', `/rules/${encodeURIComponent(ruleId)}/mode`, { mode });
      notify(`${ruleId} → ${mode} (policy v${r.version})`);
      reloadAll();
    } catch (e) {
      notify((e as Error).message, 'err');
    }
  };
  const setGlobal = async (mode: string) => {
    try {
      await api('PUT', '/mode', { mode });
      notify(`Global mode: ${mode}`);
      reloadAll();
    } catch (e) {
      notify((e as Error).message, 'err');
    }
  };
  const setEnabled = async (name: string, enabled: boolean) => {
    try {
      const r = await api<{ version: number }>('PATCH', `/detectors/${encodeURIComponent(name)}`, { enabled });
      notify(`${name} ${enabled ? 'enabled' : 'disabled'} (policy v${r.version})`);
      reloadAll();
    } catch (e) {
      notify((e as Error).message, 'err');
    }
  };
  const [ruleId, setRuleId] = useState('');
  const switchRule = (e: Event) => {
    e.preventDefault();
    const id = ruleId.trim();
    if (!id) return;
    const current = (detectors?.rules ?? []).find((r: any) => r.ruleId === id || r.ruleId.endsWith(`.${id}`));
    void setMode(id, current?.mode === 'monitor' ? 'enforce' : 'monitor').then(() => setRuleId(''));
  };
  const showDiff = async (v: number) => setDiffOf(await api('GET', `/policy/versions/${v}`));
  const rollback = async (v: number) => {
    if (!confirm(`Roll back to version ${v}? This creates a new version.`)) return;
    try {
      const r = await api<{ version: number }>('POST', `/policy/versions/${v}/rollback`, { comment: `rollback to v${v}` });
      notify(`Rolled back: version ${r.version}`);
      reloadAll();
    } catch (e) {
      notify((e as Error).message, 'err');
    }
  };
  const rules: any[] = (detectors?.rules ?? []).filter((r: any) => !ruleFilter || r.ruleId.includes(ruleFilter.trim()));
  return (
    <div class="page" data-testid="page-policy">
      <div class="page-head">
        <h1>Policy {policy ? <small class="muted">v{policy.version}</small> : null}</h1>
        {detectors ? (
          <div class="actions">
            <span class="muted small">Global mode</span>
            <span class={`badge ${detectors.mode === 'monitor' ? 'act-log' : 'act-block'}`} data-testid="global-mode">
              {detectors.mode}
            </span>
            {admin ? (
              <button class="secondary small" onClick={() => setGlobal(detectors.mode === 'monitor' ? 'enforce' : 'monitor')}>
                Switch to {detectors.mode === 'monitor' ? 'enforce' : 'monitor'}
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
      <ErrorBox error={pErr ?? detErr} />
      <div class="grid">
        <Card title="Policy document (YAML)" class="span-2" testid="policy-editor">
          <textarea class="code" spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} readOnly={!admin} aria-label="Policy YAML" data-testid="policy-yaml" rows={22} placeholder="# empty: built-in defaults" />
          {issues && issues.length > 0 ? (
            <div class="error" role="alert" data-testid="policy-errors">
              <strong>The policy is invalid:</strong>
              <ul>
                {issues.map((i) => (
                  <li>
                    <code>{i.path || '(document)'}</code>: {i.message}
                  </li>
                ))}
              </ul>
            </div>
          ) : issues ? (
            <p class="ok" data-testid="policy-valid">
              Valid.
            </p>
          ) : null}
          {!issues?.length ? <ErrorBox error={saveErr} /> : null}
          {admin ? (
            <div class="row">
              <input placeholder="comment (optional)" value={comment} onInput={(e) => setComment(e.currentTarget.value)} maxLength={500} class="grow" aria-label="Change comment" />
              <button class="secondary" onClick={() => validate().catch(setSaveErr)} data-testid="policy-validate">
                Validate
              </button>
              <button onClick={save} disabled={busy || !dirty} data-testid="policy-save">
                Save &amp; apply
              </button>
            </div>
          ) : (
            <p class="muted small">Only admins can edit the policy.</p>
          )}
        </Card>
        <Card title="Version history" testid="policy-versions">
          <ErrorBox error={vErr} />
          <Table
            rows={versions?.items ?? []}
            rowKey={(v: any) => String(v.version)}
            cols={[
              { label: 'v', cell: (v: any) => v.version, class: 'num' },
              { label: 'Author', cell: (v: any) => v.author },
              { label: 'When', cell: (v: any) => fmtTime(v.createdAt) },
              { label: '±', cell: (v: any) => <span class="small"><span class="add">+{v.linesAdded}</span> <span class="del">−{v.linesRemoved}</span></span> },
              {
                label: '',
                cell: (v: any) => (
                  <span class="row-actions">
                    <button class="small secondary" onClick={() => showDiff(v.version)} data-testid={`diff-v${v.version}`}>Diff</button>
                    {admin && v.version !== policy?.version ? <button class="small secondary" onClick={() => rollback(v.version)}>Roll back</button> : null}
                  </span>
                ),
              },
            ]}
          />
          {diffOf ? (
            <div class="diff-box" data-testid="policy-diff">
              <h3>
                Version {diffOf.version} {diffOf.comment ? `— ${diffOf.comment}` : ''}
              </h3>
              <pre class="diff">
                {String(diffOf.diff || '(no changes)')
                  .split('\n')
                  .map((l) => (
                    <div class={l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}>{l || ' '}</div>
                  ))}
              </pre>
            </div>
          ) : null}
        </Card>
        <Card title="Detectors" class="span-3" testid="detectors">
          <Table
            rows={detectors?.items ?? []}
            rowKey={(d: any) => d.name}
            cols={[
              { label: 'Detector', cell: (d: any) => <code class="mono">{d.name}</code> },
              {
                label: 'Enabled',
                cell: (d: any) =>
                  admin && (d.name === 'detection' || d.name === 'behavior') ? (
                    <label class="inline">
                      <input type="checkbox" checked={d.enabled} onChange={(e) => setEnabled(d.name, e.currentTarget.checked)} /> {d.enabled ? 'yes' : 'no'}
                    </label>
                  ) : d.enabled ? (
                    'yes'
                  ) : (
                    'no'
                  ),
              },
              { label: 'Mode', cell: (d: any) => (d.monitor === undefined ? '—' : <span class={`badge ${d.monitor ? 'act-log' : 'act-block'}`}>{d.monitor ? 'monitor' : 'enforce'}</span>) },
              {
                label: '',
                cell: (d: any) => {
                  const fam = FAMILY_OF[d.name.replace(/^behavior\./, '')];
                  return admin && d.monitor !== undefined && fam ? (
                    <button class="small secondary" onClick={() => setMode(`behavior.${fam}.*`, d.monitor ? 'enforce' : 'monitor')}>
                      {d.monitor ? 'Enforce' : 'Monitor'}
                    </button>
                  ) : null;
                },
              },
            ]}
          />
        </Card>
        <Card title="Rules: monitor or enforce" class="span-3" testid="rules" actions={<input placeholder="filter rules" value={ruleFilter} onInput={(e) => setRuleFilter(e.currentTarget.value)} aria-label="Filter rules" />}>
          <Table
            rows={rules.slice(0, 200)}
            rowKey={(r: any) => r.ruleId}
            cols={[
              { label: 'Rule', cell: (r: any) => <code class="mono">{r.ruleId}</code> },
              { label: 'Source', cell: (r: any) => r.source },
              { label: 'Mode', cell: (r: any) => <span class={`badge ${r.mode === 'monitor' ? 'act-log' : 'act-block'}`}>{r.mode}</span> },
              { label: '', cell: (r: any) => (admin ? <button class="small secondary" onClick={() => setMode(r.ruleId, r.mode === 'monitor' ? 'enforce' : 'monitor')}>{r.mode === 'monitor' ? 'Enforce' : 'Monitor'}</button> : null) },
            ]}
          />
          {rules.length > 200 ? <p class="muted small">{rules.length - 200} more: filter to narrow.</p> : null}
          {admin ? (
            <form class="row" onSubmit={switchRule}>
              <input placeholder="rule id, e.g. 942100 or sqli.942100" value={ruleId} onInput={(e) => setRuleId(e.currentTarget.value)} class="grow" aria-label="Rule id to switch" maxLength={128} />
              <button type="submit" class="secondary">
                Toggle monitor / enforce
              </button>
            </form>
          ) : null}
          <p class="muted small">
            Payload rules are enforced unless listed here; rate-limit rules and behavioural detectors switch individually. Monitor mode records what a rule would do without enforcing it.
          </p>
        </Card>
      </div>
    </div>
  );
}
