// Four people take a campaign from planning to distribution entirely in the UI:
// mia (marketing) creates it, olga (operations) allocates a person and moves it
// to production, mia writes and submits the email, bree (brand), cole
// (compliance) and olga (operations) approve it in turn, and the gate opens.
import type { Page } from '@playwright/test';
import { expect, test } from '../support/fixtures';
import { Api, day, unique, USERS } from '../support/api';
import { go, signIn, signOut } from '../support/ui';

async function openCampaign(page: Page, name: string) {
  await go(page, '/');
  await page.getByRole('searchbox', { name: 'Search' }).fill(name);
  await page.getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

async function approveInInbox(page: Page, title: string) {
  await go(page, '/inbox');
  await expect(page.getByRole('link', { name: 'Waiting for me' })).toHaveAttribute('aria-current', 'page');
  await page.getByRole('link', { name: title }).click();
  const actions = page.getByRole('region', { name: 'Actions' });
  await actions.getByRole('button', { name: 'Approve' }).click();
  await expect(actions.getByRole('status')).toHaveText(/Approved\./);
}

test('four people take a campaign from planning to distribution in the UI', async ({ page, request }) => {
  const api = new Api(request);
  const name = unique('Spring launch');
  const person = await api.resource(unique('Ann'));
  const first = day(20);
  const last = day(22);

  // Mia (marketing) creates the campaign.
  await signIn(page, 'marketing');
  await page.getByRole('button', { name: 'New campaign' }).click();
  const form = page.getByRole('form', { name: 'New campaign' });
  await form.getByLabel('Campaign name').fill(name);
  await form.getByLabel('Operations owner').fill(USERS.operations);
  await form.getByLabel('First day').fill(first);
  await form.getByLabel('Last day').fill(last);
  await form.getByLabel('Target 1').fill('500');
  await form.getByLabel('Deadline 1').fill(day(23));
  await form.getByLabel('Channel 1', { exact: true }).fill('email');
  await form.getByLabel('Budget 1').fill('1000');
  await form.getByLabel('Sends per day 1').fill('2000');
  await form.getByRole('button', { name: 'Create campaign' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByText('Gate closed')).toBeVisible();
  await signOut(page);

  // Olga (operations) allocates a person for every schedule day and moves it to production.
  await signIn(page, 'operations');
  await openCampaign(page, name);
  await page.getByRole('button', { name: 'Allocate a resource' }).click();
  const alloc = page.getByRole('form', { name: 'New allocation' });
  await alloc.getByLabel('Resource').selectOption({ label: `${person.name} (person, 8/day)` });
  await expect(alloc.getByLabel('From')).toHaveValue(first);
  await expect(alloc.getByLabel('To')).toHaveValue(last);
  await alloc.getByLabel('Amount per day').fill('6');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  await expect(alloc.getByText('Allocation created.')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Resource allocations' }).getByRole('rowheader', { name: person.name })).toBeVisible();
  await expect(page.getByText('Gate open')).toBeVisible();
  await page.getByRole('button', { name: 'Move to Production' }).click();
  await expect(page.getByText('Moved to Production.')).toBeVisible();
  await expect(page.getByRole('list', { name: 'Stages' }).getByText('Production')).toBeVisible();
  await signOut(page);

  // Mia asks for distribution too early: the refusal lists the unmet items.
  await signIn(page, 'marketing');
  await openCampaign(page, name);
  await page.getByRole('button', { name: 'Move to Distribution' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: 'The API refused this' });
  await expect(refusal).toBeVisible();
  await expect(refusal.getByRole('list', { name: 'Unmet' })).toContainText('channel_without_content');

  // She writes the email and submits it.
  const title = unique('Spring sale email');
  const link = 'https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring';
  await page.getByRole('button', { name: 'New content' }).click();
  const cf = page.getByRole('form', { name: 'New content' });
  await cf.getByLabel('Title').fill(title);
  await cf.getByLabel('Subject').fill('Spring is here');
  await cf.getByLabel('Body').fill(`Shop now: ${link}`);
  await cf.getByLabel('Links').fill(link);
  await cf.getByRole('button', { name: 'Save draft' }).click();
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: title }) });
  await expect(row.getByText('Draft')).toBeVisible();
  await row.getByRole('button', { name: `Submit “${title}” for review` }).click();
  await expect(row.getByText('In review')).toBeVisible();

  // The author sees no approve button on her own item.
  await row.getByRole('link', { name: title }).click();
  await expect(page.getByRole('heading', { level: 2, name: title })).toBeVisible();
  const contentUrl = new URL(page.url()).pathname;
  const contentId = decodeURIComponent(contentUrl.split('/').pop() ?? '');
  await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);

  // A forced decision by the author is refused by the API…
  const forced = await api.raw('POST', `/api/content/${contentId}/decisions`, 'marketing', { outcome: 'approve' });
  expect(forced.status()).toBe(403);
  const problem = await forced.json();
  expect(problem.detail).toBeTruthy();
  await signOut(page);

  // Bree (brand) approves; when a decision request goes out as the author
  // (the bearer swapped on the wire), the UI shows the API's refusal.
  await signIn(page, 'brand');
  await go(page, '/inbox');
  await page.getByRole('link', { name: title }).click();
  const actions = page.getByRole('region', { name: 'Actions' });
  await expect(actions.getByRole('button', { name: 'Approve' })).toBeVisible();
  await page.route(`**/api/content/${contentId}/decisions`, async (route) => {
    const headers = { ...route.request().headers(), authorization: 'Bearer marketing-token' };
    await route.continue({ headers });
  });
  await actions.getByRole('button', { name: 'Approve' }).click();
  const refused = actions.getByRole('alert');
  await expect(refused).toContainText('The API refused this');
  await expect(refused).toContainText(problem.detail);
  await expect(refused).toContainText('403');
  await page.unroute(`**/api/content/${contentId}/decisions`);
  await actions.getByRole('button', { name: 'Approve' }).click();
  await expect(actions.getByRole('status')).toHaveText(/Approved\./);
  await signOut(page);

  // Cole (compliance), then Olga (operations).
  await signIn(page, 'compliance');
  await approveInInbox(page, title);
  await signOut(page);
  await signIn(page, 'operations');
  await approveInInbox(page, title);
  await expect(page.getByRole('region', { name: 'Review progress' })).toContainText('Approved');

  // The gate opens and Olga moves the campaign to distribution.
  await openCampaign(page, name);
  await expect(page.getByText('Gate open')).toBeVisible();
  await expect(page.getByRole('row').filter({ hasText: title }).getByText('Approved')).toBeVisible();
  await page.getByRole('button', { name: 'Move to Distribution' }).click();
  await expect(page.getByText('Moved to Distribution.')).toBeVisible();
  await expect(page.getByRole('list', { name: 'Stages' }).locator('[aria-current="step"]')).toContainText('Distribution');
  const timeline = page.getByRole('list', { name: 'Audit entries, newest first' });
  await expect(timeline).toContainText('campaign.transitioned');
  await expect(timeline).toContainText(USERS.operations);
});
