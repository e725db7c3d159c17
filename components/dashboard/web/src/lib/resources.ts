// The resource list, shared by the views that show resource names: one load in
// flight at a time, reused for a few seconds, per signed-in token.
import { currentToken, getAll } from '../api/client';
import type { Resource } from '../api/types';

let cache: { at: number; token: string | null; items: Resource[] } | null = null;
let inflight: { token: string | null; promise: Promise<Resource[]> } | null = null;

export function allResources(maxAge = 8_000): Promise<Resource[]> {
  const token = currentToken();
  if (cache && cache.token === token && Date.now() - cache.at < maxAge) return Promise.resolve(cache.items);
  if (!inflight || inflight.token !== token) {
    const mine = {
      token,
      promise: getAll<Resource, '/api/resources'>('/api/resources')
        .then((items) => {
          cache = { at: Date.now(), token, items };
          return items;
        })
        .finally(() => {
          if (inflight === mine) inflight = null;
        }),
    };
    inflight = mine;
  }
  return inflight.promise;
}
