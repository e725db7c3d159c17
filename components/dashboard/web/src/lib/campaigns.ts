// The campaign list, shared by the views that need names or a picker: paged
// through GET /api/campaigns 200 at a time, one load in flight at a time, and
// reused for a few seconds so switching views does not page through it again.
import { currentToken, getAll } from '../api/client';
import type { Campaign } from '../api/types';

let cache: { at: number; token: string | null; items: Campaign[] } | null = null;
let inflight: { token: string | null; promise: Promise<Campaign[]> } | null = null;
const listeners = new Set<(items: Campaign[]) => void>();

export const FRESH_MS = 8_000;

/** All campaigns; `onPage` sees the partial list after each page of a fresh load. */
export function allCampaigns(opts: { maxAge?: number; onPage?: (items: Campaign[]) => void } = {}): Promise<Campaign[]> {
  const { maxAge = FRESH_MS, onPage } = opts;
  const token = currentToken();
  if (cache && cache.token === token && Date.now() - cache.at < maxAge) return Promise.resolve(cache.items);
  if (onPage) listeners.add(onPage);
  if (!inflight || inflight.token !== token) {
    const mine: { token: string | null; promise: Promise<Campaign[]> } = {
      token,
      promise: getAll<Campaign, '/api/campaigns'>('/api/campaigns', {
        onPage: (items) => listeners.forEach((l) => l(items)),
      })
        .then((items) => {
          cache = { at: Date.now(), token, items };
          return items;
        })
        .finally(() => {
          if (inflight === mine) {
            inflight = null;
            listeners.clear();
          }
        }),
    };
    inflight = mine;
  }
  return inflight.promise;
}

/** Drops the cached list (after creating or moving a campaign). */
export function invalidateCampaigns() {
  cache = null;
}

export function campaignName(list: Campaign[] | undefined, id: string | null | undefined): string {
  if (!id) return '—';
  return list?.find((c) => c.id === id)?.name ?? id;
}

/** Channels named by any campaign's plan, sorted. */
export function knownChannels(list: Campaign[] | undefined): string[] {
  const s = new Set<string>();
  for (const c of list ?? []) for (const ch of c.channels ?? []) s.add(ch.channel);
  return [...s].sort();
}
