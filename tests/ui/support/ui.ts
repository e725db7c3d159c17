// Driving the dashboard as a person does: by role, label and visible text.
import { expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKENS, USERS, type Who } from './api';

/** Signs in on the sign-in form (from any page of the app) and waits for the header. */
export async function signIn(page: Page, who: Who, path = '/') {
  await page.goto(path);
  const field = page.getByLabel('API token');
  const signOutButton = page.getByRole('button', { name: 'Sign out' });
  await expect(field.or(signOutButton)).toBeVisible();
  if (await signOutButton.isVisible()) {
    // Someone is signed in already in this tab: sign out first.
    await signOutButton.click();
  }
  await field.fill(TOKENS[who]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('banner')).toContainText(`Signed in as ${USERS[who]}`);
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByLabel('API token')).toBeVisible();
}

/** Client-side navigation to `path` (like following a link), keeping the session of this tab. */
export async function go(page: Page, path: string) {
  await page.evaluate((p) => {
    window.history.pushState(null, '', p);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, path);
}

/** Where screenshots go: $OPSFLOW_SCREENSHOTS, else target/ui-screenshots at the repository root. */
export function screenshotDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = process.env.OPSFLOW_SCREENSHOTS || resolve(join(here, '..', '..', '..', 'target', 'ui-screenshots'));
  mkdirSync(dir, { recursive: true });
  return dir;
}
