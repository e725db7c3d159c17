// Hostile data renders inert: markup in a campaign name, a content title and
// body shows as text on every view that renders it — no dialog opens, no
// request goes to the injected image URL, no element is created from it.
import { expect, test } from '../support/fixtures';
import { Api, unique } from '../support/api';
import { go, signIn } from '../support/ui';

const NAME = '<img src=x onerror=alert(1)>';
const TITLE = '<script>alert("title")</script> Launch';
const BODY = '<b>bold</b> <img src=x onerror=alert(2)> <a href="javascript:alert(3)">click</a> <svg onload=alert(4)>';

test('markup in campaign names and content shows as text and never runs', async ({ page, request }) => {
  const api = new Api(request);
  const tag = unique('hostile');
  const c = await api.campaign({ name: `${NAME} ${tag}` });
  const item = await api.content(c.id, {
    title: `${TITLE} ${tag}`,
    body: `${BODY} https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring`,
  });

  const dialogs: string[] = [];
  const injected: string[] = [];
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/x' || u.pathname.endsWith('/x') || u.protocol === 'javascript:') injected.push(r.url());
  });

  await signIn(page, 'marketing');

  // The board: the card shows the name as text.
  await page.getByRole('searchbox', { name: 'Search' }).fill(tag);
  const card = page.getByRole('link', { name: `${NAME} ${tag}` });
  await expect(card).toBeVisible();
  await expect(card).toHaveText(`${NAME} ${tag}`);

  // The campaign page: heading and content list.
  await card.click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`${NAME} ${tag}`);
  await expect(page.getByRole('link', { name: `${TITLE} ${tag}` })).toBeVisible();

  // The content page: title and body as text.
  await go(page, `/content/${encodeURIComponent(item.id)}`);
  await expect(page.getByRole('heading', { level: 2 })).toHaveText(`${TITLE} ${tag}`);
  await expect(page.getByText('<b>bold</b> <img src=x onerror=alert(2)>')).toBeVisible();

  // Lists that name the campaign: resources (allocation form), monitoring (rule form).
  await go(page, '/resources');
  await expect(page.getByRole('heading', { level: 1, name: 'Resources' })).toBeVisible();
  await go(page, '/inbox?tab=mine');
  await expect(page.getByRole('link', { name: `${TITLE} ${tag}` })).toBeVisible();
  await expect(page.getByText(`${NAME} ${tag}`).first()).toBeVisible();

  // Nothing was created from the markup, nothing ran, nothing was fetched.
  await page.waitForTimeout(500);
  await expect(page.locator('img[src="x"], svg[onload], script:not([src])')).toHaveCount(0);
  await expect(page.locator('b', { hasText: 'bold' })).toHaveCount(0);
  expect(dialogs).toEqual([]);
  expect(injected).toEqual([]);
});
