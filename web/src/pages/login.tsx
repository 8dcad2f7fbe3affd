/** Login page: username + password → session cookie and CSRF token. */
import { useState } from 'preact/hooks';
import { api, principal, setCsrf, type Principal } from '../api.ts';
import { ErrorBox, navigate } from '../components.tsx';

/** The sign-in form. */
export function LoginPage() {
  const [username, setUser] = useState('');
  const [password, setPass] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<{ user: { id: string; username: string; role: Principal['role'] }; csrfToken: string }>('POST', '/auth/login', { username, password });
      setCsrf(r.csrfToken);
      principal.value = { id: r.user.id, name: r.user.username, role: r.user.role, kind: 'session' };
      navigate('/overview', true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="card login-card" onSubmit={submit} data-testid="login-form">
        <h1>
          <span class="logo">◆</span> Bulwark
        </h1>
        <p class="muted">API abuse gateway — sign in to the control plane.</p>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUser(e.currentTarget.value)} required maxLength={128} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPass(e.currentTarget.value)} required maxLength={1024} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
