// Accessibility: axe-core finds no serious or critical violation on any view,
// and the main controls of each view are reachable with the keyboard alone,
// with a visible focus indicator.
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures';
import { Api } from '../support/api';
import { seedShowcase, type Showcase } from '../support/seed';
import { signIn } from '../support/ui';
import { visitEveryView } from '../support/views';

let showcase: Showcase;

test.beforeAll(async ({ request }) => {
  showcase = await seedShowcase(new Api(request));
});

async function seriousViolations(page: Page) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
}

test('axe finds no serious or critical violation on any view', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByLabel('API token')).toBeVisible();
  expect(await seriousViolations(page), 'sign-in').toEqual([]);
  await visitEveryView(page, showcase, async (view) => {
    expect(await seriousViolations(page), view.name).toEqual([]);
  });
});

type Focused = { name: string; role: string; tag: string; outline: string };

function matches(f: Focused, n: string | RegExp) {
  return typeof n === 'string' ? f.name.includes(n) : n.test(f.name);
}

/** Presses Tab until every one of `wanted` has had focus (at most `max` times); returns what received focus, in order. */
async function tabThrough(page: Page, wanted: (string | RegExp)[], max = 250): Promise<Focused[]> {
  const seen: Focused[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const label =
        el.getAttribute('aria-label') ||
        (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent) ||
        el.closest('label')?.textContent ||
        el.textContent ||
        (el as HTMLInputElement).placeholder ||
        '';
      const style = getComputedStyle(el);
      return {
        name: label.replace(/\s+/g, ' ').trim(),
        role: el.getAttribute('role') || el.tagName.toLowerCase(),
        tag: el.tagName.toLowerCase(),
        outline: `${style.outlineStyle} ${style.outlineWidth}`,
      };
    });
    if (f) seen.push(f);
    if (wanted.every((n) => seen.some((x) => matches(x, n)))) break;
  }
  return seen;
}

function expectReached(seen: Focused[], names: (string | RegExp)[]) {
  for (const n of names) {
    const hit = seen.find((f) => matches(f, n));
    expect(hit, `keyboard focus reaches “${n}” (reached: ${seen.map((s) => s.name).join(' | ')})`).toBeTruthy();
    // A visible focus indicator on it.
    expect(hit?.outline, `visible focus on “${n}”`).not.toMatch(/^none/);
  }
}

test('every main control is reachable by keyboard, with visible focus', async ({ page }) => {
  await signIn(page, 'marketing');
  await expect(page.getByText(/^Updated \d/).first()).toBeVisible();
  await page.getByRole('searchbox', { name: 'Search' }).fill(showcase.tag);
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('Escape');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());

  // The board.
  const boardWanted = [
    'Skip to content',
    'Campaigns',
    'Approval inbox',
    'Calendar',
    'Resources',
    'Monitoring',
    'Sign out',
    'New campaign',
    'Search',
    'Owner',
    'Stage',
    'Show completed and cancelled',
    `Holiday launch ${showcase.tag}`,
  ];
  const board = await tabThrough(page, boardWanted);
  expectReached(board, boardWanted);

  // Enter on the focused card opens the campaign; its main controls are reachable.
  await page.getByRole('link', { name: `Holiday launch ${showcase.tag}` }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: `Holiday launch ${showcase.tag}` })).toBeVisible();
  await expect(page.getByText('Gate closed')).toBeVisible();
  await expect(page.getByRole('link', { name: /Holiday teaser/ })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /Loading/ })).toHaveCount(0);
  const detailWanted = ['Move to Production', 'Cancel campaign', 'Last 24 hours, hourly', 'New content', /Holiday teaser/];
  const detail = await tabThrough(page, detailWanted);
  expectReached(detail, detailWanted);

  // The inbox: a reviewer reaches the decision controls by keyboard.
  await signIn(page, 'brand', `/inbox/${encodeURIComponent(showcase.inReviewId)}`);
  await expect(page.getByRole('button', { name: 'Approve' })).toBeVisible();
  const inboxWanted = ['Waiting for me', 'All in review', 'Comment', 'Approve', 'Request changes'];
  const inbox = await tabThrough(page, inboxWanted);
  expectReached(inbox, inboxWanted);

  // Monitoring and resources: filters and actions.
  await signIn(page, 'operations', '/monitoring');
  await expect(page.getByText(/^Updated \d/).first()).toBeVisible();
  const monitoringWanted = ['Status', 'Reason sent with your next decision', 'Alert state', 'New rule'];
  const monitoring = await tabThrough(page, monitoringWanted);
  expectReached(monitoring, monitoringWanted);
  await signIn(page, 'operations', '/resources');
  await expect(page.getByText(/^Updated \d/).first()).toBeVisible();
  const resourcesWanted = ['Earlier', 'From today', 'Later', 'Start day', 'Days shown', 'Propose a rebalance', 'Allocate a resource to a campaign'];
  const resources = await tabThrough(page, resourcesWanted);
  expectReached(resources, resourcesWanted);
});
