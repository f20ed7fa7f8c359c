import { defineConfig } from '@playwright/test';

// `cargo xtask test` starts a release build of the server and passes its address in
// EMPORIUM_BASE_URL. Playwright's own browser download is not used: tests run in the
// system's Chromium (CHROMIUM_PATH, found or installed by xtask).
const baseURL = process.env.EMPORIUM_BASE_URL ?? 'http://127.0.0.1:3000';
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: true,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  // Specs do not depend on each other's order: each makes the data it touches, and a test
  // that breaks something shared runs on a shop of its own (fixtures.ts, `ownShop`).
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
