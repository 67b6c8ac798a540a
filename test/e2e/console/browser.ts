/**
 * A headless Chromium for the console's browser tests: Debian's `/usr/bin/chromium`
 * driven by playwright-core (which never downloads a browser of its own). `.ci/run`
 * installs the package when it is missing.
 *
 * The flags keep Chromium off the network it would otherwise reach for on start
 * (component updates, sync, QUIC probes): this machine has none, and each failed
 * connection is noise in the logs. Playwright gives each launch a fresh, empty profile
 * directory of its own.
 *
 * Every page records what the browser refused under the dashboard's CSP and any page
 * error, so a test can assert the console runs cleanly under the policy.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CODEDANCE_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts the browser; fails with what to do when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CODEDANCE_CHROMIUM`,
    );
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/**
 * What the CSP may refuse without harm: rc-util (under antd's Table) measures the
 * scrollbar's width with a `<style>` it writes without the nonce; refused, it falls
 * back to the computed width. Nothing else may be refused.
 */
const HARMLESS_REFUSALS = [/^#rc-scrollbar-measure/];

/** A page of its own context, in front, recording CSP refusals and page errors in `problems`. */
export async function openPage(
  browser: Browser,
  viewport = { width: 1440, height: 1000 },
): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const problems: string[] = [];
  await page.exposeFunction('codedanceCspRefused', (directive: string, sample: string, source: string) => {
    if (!HARMLESS_REFUSALS.some((harmless) => harmless.test(sample.trim())))
      problems.push(`CSP refused (${directive}) ${JSON.stringify(sample)} from ${source}`);
  });
  await page.addInitScript(
    `document.addEventListener('securitypolicyviolation', (e) => window.codedanceCspRefused(e.violatedDirective, e.sample, e.sourceFile))`,
  );
  // Pages of a browser share one window system: only the one in front gets animation
  // frames, which the console draws in and Playwright's clicks wait for.
  await page.bringToFront();
  page.on('pageerror', (err) => problems.push(`page error: ${err.stack ?? err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().startsWith('console:')) problems.push(message.text());
  });
  return { page, problems };
}
