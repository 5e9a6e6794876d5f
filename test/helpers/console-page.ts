import type { Page } from 'playwright-core';
import { type Chromium, chromiumAvailable } from './chromium.js';
import { redisAvailable, requireService } from './services.js';

/**
 * Whether the console's browser tests can run here: Redis and Chromium, each required (a
 * missing one fails the run under CI, and skips it elsewhere).
 */
export async function consoleServicesReady(): Promise<boolean> {
  return (
    (await requireService('redis', await redisAvailable())) &&
    (await requireService('chromium (apt-get install chromium)', chromiumAvailable()))
  );
}

/** Script errors and dialogs each signed-in page met: a console test fails on any of them. */
const errorsOf = new WeakMap<Page, string[]>();

/**
 * A fresh page of `browser`, signed in to the console at `brokerUrl` with `token`. Script
 * errors and dialogs (dismissed at once) are recorded for `pageErrors`.
 */
export async function signInToConsole(
  browser: Chromium | undefined,
  brokerUrl: string,
  token: string,
): Promise<Page> {
  if (browser === undefined) throw new Error('no browser');
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('dialog', (dialog) => {
    errors.push(`a ${dialog.type()} dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`${brokerUrl}/console`);
  await page.fill('#token', token);
  await page.click('form[data-testid=login] button[type=submit]');
  await page.waitForSelector('[data-testid=operator]', { timeout: 15_000 });
  errorsOf.set(page, errors);
  return page;
}

/** What went wrong in a page `signInToConsole` opened: script errors and dialogs, in order. */
export function pageErrors(page: Page): string[] {
  return errorsOf.get(page) ?? [];
}

/** Evaluates an expression in the page (as source: the tests compile without the DOM types). */
export async function inPage<T = unknown>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}
