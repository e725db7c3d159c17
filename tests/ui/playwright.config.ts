// Playwright against a running opsflow (OPSFLOW_URL), in Debian's Chromium:
// no browser download, one worker (2-core machines), no retries.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.OPSFLOW_URL;
if (!baseURL) {
  throw new Error('Set OPSFLOW_URL to the running app, e.g. OPSFLOW_URL=http://127.0.0.1:3000');
}

export default defineConfig({
  testDir: './specs',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: 'list',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  outputDir: './test-results',
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
