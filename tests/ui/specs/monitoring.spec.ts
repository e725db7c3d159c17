// The monitoring loop: olga creates a requires-approval rule in the UI, posted
// metrics breach it, an evaluation run (as the scheduler) fires a trigger that
// waits in the outbox, the requester is not offered approval, a second operator
// (omar) approves it in the UI, dispatch executes it, and the campaign's audit
// timeline shows the approval and the automated execution.
import { expect, test } from '../support/fixtures';
import { Api, unique, unixNow, USERS } from '../support/api';
import { go, signIn, signOut } from '../support/ui';

test('a breach fires a trigger that a second operator approves in the UI, and the audit shows it', async ({ page, request }) => {
  const api = new Api(request);
  const c = await api.campaign({ name: unique('Bounce watch campaign'), startIn: -1, days: 30 });
  const ruleName = unique('Bounces on');

  // Olga creates the rule in the UI.
  await signIn(page, 'operations');
  await go(page, '/monitoring');
  await page.getByRole('button', { name: 'New rule' }).click();
  const form = page.getByRole('form', { name: 'New rule' });
  await form.getByLabel('Rule name', { exact: true }).fill(ruleName);
  await form.getByLabel('Category', { exact: true }).selectOption('distribution_success');
  await form.getByLabel('Scope', { exact: true }).selectOption('campaign');
  await form.getByLabel('Campaign', { exact: true }).selectOption({ label: c.name });
  await form.getByLabel('Metric', { exact: true }).selectOption('ratio');
  await form.getByLabel('Numerator metrics', { exact: true }).fill('bounced');
  await form.getByLabel('Denominator metrics', { exact: true }).fill('sent');
  await form.getByLabel('Window (hours)', { exact: true }).fill('2');
  await form.getByLabel('Comparator', { exact: true }).selectOption('gt');
  await form.getByLabel('Fire threshold', { exact: true }).fill('0.1');
  await form.getByLabel('Clear threshold', { exact: true }).fill('0.05');
  await form.getByLabel('Action', { exact: true }).selectOption('content_refresh');
  await form.getByLabel('Approval', { exact: true }).selectOption('requires_approval');
  await form.getByRole('button', { name: 'Create rule' }).click();
  const rules = page.getByRole('region', { name: 'Rules' });
  await expect(rules.getByRole('rowheader', { name: ruleName })).toBeVisible();
  await signOut(page);

  // Metrics breach the rule; the scheduler's evaluation run fires it.
  const now = unixNow();
  await api.post(`/api/campaigns/${c.id}/metrics`, 'operations', {
    samples: [
      { id: `${c.id}-s1`, kind: 'sent', value: 10, at: now - 60, channel: 'email' },
      { id: `${c.id}-s2`, kind: 'bounced', value: 5, at: now - 60, channel: 'email' },
    ],
  });
  let tick = now;
  for (let i = 0; i < 10; i++) {
    // A 409 means another run (the cron scheduler) claimed this `now`: try a later one.
    const r = await api.raw('POST', '/api/evaluations/run', 'scheduler', { now: tick });
    if (r.status() === 200) break;
    expect(r.status(), await r.text()).toBe(409);
    tick += 1;
    await page.waitForTimeout(1000);
  }
  let trigger: any;
  await expect
    .poll(
      async () => {
        const list = await api.get(`/api/triggers?campaign_id=${c.id}`);
        trigger = list.items.find((t: any) => t.rule_name === ruleName);
        return trigger?.status;
      },
      { timeout: 90_000, intervals: [1000] },
    )
    .toBe('awaiting_approval');
  expect(trigger.requested_by).toBe(USERS.scheduler);
  // Dispatch leaves it waiting for approval.
  await api.post('/api/triggers/dispatch', 'scheduler', { now: unixNow() });
  expect((await api.get(`/api/triggers/${trigger.id}`)).status).toBe('awaiting_approval');

  // The requester (the scheduler's principal) is not offered approval.
  await signIn(page, 'scheduler');
  await go(page, '/monitoring?status=awaiting_approval');
  const asRequester = page.getByRole('listitem').filter({ hasText: ruleName });
  await expect(asRequester).toContainText('Awaiting approval');
  await expect(asRequester).toContainText('You requested this run');
  await expect(asRequester.getByRole('button', { name: 'Approve trigger' })).toHaveCount(0);
  await signOut(page);

  // Omar, a second operator, approves it in the UI.
  await signIn(page, 'operations2');
  await go(page, '/monitoring');
  await page.getByLabel('Status').selectOption('awaiting_approval');
  const item = page.getByRole('listitem').filter({ hasText: ruleName });
  await expect(item).toContainText('Open a content refresh');
  await item.getByRole('button', { name: 'Approve trigger' }).click();
  await expect(page.getByRole('region', { name: 'Trigger outbox' }).getByRole('status')).toContainText('Approved');

  // Dispatch executes it (here or on the scheduler's next tick).
  await api.post('/api/triggers/dispatch', 'scheduler', { now: unixNow() + 1 });
  await expect
    .poll(async () => (await api.get(`/api/triggers/${trigger.id}`)).status, { timeout: 90_000, intervals: [1000] })
    .toBe('succeeded');
  await page.getByLabel('Status').selectOption('succeeded');
  await expect(page.getByRole('listitem').filter({ hasText: ruleName })).toContainText('Succeeded');
  await expect(page.getByRole('listitem').filter({ hasText: ruleName })).toContainText(`decided by`);

  // The campaign's audit timeline shows the approval (a person) and the execution (automated).
  await go(page, `/campaigns/${encodeURIComponent(c.id)}`);
  const timeline = page.getByRole('list', { name: 'Audit entries, newest first' });
  const approved = timeline.getByRole('listitem').filter({ hasText: 'trigger.approved' });
  await expect(approved).toContainText('Person');
  await expect(approved).toContainText(USERS.operations2);
  const executed = timeline.getByRole('listitem').filter({ hasText: 'trigger.executed' });
  await expect(executed).toContainText('Automated');
  await expect(executed).toContainText('system:trigger-dispatch');
  await expect(timeline.getByRole('listitem').filter({ hasText: 'alert.fired' }).first()).toContainText('Automated');

  // Omar disables the rule (a PUT with If-Match on its version).
  await go(page, '/monitoring');
  await page.getByRole('button', { name: `Disable rule ${ruleName}` }).click();
  await expect(page.getByRole('region', { name: 'Rules' }).getByRole('row').filter({ hasText: ruleName })).toContainText('Disabled');
});
