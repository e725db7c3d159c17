// The shell: sign-in gate, header with who is signed in, navigation, and the
// view for the current URL. Views other than the board load on demand.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { me, restore, ROLE_LABELS, signOut, token } from './auth';
import { ErrorBox, Link, Loading } from './components/ui';
import { location, match, type Route } from './router';
import { Board } from './views/Board';
import { SignIn } from './views/SignIn';

type Loader = () => Promise<{ default: ComponentType<{ route: Route }> }>;

const LAZY: Partial<Record<Route['view'], Loader>> = {
  campaign: () => import('./views/CampaignDetail'),
  inbox: () => import('./views/Inbox'),
  content: () => import('./views/ContentView'),
  calendar: () => import('./views/Calendar'),
  resources: () => import('./views/Resources'),
  monitoring: () => import('./views/Monitoring'),
};

const loaded = new Map<string, ComponentType<{ route: Route }>>();

function LazyView({ route }: { route: Route }) {
  const [, setTick] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const View = loaded.get(route.view);
  const loader = LAZY[route.view];
  useEffect(() => {
    if (View || !loader) return;
    let live = true;
    loader()
      .then((m) => {
        loaded.set(route.view, m.default);
        if (live) setTick((t) => t + 1);
      })
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [route.view]);
  if (View) return <View route={route} />;
  if (error) return <ErrorBox error={error} title="This view could not be loaded" />;
  return <Loading />;
}

const NAV: { href: string; label: string; views: Route['view'][] }[] = [
  { href: '/', label: 'Campaigns', views: ['board', 'campaign'] },
  { href: '/inbox', label: 'Approval inbox', views: ['inbox', 'content'] },
  { href: '/calendar', label: 'Calendar', views: ['calendar'] },
  { href: '/resources', label: 'Resources', views: ['resources'] },
  { href: '/monitoring', label: 'Monitoring', views: ['monitoring'] },
];

const TITLES: Record<Route['view'], string> = {
  board: 'Campaigns',
  campaign: 'Campaign',
  inbox: 'Approval inbox',
  content: 'Content',
  calendar: 'Content calendar',
  resources: 'Resources',
  monitoring: 'Monitoring',
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
        {restoring ? (
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
