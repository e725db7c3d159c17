// Sign-in state: the API token lives in sessionStorage only (never
// localStorage, never a URL), checked with GET /api/me. The roles decide which
// actions the views offer; the API still authorises every request.
import { signal, computed } from '@preact/signals';
import { ApiError, configureClient, forgetCache, request, type Problem } from './api/client';
import type { Me } from './api/types';

const KEY = 'opsflow.token';

function stored(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export const token = signal<string | null>(stored());
export const me = signal<Me | null>(null);
/** Why the user was signed out, shown on the sign-in form. */
export const signOutReason = signal<string | null>(null);

export type Role = 'marketing' | 'operations' | 'brand_reviewer' | 'compliance_reviewer' | 'admin' | 'viewer';

export const roles = computed(() => new Set((me.value?.roles ?? []) as string[]));

/** Whether the signed-in user has one of `wanted` (admin may do everything). */
export function can(...wanted: Role[]): boolean {
  const r = roles.value;
  return r.has('admin') || wanted.some((w) => r.has(w));
}

export const ROLE_LABELS: Record<string, string> = {
  marketing: 'Marketing',
  operations: 'Operations',
  brand_reviewer: 'Brand reviewer',
  compliance_reviewer: 'Compliance reviewer',
  admin: 'Admin',
  viewer: 'Viewer',
};

configureClient(
  () => token.value,
  (p: Problem, used: string | null) => {
    // Only the session whose token was refused ends (not one that signed in since).
    if (token.value && used === token.value) signOut(`Signed out: ${p.detail}`);
  },
);

/** Checks `candidate` with GET /api/me; on success keeps it for this tab. */
export async function signIn(candidate: string): Promise<Me> {
  const t = candidate.trim();
  const { data } = await request('get', '/api/me', {}, t);
  try {
    sessionStorage.setItem(KEY, t);
  } catch {
    /* private mode: the token lives in memory only */
  }
  forgetCache();
  signOutReason.value = null;
  token.value = t;
  me.value = data;
  return data;
}

/** Restores the session of this tab, if its token still works. */
export async function restore(): Promise<void> {
  const t = token.value;
  if (!t) return;
  try {
    me.value = (await request('get', '/api/me', {}, t)).data;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut('Your token is no longer accepted. Sign in again.');
    else throw e;
  }
}

export function signOut(reason: string | null = null) {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
  forgetCache();
  token.value = null;
  me.value = null;
  signOutReason.value = reason;
}
