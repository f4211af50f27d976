import { lazy, StrictMode, Suspense, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AuthProvider, can, useAuth } from './lib/auth';
import { ApiError } from './lib/api';
import { ErrorBox, Spinner, ToastProvider } from './lib/ui';
import { applyTheme, systemTheme, type Theme } from './lib/theme';
import { routes } from './routes';
import Login from './pages/Login';
import { Icon } from './lib/Icon';
import './styles.css';

const NotificationBell = lazy(() => import('./lib/Notifications'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
      refetchOnWindowFocus: false,
      staleTime: 5_000,
    },
  },
});

function Shell() {
  const { user, ready, logout } = useAuth();
  const loc = useLocation();
  const [theme, setTheme] = useState<Theme>(() => systemTheme());
  useEffect(() => applyTheme(theme), [theme]);
  useEffect(() => {
    const mq = window.matchMedia?.('(prefers-color-scheme: dark)');
    const f = () => setTheme(systemTheme());
    mq?.addEventListener?.('change', f);
    return () => mq?.removeEventListener?.('change', f);
  }, []);
  if (!ready) return <Spinner label="Starting" />;
  if (!user) return <Login />;
  const nav = routes.filter((r) => r.nav && (!r.nav.admin || can(user, 'admin')));
  const full = /\/design$|^\/executions\/[^/]+$/.test(loc.pathname);
  return (
    <div className={`app ${full ? 'full' : ''}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <aside className="sidebar" aria-label="Main navigation">
        <div className="brand">
          <span className="logo" aria-hidden="true">
            <svg viewBox="0 0 32 32" width="26" height="26">
              <rect width="32" height="32" rx="8" fill="var(--accent)" />
              <path d="M9 22l7-12 7 12" stroke="white" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </span>
          <span className="brand-name">APG Flow</span>
          <Suspense fallback={<span className="bell-wrap" />}>
            <NotificationBell />
          </Suspense>
        </div>
        <nav>
          <ul>
            {nav.map((r) => {
              const Count = r.nav!.count;
              const countId = `nav-count${r.path.replace(/\//g, '-')}`;
              return (
                <li key={r.path} className={Count ? 'has-count' : undefined}>
                  <NavLink to={r.path} end={r.path === '/workflows'} aria-label={r.nav!.label} aria-describedby={Count ? countId : undefined}>
                    <span className="nav-icon" aria-hidden="true">
                      <Icon name={r.nav!.icon} size={18} />
                    </span>
                    <span className="nav-label">{r.nav!.label}</span>
                  </NavLink>
                  {/* Beside the link, not in it: the link's name stays its label, the count its description. */}
                  {Count && (
                    <Suspense fallback={null}>
                      <Count id={countId} />
                    </Suspense>
                  )}
                </li>
              );
            })}
            <li>
              <a href="/graphql" target="_blank" rel="noreferrer" aria-label="GraphiQL (opens a new tab)">
                <span className="nav-icon" aria-hidden="true">
                  <Icon name="graphql" size={18} />
                </span>
                <span className="nav-label">GraphiQL</span>
              </a>
            </li>
          </ul>
        </nav>
        <div className="sidebar-foot">
          <button
            className="icon-btn"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            title="Toggle theme"
          >
            <Icon name={theme === 'dark' ? 'sun' : 'moon'} size={18} />
          </button>
          <div className="whoami" title={`${user.username} (${user.role})`}>
            <span className="avatar" aria-hidden="true">
              {user.username.slice(0, 1).toUpperCase()}
            </span>
            <span className="who">
              <span data-testid="current-user">{user.username}</span>
              <small>{user.role}</small>
            </span>
          </div>
          <button className="btn ghost sm" onClick={() => logout()}>
            Sign out
          </button>
        </div>
      </aside>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Spinner />}>
          <Routes>
            <Route path="/" element={<Navigate to="/workflows" replace />} />
            <Route path="/login" element={<Navigate to="/workflows" replace />} />
            {routes.map((r) => (
              <Route key={r.path} path={r.path} element={<r.page />} />
            ))}
            <Route
              path="*"
              element={
                <div className="page">
                  <ErrorBox error={new ApiError(404, 'There is no page at this address.')} />
                </div>
              }
            />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        <AuthProvider>
          <BrowserRouter>
            <Shell />
          </BrowserRouter>
        </AuthProvider>
      </ToastProvider>
    </QueryClientProvider>
  </StrictMode>,
);
