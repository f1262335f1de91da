/** The shell: session check, login, navigation, theme toggle, live-feed state and the page for the URL. */
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, get, invalidate, post, setSession, whenUnauthorized } from './api';
import { onLiveState, startLive, stopLive } from './live';
import { AdminPage } from './pages/admin';
import { AlertPage } from './pages/alert';
import { CoveragePage } from './pages/coverage';
import { EntityPage } from './pages/entity';
import { HealthPage } from './pages/health';
import { LoginPage } from './pages/login';
import { QueuePage } from './pages/queue';
import { RulesPage } from './pages/rules';
import { SearchPage } from './pages/search';
import { StoryPage } from './pages/story';
import { match, navigate, onLinkClick, useLocation } from './router';
import { currentTheme, setTheme, type Theme } from './theme';
import type { Session } from './types';
import { Link, SessionContext } from './ui';

const NAV = [
  { href: '/', label: 'Queue', active: (p: string) => p === '/' || p.startsWith('/stories/') || p.startsWith('/alerts/') },
  { href: '/search', label: 'Search', active: (p: string) => p.startsWith('/search') },
  { href: '/hosts', label: 'Hosts', active: (p: string) => p.startsWith('/hosts') },
  { href: '/accounts', label: 'Accounts', active: (p: string) => p.startsWith('/accounts') },
  { href: '/rules', label: 'Rules', active: (p: string) => p.startsWith('/rules') },
  { href: '/coverage', label: 'Coverage', active: (p: string) => p.startsWith('/coverage') },
  { href: '/health', label: 'Health', active: (p: string) => p.startsWith('/health') },
  { href: '/admin/users', label: 'Admin', active: (p: string) => p === '/admin' || p.startsWith('/admin/'), adminOnly: true },
];

export function App() {
  const [session, setSess] = useState<Session | null | undefined>(undefined);
  const [theme, setThemeState] = useState<Theme>(currentTheme());
  const [liveUp, setLiveUp] = useState(false);
  const { path } = useLocation();

  const loggedIn = (s: Session | null): void => {
    setSession(s);
    setSess(s);
    if (s) startLive();
    else stopLive();
  };

  useEffect(() => {
    whenUnauthorized(() => loggedIn(null));
    get<Session>('/api/auth/session').then(loggedIn, (e: unknown) => {
      if (!(e instanceof ApiFailure && e.status === 401)) console.error(e);
      loggedIn(null);
    });
    return onLiveState(setLiveUp);
  }, []);

  useEffect(() => {
    const label = NAV.find((n) => n.active(path))?.label;
    document.title = label ? `${label} · Firebreak` : 'Firebreak console';
  }, [path]);

  if (session === undefined) return <p class="muted center">Loading…</p>;
  if (session === null) return <LoginPage onLogin={loggedIn} />;

  const logout = async (): Promise<void> => {
    try {
      await post('/api/auth/logout');
    } finally {
      invalidate();
      loggedIn(null);
      navigate('/', true);
    }
  };
  const toggleTheme = (): void => {
    const t = theme === 'dark' ? 'light' : 'dark';
    setTheme(t);
    setThemeState(t);
  };

  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => onLinkClick(e, `${location.pathname}#main`)}>
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          Firebreak
        </Link>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => !n.adminOnly || session.role === 'admin').map((n) => (
              <li key={n.href}>
                <Link href={n.href} class={n.active(path) ? 'active' : undefined} current={n.active(path)}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="spacer" />
        <span class={`live-dot ${liveUp ? 'up' : 'down'}`} title={liveUp ? 'Live updates connected' : 'Live updates disconnected (reconnecting)'} data-testid="live-state">
          {liveUp ? 'live' : 'offline'}
        </span>
        {/* A toggle: its name stays, its pressed state says whether the dark theme is on. */}
        <button type="button" class="ghost" onClick={toggleTheme} aria-pressed={theme === 'dark'} data-testid="theme-toggle">
          Dark theme
        </button>
        <span class="who" data-testid="who">
          {session.user} <span class="muted">({session.role})</span>
        </span>
        <button type="button" class="ghost" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
    </SessionContext.Provider>
  );
}

function Route(props: { path: string }) {
  const p = props.path;
  let m: Record<string, string> | null;
  if (p === '/') return <QueuePage />;
  if ((m = match('/stories/:id', p))) return <StoryPage key={m.id} id={m.id!} />;
  if ((m = match('/alerts/:id', p))) return <AlertPage id={m.id!} />;
  if (p === '/hosts') return <EntityPage kind="host" name={null} />;
  if ((m = match('/hosts/:name', p))) return <EntityPage kind="host" name={m.name!} />;
  if (p === '/accounts') return <EntityPage kind="account" name={null} />;
  if ((m = match('/accounts/:name', p))) return <EntityPage kind="account" name={m.name!} />;
  if (p === '/search') return <SearchPage />;
  if (p === '/rules') return <RulesPage />;
  if (p === '/coverage') return <CoveragePage />;
  if (p === '/health') return <HealthPage />;
  if (p === '/admin' || p === '/admin/users') return <AdminPage tab="users" />;
  if (p === '/admin/keys') return <AdminPage tab="keys" />;
  if (p === '/admin/tokens') return <AdminPage tab="tokens" />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at this address. <Link href="/">Back to the queue</Link>.
      </p>
    </section>
  );
}
