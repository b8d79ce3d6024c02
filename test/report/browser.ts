// Headless Chromium (Debian's package) driven by playwright-core, for the HTML report tests. CI installs
// chromium (.ci/run), so there a missing browser fails the tests; elsewhere they are skipped, saying why.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests are skipped here (undefined: they run; in CI they always run). */
export const browserSkipReason: string | undefined =
  existsSync(CHROMIUM) || process.env.CI ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium; CI installs it)`;

/** test/.output/NAME (gitignored): screenshots are kept there. */
export function outputDir(name: string): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '.output', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface OpenedPage {
  page: Page;
  /** Every request the page made that was not for the page itself (a self-contained page makes none). */
  foreignRequests: string[];
  /** Console errors and page errors (a broken inline script shows here). */
  errors: string[];
  close(): Promise<void>;
}

/** Opens an HTML file from disk in a fresh headless Chromium profile. */
export async function openPage(file: string, viewport = { width: 1280, height: 900 }): Promise<OpenedPage> {
  const profile = mkdtempSync(join(tmpdir(), 'sysfault-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const url = pathToFileURL(file).href;
  const foreignRequests: string[] = [];
  const errors: string[] = [];
  context.on('request', (request) => {
    if (request.url() !== url) foreignRequests.push(request.url());
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url, { waitUntil: 'load' });
  const opened = context;
  return {
    page,
    foreignRequests,
    errors,
    close: async () => {
      await opened.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
