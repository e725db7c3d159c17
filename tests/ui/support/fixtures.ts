// The test fixture every spec uses: fails a test whose page threw an uncaught
// error or reported a Content-Security-Policy violation.
import { test as base, expect, type Page } from '@playwright/test';

/** Starts collecting uncaught errors and CSP violations on `page`. */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to (load|execute|apply|connect)/i.test(m.text())) {
      problems.push(`CSP: ${m.text()}`);
    }
  });
  return problems;
}

export const test = base.extend<{ guard: void }>({
  guard: [
    async ({ page }, use) => {
      const problems = watch(page);
      await use();
      expect(problems, 'no uncaught errors or CSP violations').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
