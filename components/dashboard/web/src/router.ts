// Client-side routing with the History API: the server answers every non-asset
// path with index.html, and this module maps the path to a view.
import { signal } from '@preact/signals';

export const location = signal(currentLocation());

function currentLocation() {
  return { path: window.location.pathname, search: window.location.search };
}

window.addEventListener('popstate', () => {
  location.value = currentLocation();
});

/** Goes to `href` (same origin) without reloading; `replace` keeps history flat for filter changes. */
export function navigate(href: string, replace = false) {
  const url = new URL(href, window.location.origin);
  if (url.pathname + url.search === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', url.pathname + url.search);
  else window.history.pushState(null, '', url.pathname + url.search);
  location.value = currentLocation();
  if (!replace) window.scrollTo(0, 0);
}

/** Reads one query parameter of the current location. */
export function queryParam(name: string): string | null {
  return new URLSearchParams(location.value.search).get(name);
}

/** Sets query parameters on the current location (null removes), replacing the history entry. */
export function setQuery(params: Record<string, string | null>) {
  const q = new URLSearchParams(location.value.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.value.path + (s ? `?${s}` : ''), true);
}

export type Route =
  | { view: 'board' }
  | { view: 'campaign'; id: string }
  | { view: 'inbox'; id: string | null }
  | { view: 'content'; id: string }
  | { view: 'calendar' }
  | { view: 'resources' }
  | { view: 'monitoring' }
  | { view: 'process' }
  | { view: 'not-found' };

export function match(path: string): Route {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [a, b, ...rest] = parts;
  if (rest.length) return { view: 'not-found' };
  if (!a || (a === 'campaigns' && !b)) return { view: 'board' };
  if (a === 'campaigns' && b) return { view: 'campaign', id: b };
  if (a === 'inbox') return { view: 'inbox', id: b ?? null };
  if (a === 'content' && b) return { view: 'content', id: b };
  if (!b && a === 'calendar') return { view: 'calendar' };
  if (!b && a === 'resources') return { view: 'resources' };
  if (!b && a === 'monitoring') return { view: 'monitoring' };
  if (!b && a === 'process') return { view: 'process' };
  return { view: 'not-found' };
}
