// Exports in the dashboard: a campaign's report and audit log save as CSV files
// (fetched with the user's token, header row first), the trigger outbox too, and
// a user makes a private calendar feed URL that answers iCalendar until they
// turn it off.
import { readFileSync } from 'node:fs';
import type { Download, Locator, Page } from '@playwright/test';
import { expect, test } from '../support/fixtures';
import { Api, unique } from '../support/api';
import { join } from 'node:path';
import { go, screenshotDir, signIn } from '../support/ui';

/** Clicks the region's "Download CSV" and returns the file's name and text. */
async function download(page: Page, region: Locator): Promise<{ name: string; text: string }> {
  const [file]: [Download, void] = await Promise.all([
    page.waitForEvent('download'),
    region.getByRole('button', { name: /Download CSV/ }).first().click(),
  ]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
}

test('a campaign report, its audit log, a content audit trail and the trigger outbox download as CSV', async ({ page, request }) => {
  const api = new Api(request);
  const c = await api.campaign({ name: unique('Export campaign'), startIn: -1, days: 10 });
  await signIn(page, 'operations');
  await go(page, `/campaigns/${encodeURIComponent(c.id)}`);

  const report = await download(page, page.getByRole('region', { name: 'Objectives and pace' }));
  expect(report.name).toBe(`campaign-${c.id}-report.csv`);
  const lines = report.text.split('\r\n');
  expect(lines[0]).toBe(
    'campaign_id,section,name,metric,target,actual,percent_achieved,deadline,deadline_passed,met,pace_status,expected_fraction,achieved_fraction,planned,budget_minor,budget_used_percent',
  );
  expect(lines.some((l) => l.startsWith(`${c.id},kpi,`))).toBeTruthy();

  const audit = await download(page, page.getByRole('region', { name: 'Audit timeline' }));
  expect(audit.name).toBe(`campaign-${c.id}-audit.csv`);
  expect(audit.text.split('\r\n')[0]).toBe('seq,at,actor,action,detail');
  expect(audit.text).toContain('campaign.created');

  // A content item's audit trail, in its (closed) details.
  const item = await api.content(c.id, { title: unique('Export teaser'), due: c.start });
  await go(page, `/content/${encodeURIComponent(item.id)}`);
  const trail = page.locator('details.content-audit');
  await trail.locator('summary').click();
  const content = await download(page, trail);
  expect(content.name).toBe(`content-${item.id}-audit.csv`);
  expect(content.text.split('\r\n')[0]).toBe('seq,at,actor,action,detail');
  expect(content.text.split('\r\n').filter(Boolean).length, 'a header and the creation entry').toBeGreaterThan(1);

  await go(page, '/monitoring');
  const outbox = await download(page, page.getByRole('region', { name: 'Trigger outbox' }));
  expect(outbox.name).toBe('triggers.csv');
  expect(outbox.text.split('\r\n')[0]).toMatch(/^id,/);
});

test('a calendar feed URL answers iCalendar until it is replaced or turned off', async ({ page, request }) => {
  await signIn(page, 'brand');
  await go(page, '/calendar');
  const feed = page.getByRole('region', { name: 'Subscribe in a calendar app' });
  const make = feed.getByRole('button', { name: /Create feed URL|Make a new URL/ });
  await expect(make).toBeVisible();
  await feed.getByRole('checkbox', { name: 'email' }).check();
  await make.click();
  const field = feed.getByLabel(/Your feed URL/);
  await expect(field).toHaveValue(/\/api\/content\/calendar\/feed\//);
  // The URL carries the configured public base; the test server's port may differ.
  await feed.screenshot({ path: join(screenshotDir(), 'calendar-feed-1280.png') });
  const first = new URL(await field.inputValue()).pathname;
  const ics = await request.get(first);
  expect(ics.status()).toBe(200);
  expect(ics.headers()['content-type']).toContain('text/calendar');
  expect(await ics.text()).toContain('BEGIN:VCALENDAR');

  await feed.getByRole('button', { name: 'Make a new URL' }).click();
  await expect(feed.getByText('A new URL is made; the old one no longer answers.')).toBeVisible();
  const second = new URL(await field.inputValue()).pathname;
  expect(second).not.toBe(first);
  expect((await request.get(first)).status()).toBe(404);
  expect((await request.get(second)).status()).toBe(200);

  await feed.getByRole('button', { name: 'Turn off' }).click();
  await expect(feed.getByText('The feed is off: its URL no longer answers.')).toBeVisible();
  await expect(feed.getByLabel(/Your feed URL/)).toHaveCount(0);
  expect((await request.get(second)).status()).toBe(404);
});
