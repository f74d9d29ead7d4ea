import { defineConfig } from '@playwright/test';
import { chromiumLaunchOptions } from './browser-options.ts';

// Journeys start their own relay and model server through fixtures, so there is no webServer here.
// One worker: the machines have 2 cores and every test runs a relay plus a browser.
export default defineConfig({
  testDir: './tests',
  workers: 1,
  fullyParallel: false,
  timeout: 60_000,
  retries: 0,
  forbidOnly: !!process.env['CI'],
  reporter: [['list'], ['./line-reporter.ts']],
  use: {
    headless: true,
    actionTimeout: 15_000,
    launchOptions: chromiumLaunchOptions,
  },
});
