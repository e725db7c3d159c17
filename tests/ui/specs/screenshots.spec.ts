// Screenshots of every view at desktop (1280×800) and phone (390×844) widths,
// saved as $OPSFLOW_SCREENSHOTS/<view>-<width>.png for review.
import { expect, test, watch } from '../support/fixtures';
import { join } from 'node:path';
import { Api } from '../support/api';
import { seedShowcase, type Showcase } from '../support/seed';
import { screenshotDir } from '../support/ui';
import { visitEveryView } from '../support/views';

let showcase: Showcase;

test.beforeAll(async ({ request }) => {
  showcase = await seedShowcase(new Api(request));
});

for (const size of [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]) {
  test(`every view at ${size.width}×${size.height}`, async ({ browser }) => {
    const dir = screenshotDir();
    const context = await browser.newContext({ viewport: size });
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto('/');
    await expect(page.getByLabel('API token')).toBeVisible();
    await page.screenshot({ path: join(dir, `signin-${size.width}.png`), fullPage: true });
    await visitEveryView(page, showcase, async (view) => {
      if (view.name === 'campaign') await expect(page.locator('canvas').first()).toBeVisible();
      await page.waitForTimeout(200);
      await page.screenshot({ path: join(dir, `${view.name}-${size.width}.png`), fullPage: true });
    });
    await context.close();
    expect(problems, 'no uncaught errors or CSP violations').toEqual([]);
  });
}
