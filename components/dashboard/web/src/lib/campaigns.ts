// The campaign list, shared by every view that shows campaigns (the board, and
// names and pickers elsewhere): one signal per signed-in token, paged in
// through GET /api/campaigns 200 at a time, one load in flight at a time.
//
// The first load publishes every page as it arrives, so the board draws its
// columns after the first page; `complete` says when the last has arrived.
// A later full refresh keeps showing the previous complete list and swaps in
// the new one when all of it has arrived.
//
// Refresh policy. The API has no change feed and answers lists without 304s,
// so a full refresh costs every page (about 700 KB for 1,000 campaigns):
// - the whole list is downloaded again only when it is older than
//   FULL_REFRESH_MS (2 minutes) — checked while a view that shows it is
//   visible, and at once on return to the tab — or on the Refresh button;
// - a campaign this tab changes or opens is replaced on its own (the record the
//   API answered, or GET /api/campaigns/{id}, which has an ETag) with
//   `upsertCampaign`, not by downloading the list again;
// - "Updated hh:mm:ss" is the time the last complete download finished.
import { effect, signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { currentToken, getAll } from '../api/client';
import type { Campaign } from '../api/types';
import { token } from '../auth';
import { type Live, usePolling } from './live';

export const FULL_REFRESH_MS = 120_000;

type Snapshot = {
  token: string | null;
  items: Campaign[];
  /** Every page of the last load arrived. */
  complete: boolean;
  /** When the last complete load finished (Date.now()), 0 before. */
  loadedAt: number;
  /** When the last load ended, whether it worked or not. */
  triedAt: number;
  loading: boolean;
  error: unknown;
};

const store = signal<Snapshot>(blank(null));
let inflight: { token: string | null; promise: Promise<Campaign[]> } | null = null;
/** Records upserted while a load is in flight: newer than what that load may have read. */
const touched = new Map<string, Campaign>();

function blank(token: string | null): Snapshot {
  return { token, items: [], complete: false, loadedAt: 0, triedAt: 0, loading: false, error: null };
}

// Signing out forgets the list (signing in again, even with the same token, starts afresh).
effect(() => {
  if (!token.value) {
    touched.clear();
    store.value = blank(null);
  }
});

/** The list of the signed-in token (reading it subscribes a component to changes). */
function snapshot(): Snapshot {
  const s = store.value;
  const token = currentToken();
  return s.token === token ? s : blank(token);
}

function publish(token: string | null, patch: Partial<Snapshot>) {
  if (token !== currentToken()) return;
  store.value = { ...snapshot(), ...patch };
}

/** `items` with the records changed here since the load began laid over them. */
function withTouched(items: Campaign[]): Campaign[] {
  if (!touched.size) return items;
  const out = items.map((c) => {
    const t = c.id ? touched.get(c.id) : undefined;
    return t && (t.version ?? 0) > (c.version ?? 0) ? t : c;
  });
  const have = new Set(items.map((c) => c.id));
  for (const t of touched.values()) if (!have.has(t.id)) out.push(t);
  return out;
}

/** Downloads the whole list (joining the load in flight for this token). */
export function loadCampaigns(): Promise<Campaign[]> {
  const token = currentToken();
  if (inflight && inflight.token === token) return inflight.promise;
  const progressive = !snapshot().complete;
  touched.clear();
  publish(token, { loading: true });
  const mine = {
    token,
    promise: getAll<Campaign, '/api/campaigns'>('/api/campaigns', {
      onPage: progressive ? (items) => publish(token, { items: withTouched(items) }) : undefined,
    }).then(
      (items) => {
        const now = Date.now();
        const all = withTouched(items);
        publish(token, { items: all, complete: true, loadedAt: now, triedAt: now, loading: false, error: null });
        return all;
      },
      (e: unknown) => {
        publish(token, { triedAt: Date.now(), loading: false, error: e });
        throw e;
      },
    ),
  };
  inflight = mine;
  void mine.promise.catch(() => undefined).finally(() => {
    if (inflight === mine) inflight = null;
  });
  return mine.promise;
}

/** The complete list, downloaded again only when older than `maxAge`. */
export function allCampaigns(maxAge = FULL_REFRESH_MS): Promise<Campaign[]> {
  const s = snapshot();
  if (s.complete && Date.now() - s.loadedAt < maxAge) return Promise.resolve(s.items);
  return loadCampaigns();
}

/** Puts a fresher copy of one campaign (or a new one) into the list, without downloading the rest. */
export function upsertCampaign(c: Campaign) {
  if (!c.id) return;
  const s = snapshot();
  if (inflight && inflight.token === s.token) touched.set(c.id, c);
  if (!s.items.length && !s.complete) return;
  const at = s.items.findIndex((x) => x.id === c.id);
  const old = at >= 0 ? s.items[at] : undefined;
  if (old && (old === c || (old.version ?? 0) > (c.version ?? 0))) return;
  if (old && old.version === c.version && old.updated_at === c.updated_at) return;
  const items = s.items.slice();
  if (at >= 0) items[at] = c;
  else items.push(c);
  publish(s.token, { items });
}

/**
 * The shared list for a view, with the refresh policy above. `data` is what has
 * arrived so far (undefined before the first page); `complete` says whether
 * that is all of it.
 */
export function useCampaigns(): Live<Campaign[]> & { complete: boolean } {
  const s = snapshot();
  const refresh = () => void loadCampaigns().catch(() => undefined);
  useEffect(() => {
    if (!s.complete || Date.now() - s.loadedAt >= FULL_REFRESH_MS) refresh();
  }, [s.token]);
  usePolling(refresh, () => snapshot().triedAt, FULL_REFRESH_MS);
  return {
    data: s.items.length || s.complete ? s.items : undefined,
    complete: s.complete,
    error: s.error,
    loading: s.loading,
    updatedAt: s.loadedAt ? new Date(s.loadedAt) : null,
    reload: () => loadCampaigns().then(() => undefined, () => undefined),
  };
}

const indexes = new WeakMap<Campaign[], Map<string, Campaign>>();

/** The campaign with `id` in `list` (indexed once per list). */
export function campaignById(list: Campaign[] | undefined, id: string | null | undefined): Campaign | undefined {
  if (!list || !id) return undefined;
  let index = indexes.get(list);
  if (!index) {
    index = new Map(list.map((c) => [c.id ?? '', c]));
    indexes.set(list, index);
  }
  return index.get(id);
}

export function campaignName(list: Campaign[] | undefined, id: string | null | undefined): string {
  if (!id) return '—';
  return campaignById(list, id)?.name ?? id;
}

/** Whether the campaign is still open (not completed or cancelled). */
export function isOpen(c: Campaign): boolean {
  return c.stage !== 'completed' && c.stage !== 'cancelled';
}

/** Campaigns still open, for pickers. */
export function openCampaigns(list: Campaign[] | undefined): Campaign[] {
  return (list ?? []).filter(isOpen);
}

/** Channels named by any campaign's plan, sorted. */
export function knownChannels(list: Campaign[] | undefined): string[] {
  const s = new Set<string>();
  for (const c of list ?? []) for (const ch of c.channels ?? []) s.add(ch.channel);
  return [...s].sort();
}
