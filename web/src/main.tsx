/** Entry point of the Bulwark dashboard: session check, shell (navigation, theme, live state), routes. */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { api, can, loadSession, onUnauthenticated, principal, setCsrf } from './api.ts';
import { Link, navigate, route, toast } from './components.tsx';
import { AdminPage } from './pages/admin.tsx';
import { DecisionsPage } from './pages/decisions.tsx';
import { EventsPage } from './pages/events.tsx';
import { IncidentsPage } from './pages/incidents.tsx';
import { InventoryPage } from './pages/inventory.tsx';
import { LoginPage } from './pages/login.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PolicyPage } from './pages/policy.tsx';
import { connect, disconnect, streamState } from './stream.ts';
import { theme, toggleTheme } from './theme.ts';
import './styles.css';

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: '/overview', label: 'Overview' },
  { href: '/incidents', label: 'Incidents' },
  { href: '/events', label: 'Events' },
  { href: '/decisions', label: 'Decisions & lists' },
  { href: '/policy', label: 'Policy' },
  { href: '/inventory', label: 'API inventory' },
  { href: '/admin', label: 'Users & channels', admin: true },
];

onUnauthenticated.fn = () => {
  if (principal.value) {
    principal.value = null;
    disconnect();
  }
};

async function logout(): Promise<void> {
  try {
    await api('POST', '/auth/logout', {});
  } catch {
    /* the session may already be gone */
  }
  setCsrf(undefined);
  principal.value = null;
  disconnect();
  navigate('/login', true);
}

function Page({ path }: { path: string }) {
  const [p] = path.split('?');
  if (p.startsWith('/incidents')) return <IncidentsPage path={p} />;
  if (p.startsWith('/events')) return <EventsPage />;
  if (p.startsWith('/decisions')) return <DecisionsPage />;
  if (p.startsWith('/policy')) return <PolicyPage />;
  if (p.startsWith('/inventory')) return <InventoryPage />;
  if (p.startsWith('/admin')) return can('admin') ? <AdminPage /> : <p class="muted">Admin only.</p>;
  return <OverviewPage />;
}

function App() {
  const p = principal.value;
  const path = route.value;
  useEffect(() => {
    if (p) connect();
  }, [p]);
  useEffect(() => {
    if (p === null && !path.startsWith('/login')) navigate('/login', true);
    if (p && (path === '/' || path.startsWith('/login'))) navigate('/overview', true);
  }, [p, path]);
  if (p === undefined) return <div class="splash">Loading…</div>;
  if (p === null) return <LoginPage />;
  const state = streamState.value;
  return (
    <div class="shell">
      <header class="topbar">
        <Link href="/overview" class="brand">
          <span class="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Bulwark
        </Link>
        <nav class="nav" aria-label="Main">
          {NAV.filter((n) => !n.admin || can('admin')).map((n) => (
            <Link href={n.href} class={path.startsWith(n.href) ? 'active' : ''} testid={`nav-${n.href.slice(1)}`}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="top-actions">
          <span class={`conn conn-${state}`} data-testid="conn-state" title="Live stream">
            ● {state}
          </span>
          <button class="ghost" onClick={toggleTheme} data-testid="theme-toggle" aria-label="Toggle theme">
            {theme.value === 'dark' ? '☀' : '☾'}
          </button>
          <span class="user" title={p.role}>
            {p.name} <small>({p.role})</small>
          </span>
          <button class="ghost" onClick={logout} data-testid="logout">
            Sign out
          </button>
        </div>
      </header>
      <main class="content">
        <Page path={path} />
      </main>
      {toast.value ? (
        <div class={`toast toast-${toast.value.kind}`} role="status" data-testid="toast">
          {toast.value.text}
        </div>
      ) : null}
    </div>
  );
}

void loadSession();
render(<App />, document.getElementById('app')!);
