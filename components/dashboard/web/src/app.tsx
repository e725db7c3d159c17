// The shell: sign-in gate, header with who is signed in, navigation, and the
// view for the current URL. Views other than the board load on demand.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { me, restore, ROLE_LABELS, signOut, token } from './auth';
import { lazyComponent } from './components/lazy';
import { ErrorBox, Link, Loading } from './components/ui';
import { location, match, type Route } from './router';
import { Board } from './views/Board';
import { SignIn } from './views/SignIn';

const view = (load: () => Promise<{ default: ComponentType<{ route: Route }> }>) => lazyComponent(() => load().then((m) => m.default));

const LAZY: Partial<Record<Route['view'], ComponentType<{ route: Route }>>> = {
  campaign: view(() => import('./views/CampaignDetail')),
  inbox: view(() => import('./views/Inbox')),
  content: view(() => import('./views/ContentView')),
  calendar: view(() => import('./views/Calendar')),
  resources: view(() => import('./views/Resources')),
  monitoring: view(() => import('./views/Monitoring')),
  process: view(() => import('./views/Process')),
};

function LazyView({ route }: { route: Route }) {
  const View = LAZY[route.view];
  return View ? <View route={route} /> : <NotFound />;
}

const NAV: { href: string; label: string; views: Route['view'][] }[] = [
  { href: '/', label: 'Campaigns', views: ['board', 'campaign'] },
  { href: '/inbox', label: 'Approval inbox', views: ['inbox', 'content'] },
  { href: '/calendar', label: 'Calendar', views: ['calendar'] },
  { href: '/resources', label: 'Resources', views: ['resources'] },
  { href: '/monitoring', label: 'Monitoring', views: ['monitoring'] },
  { href: '/process', label: 'Process', views: ['process'] },
];

const TITLES: Record<Route['view'], string> = {
  board: 'Campaigns',
  campaign: 'Campaign',
  inbox: 'Approval inbox',
  content: 'Content',
  calendar: 'Content calendar',
  resources: 'Resources',
  monitoring: 'Monitoring',
  process: 'Process',
  'not-found': 'Not found',
};

function NotFound() {
  return (
    <div class="page">
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link href="/">Go to the campaign board</Link>.
      </p>
    </div>
  );
}

export function App() {
  const [restoring, setRestoring] = useState(!!token.value && !me.value);
  const [restoreError, setRestoreError] = useState<unknown>(null);
  useEffect(() => {
    if (!restoring) return;
    restore()
      .catch((e) => setRestoreError(e))
      .finally(() => setRestoring(false));
  }, []);

  const route = match(location.value.path);
  useEffect(() => {
    document.title = `${TITLES[route.view]} · opsflow`;
  }, [route.view]);
  // Move focus to the new view's main region on navigation, for keyboard and screen reader users.
  useEffect(() => {
    const main = document.getElementById('main');
    if (main && document.activeElement && document.activeElement !== document.body && !main.contains(document.activeElement)) {
      main.focus({ preventScroll: true });
    }
  }, [location.value.path]);

  const user = me.value;
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <div class="brand">
          <Link href="/" class="brand-link">
            <span class="brand-mark" aria-hidden="true">
              o
            </span>
            opsflow
          </Link>
        </div>
        {user ? (
          <nav aria-label="Main" class="mainnav">
            <ul>
              {NAV.map((n) => (
                <li key={n.href}>
                  <Link href={n.href} aria-current={n.views.includes(route.view) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {user ? (
          <div class="whoami">
            <span class="whoami-text">
              Signed in as <strong>{user.sub}</strong>
              <span class="whoami-roles">
                {user.roles.map((r) => (
                  <span key={r} class="badge tone-muted role-badge">
                    {ROLE_LABELS[r] ?? r}
                  </span>
                ))}
              </span>
            </span>
            <button type="button" class="btn btn-small" onClick={() => signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {restoring && route.view === 'board' ? (
          // The board needs only the token, which its own requests check: it draws while /api/me answers.
          <Board />
        ) : restoring ? (
          <Loading label="Checking your session…" />
        ) : !user ? (
          <>
            {restoreError ? <ErrorBox error={restoreError} title="Could not check your session" /> : null}
            <SignIn />
          </>
        ) : route.view === 'board' ? (
          <Board />
        ) : route.view === 'not-found' ? (
          <NotFound />
        ) : (
          <LazyView key={route.view} route={route} />
        )}
      </main>
    </>
  );
}
