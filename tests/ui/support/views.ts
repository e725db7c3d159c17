// Every view of the dashboard, at a URL over the showcase data, and how to
// tell it has finished loading.
import { expect, type Page } from '@playwright/test';
import { day, type Who } from './api';
import type { Showcase } from './seed';
import { go, signIn } from './ui';

export type View = { name: string; who: Who; path: (s: Showcase) => string; heading: RegExp | string };

export const VIEWS: View[] = [
  { name: 'board', who: 'operations', path: () => '/', heading: 'Campaigns' },
  { name: 'campaign', who: 'operations', path: (s) => `/campaigns/${encodeURIComponent(s.campaignId)}`, heading: /Holiday launch/ },
  { name: 'inbox', who: 'brand', path: (s) => `/inbox/${encodeURIComponent(s.inReviewId)}`, heading: 'Approval inbox' },
  { name: 'content', who: 'operations', path: (s) => `/content/${encodeURIComponent(s.scheduledId)}`, heading: /Holiday teaser/ },
  // Anchored on tomorrow, the day of the showcase's scheduled send.
  { name: 'calendar', who: 'operations', path: () => `/calendar?date=${day(1)}`, heading: 'Content calendar' },
  { name: 'calendar-month', who: 'operations', path: () => `/calendar?view=month&date=${day(1)}`, heading: 'Content calendar' },
  { name: 'resources', who: 'operations', path: () => '/resources', heading: 'Resources' },
  { name: 'monitoring', who: 'operations', path: () => '/monitoring', heading: 'Monitoring' },
  { name: 'process', who: 'operations', path: () => '/process', heading: 'Process' },
];

/** Opens `view` (already signed in) and waits until its data is shown. */
export async function openView(page: Page, view: View, s: Showcase) {
  await go(page, view.path(s));
  await expect(page.getByRole('heading', { name: view.heading }).first()).toBeVisible();
  await expect(page.getByText(/^Updated \d\d:\d\d:\d\d$/).first()).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /Loading|Checking|Drawing/ })).toHaveCount(0, { timeout: 30_000 });
}

/**
 * Opens every view in turn (signing in as its user, again only when the user
 * changes) and calls `each` once it has loaded.
 */
export async function visitEveryView(page: Page, s: Showcase, each: (view: View) => Promise<void>) {
  let who: Who | null = null;
  for (const view of VIEWS) {
    if (who !== view.who) {
      await signIn(page, view.who);
      who = view.who;
    }
    await openView(page, view, s);
    await each(view);
  }
}
