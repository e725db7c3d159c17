// The Process view against the real API: a small history seeded for one
// campaign (it leaves planning; one content item approved by brand, compliance
// and operations, one sent back for changes, one waiting for brand), then the
// view filtered to that campaign shows those figures: the stage sample, the
// reviewers, the item waiting in the queue and a rework share of 50 %. One
// table downloads as CSV; screenshots at 1280 and 390 px.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download, Locator, Page } from '@playwright/test';
import { expect, test, watch } from '../support/fixtures';
import { Api, day, unique } from '../support/api';
import { go, screenshotDir, signIn } from '../support/ui';

type Seeded = { id: string; name: string };

/** Waits, so the seeded durations are whole seconds above zero (the charts draw bars). */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let seeded: Seeded;

/** The figures the API answers for the seeded campaign (for the view's own checks). */
async function figures(api: Api, campaignId: string) {
  return api.get(`/api/analytics/process?campaign_id=${encodeURIComponent(campaignId)}`, 'viewer');
}

test.beforeAll(async ({ request }) => {
  const api = new Api(request);
  // Planning → production after a couple of seconds: one sample of time in planning.
  const c = await api.campaign({ name: unique('Process campaign'), startIn: 10, days: 3 });
  const person = await api.resource();
  await api.allocate(person.id, c.id, c.start, c.last, 4);
  await pause(2_100);
  await api.post(`/api/campaigns/${c.id}/transitions`, 'operations', { target: 'production' });

  const approved = await api.content(c.id, { title: unique('Process approved'), due: day(5) });
  await api.post(`/api/content/${approved.id}/submit`, 'marketing');
  await pause(1_100);
  for (const who of ['brand', 'compliance', 'operations'] as const) {
    await api.post(`/api/content/${approved.id}/decisions`, who, { outcome: 'approve' });
  }

  const reworked = await api.content(c.id, { title: unique('Process reworked'), due: day(5) });
  await api.post(`/api/content/${reworked.id}/submit`, 'marketing');
  await api.post(`/api/content/${reworked.id}/decisions`, 'brand', { outcome: 'request_changes', comment: 'Softer subject line, please.' });

  const waiting = await api.content(c.id, { title: unique('Process waiting'), due: day(5) });
  await api.post(`/api/content/${waiting.id}/submit`, 'marketing');

  seeded = { id: c.id, name: c.name };

  // The API counts what was seeded (the rollups are written as events happen).
  await expect
    .poll(async () => {
      const p = await figures(api, c.id);
      return {
        planning: p.stages.find((s: { stage: string }) => s.stage === 'planning')?.count ?? 0,
        brandWaiting: p.approvals.queue.find((q: { stage: string }) => q.stage === 'brand')?.waiting ?? 0,
        reviewed: p.rework.items_reviewed,
        reworked: p.rework.items_reworked,
        reviewers: p.approvals.by_reviewer.map((r: { key: string }) => r.key).sort(),
      };
    }, { timeout: 30_000 })
    .toEqual({ planning: 1, brandWaiting: 1, reviewed: 2, reworked: 1, reviewers: ['bree', 'cole', 'olga'] });
});

/** The data table of `region` (not a chart's legend) with a row headed `name`, and that row. */
function row(region: Locator, name: string): { table: Locator; row: Locator } {
  const heading = region.page().getByRole('rowheader', { name, exact: true });
  const table = region.locator('table:not(.u-legend)').filter({ has: heading }).first();
  return { table, row: table.getByRole('row').filter({ has: heading }) };
}

/** The cell of the row under the column headed `column`. */
async function cell(r: { table: Locator; row: Locator }, column: string): Promise<Locator> {
  await expect(r.row).toHaveCount(1);
  const headers = await r.table.getByRole('columnheader').allInnerTexts();
  const at = headers.findIndex((h) => h.trim() === column);
  expect(at, `a “${column}” column in ${headers.join(' | ')}`).toBeGreaterThanOrEqual(0);
  return r.row.getByRole('cell').or(r.row.getByRole('rowheader')).nth(at);
}

async function openSeeded(page: Page) {
  await go(page, `/process?campaign_id=${encodeURIComponent(seeded.id)}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Process' })).toBeVisible();
  await expect(page.getByText(/^Updated \d\d:\d\d:\d\d$/)).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: /Loading|Drawing/ })).toHaveCount(0, { timeout: 30_000 });
}

test('the Process view shows the figures of a seeded campaign, and a table downloads as CSV', async ({ page, request }) => {
  await signIn(page, 'viewer');
  const nav = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Process', exact: true });
  await expect(nav).toBeVisible();
  await openSeeded(page);
  await expect(nav).toHaveAttribute('aria-current', 'page');
  // The filter is in the URL and in the campaign picker.
  await expect(page.getByLabel('Campaign', { exact: true })).toHaveValue(seeded.id);
  await expect(page.getByLabel('Campaign', { exact: true }).locator('option:checked')).toHaveText(seeded.name);

  // Time in campaign stages: the one sample of planning.
  const stages = page.getByRole('region', { name: 'Time in campaign stages', exact: true });
  const planning = row(stages, 'Planning');
  await expect(planning.row).toHaveCount(1);
  await expect(await cell(planning, 'Samples')).toHaveText('1');
  await expect(await cell(planning, 'Team')).toHaveText('Marketing');
  await expect(stages.locator('canvas').first()).toBeVisible();

  // Reviewers: bree decided twice (an approval and a request for changes), cole and olga once.
  const reviewers = page.getByRole('region', { name: 'Turnaround by reviewer', exact: true });
  for (const [who, n] of [
    ['bree', '2'],
    ['cole', '1'],
    ['olga', '1'],
  ] as const) {
    const r = row(reviewers, who);
    await expect(r.row).toHaveCount(1);
    await expect(await cell(r, 'Samples')).toHaveText(n);
    await expect(await cell(r, 'Median')).toHaveText(/^(\d+ s|\d+ min|\d+ h( \d+ min)?)$/);
  }

  // The queue: the item waiting for brand.
  const queue = page.getByRole('region', { name: 'Review queue now', exact: true });
  const brand = row(queue, 'Brand');
  await expect(await cell(brand, 'Waiting')).toHaveText('1');
  await expect(page.getByRole('region', { name: 'At a glance', exact: true }).getByRole('listitem').filter({ hasText: 'Decisions waiting now' })).toContainText(
    /Decisions waiting now\s*1\s*oldest waiting/,
  );

  // Rework: one of the two reviewed items.
  const rework = page.getByRole('region', { name: 'Rework', exact: true });
  await expect(rework).toContainText('50%');
  await expect(rework).toContainText('1 of 2 reviewed items');
  await expect(page.getByRole('region', { name: 'At a glance', exact: true }).getByRole('listitem').filter({ hasText: /^Rework/ })).toContainText('50%');

  // No rule fired for this campaign: the effects (GET /api/analytics/effects) say so.
  await expect(page.getByRole('region', { name: 'Effects of actions', exact: true })).toContainText('No automated action succeeded in this period.');
  await expect(page.getByRole('region', { name: 'Trigger funnel', exact: true })).toContainText('No rule fired in this period.');

  // What the view shows is what the API answers, durations in words.
  const api = new Api(request);
  const p = await figures(api, seeded.id);
  const inPlanning = p.stages.find((s: { stage: string }) => s.stage === 'planning');
  expect(inPlanning.median_seconds, 'at least the pause before the transition').toBeGreaterThanOrEqual(2);
  await expect(await cell(planning, 'Median')).toHaveText(
    inPlanning.median_seconds < 60 ? `${inPlanning.median_seconds} s` : /^\d+ min$/,
  );
  const approvals = page.getByRole('region', { name: 'Turnaround by approval step', exact: true });
  for (const s of p.approvals.by_stage.filter((x: { count: number }) => x.count > 0)) {
    const r = row(approvals, s.key.charAt(0).toUpperCase() + s.key.slice(1).replace(/_/g, ' '));
    await expect(await cell(r, 'Samples')).toHaveText(String(s.count));
  }

  // One table as CSV: the reviewers, with the view's filter.
  const [file]: [Download, void] = await Promise.all([
    page.waitForEvent('download'),
    reviewers.getByRole('button', { name: /Download CSV/ }).click(),
  ]);
  expect(file.suggestedFilename()).toBe('process-reviewers.csv');
  const lines = readFileSync(await file.path(), 'utf8').split('\r\n');
  expect(lines[0]).toBe('reviewer,count,median_seconds,p90_seconds,max_seconds,total_seconds');
  expect(lines.filter((l) => /^(bree|cole|olga),/.test(l))).toHaveLength(3);
});

test('the seeded Process view at 1280 and 390 px', async ({ browser }) => {
  const dir = screenshotDir();
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const context = await browser.newContext({ viewport: size });
    const page = await context.newPage();
    const problems = watch(page);
    await signIn(page, 'operations');
    await openSeeded(page);
    await expect(page.locator('canvas').first()).toBeVisible();
    // Nothing wider than the phone's screen but the tables' own scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, 'no page-wide horizontal scrolling').toBeLessThanOrEqual(0);
    await page.waitForTimeout(200);
    await page.screenshot({ path: join(dir, `process-seeded-${size.width}.png`), fullPage: true });
    await context.close();
    expect(problems, 'no uncaught errors or CSP violations').toEqual([]);
  }
});
