/**
 * The console's budgets, measured in Chromium (playwright-core, Debian's chromium):
 *
 * - bundle: the built files' size gzipped (what a browser downloads on first visit);
 * - interactive: from navigation start until the list of `count` releases is drawn and
 *   answers input (the name filter narrows it), with a fresh browser context each time;
 * - change to screen: from a status write answered by the API server until the new
 *   weight is on the release page (seen by a MutationObserver in the page; the browser
 *   and this process share one clock);
 * - reconnect: from the stream cut (the dashboard closed and started again at once on the
 *   same port, as a restart or a proxy dropping the connection does) until the page is
 *   live again with a fresh snapshot; the dashboard's own restart is reported beside it.
 *
 * Releases here have no controller: their status is written by the benchmark (a phase,
 * a weight, an analysis, a history), so the page draws what a busy cluster shows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { CanaryDeployment } from '../src/api/canary-deployment.ts';
import { CONSOLE_DIR } from '../src/dashboard/assets.ts';
import { ensureConsoleBuilt } from '../src/dashboard/build-console.ts';
import { startLocalDashboard } from '../src/dashboard/local.ts';
import { silentLogger } from '../src/runtime/logging.ts';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage } from '../test/e2e/console/browser.ts';
import type { BenchEnv } from './env.ts';
import { summarize, type Summary } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

/** What {@link benchConsole} measured. */
export interface ConsoleResult {
  bundle: { files: { file: string; bytes: number; gzipBytes: number }[]; gzipBytes: number };
  releases: number;
  /** Navigation start → the first rows drawn. */
  rowsDrawn: Summary;
  interactive: Summary;
  changeToScreen: Summary;
  /** Stream cut → the page live again (the dashboard's restart included). */
  reconnect: Summary;
  /** Stream cut → the dashboard listening again (part of `reconnect`). */
  dashboardRestart: Summary;
}

/**
 * Runs in the page before its own scripts (an init script, which the page's CSP does not
 * govern) and notes, by the page's clocks, when rows first show, when the filter has
 * narrowed them to one, and when each weight first shows on a release page.
 */
const RECORDER = `window.cd = { weights: {} };
new MutationObserver(() => {
  const rows = document.querySelectorAll('[data-testid="release-link"]').length;
  if (rows > 0 && !window.cd.rows) window.cd.rows = performance.now();
  if (rows === 1 && window.cd.rows && !window.cd.filtered) window.cd.filtered = performance.now();
  const weight = document.querySelector('[data-testid="traffic-split"]')?.getAttribute('data-weight');
  if (weight && !(weight in window.cd.weights)) window.cd.weights[weight] = Date.now();
  const live = document.querySelector('[data-testid="live-state"]')?.textContent === '● live';
  if (live && !window.cd.live) window.cd.liveAt = Date.now();
  window.cd.live = live;
}).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });`;

/** Polls `expression` in the page (CDP evaluation, outside its CSP) until it is a number. */
async function poll(page: Page, expression: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await page.evaluate(expression);
    if (typeof value === 'number') return value;
    if (Date.now() > deadline) throw new Error(`the page never set ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function status(i: number, weight: number): CanaryDeployment['status'] {
  const now = new Date().toISOString();
  return {
    phase: i % 10 === 0 ? 'Paused' : i % 7 === 0 ? 'Completed' : 'Progressing',
    currentStepIndex: 1,
    currentWeight: weight,
    startedAt: now,
    analysis: {
      last: {
        time: now,
        step: 1,
        decision: 'Continue',
        score: 98,
        metrics: [{ name: 'successRate', value: 99.9, threshold: '>= 99', score: 100, passed: true }],
      },
    },
    history: [
      { time: now, event: 'Started', step: 0, weight: 10 },
      { time: now, event: 'StepReached', step: 1, weight },
    ],
  };
}

/** Measures the console against `count` releases in `namespace`. */
export async function benchConsole(
  env: BenchEnv,
  namespace: string,
  count: number,
  progress: (line: string) => void,
  repeats = { load: 5, change: 20, reconnect: 5 },
): Promise<ConsoleResult> {
  await ensureConsoleBuilt(progress);
  const files = readdirSync(join(CONSOLE_DIR, 'assets')).filter((f) => !f.endsWith('.map'));
  const sized = ['index.html', ...files.map((f) => `assets/${f}`)].map((file) => {
    const body = readFileSync(join(CONSOLE_DIR, file));
    return { file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
  const bundle = { files: sized, gzipBytes: sized.reduce((a, f) => a + f.gzipBytes, 0) };

  progress(`console: creating ${count} releases with status`);
  const { admin } = env;
  for (let start = 0; start < count; start += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - start) }, async (_, k) => {
        const i = start + k;
        const name = `app-${String(i).padStart(3, '0')}`;
        await admin.create(CanaryDeploymentKind, {
          metadata: { name, namespace },
          spec: {
            targetDeployment: name,
            canaryVersion: `${name}:v2`,
            strategy: {
              steps: [
                { weight: 10, pause: '1m' },
                { weight: 50, pause: '1m' },
                { weight: 100, pause: '0s' },
              ],
            },
            metrics: { successRate: { threshold: 99 } },
          },
        });
        await admin.patch(CanaryDeploymentKind, namespace, name, { status: status(i, 50) }, 'merge', {
          subresource: 'status',
        });
      }),
    );
  }

  let abort = new AbortController();
  const start = (port: number, signal: AbortSignal) =>
    startLocalDashboard({
      kubeconfigPath: env.state.kubeconfigPath,
      namespaces: [namespace],
      port,
      prometheusUrl: env.prometheusUrl,
      log: silentLogger(),
      signal,
    });
  let dashboard = await start(0, abort.signal);
  const browser = await launchBrowser();
  try {
    progress(`console: time to interactive with ${count} releases, ${repeats.load} loads`);
    const loads: number[] = [];
    const drawn: number[] = [];
    for (let i = 0; i < repeats.load; i++) {
      const { page } = await openPage(browser);
      await page.addInitScript(RECORDER);
      await page.goto(dashboard.url);
      const rowsAt = await poll(page, 'window.cd.rows');
      // Interactive: typing into the filter narrows the list at once.
      await page.getByTestId('name-filter').locator('input').fill('app-007');
      loads.push(await poll(page, 'window.cd.filtered'));
      drawn.push(rowsAt);
      await page.context().close();
    }

    progress(`console: change to screen, ${repeats.change} status writes`);
    const { page } = await openPage(browser);
    await page.addInitScript(RECORDER);
    await page.goto(`${dashboard.url}#/release/${namespace}/app-001`);
    await page.getByTestId('traffic-split').waitFor();
    const changes: number[] = [];
    for (let i = 0; i < repeats.change; i++) {
      const weight = 51 + i;
      await admin.patch(
        CanaryDeploymentKind,
        namespace,
        'app-001',
        { status: { currentWeight: weight } },
        'merge',
        { subresource: 'status' },
      );
      const written = Date.now();
      changes.push(Math.max(0, (await poll(page, `window.cd.weights['${weight}']`)) - written));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    progress(`console: reconnect, ${repeats.reconnect} stream cuts`);
    const reconnects: number[] = [];
    const restarts: number[] = [];
    for (let i = 0; i < repeats.reconnect; i++) {
      await page.evaluate('window.cd.liveAt = undefined');
      const cut = Date.now();
      abort.abort();
      await dashboard.close();
      abort = new AbortController();
      dashboard = await start(dashboard.port, abort.signal);
      restarts.push(Date.now() - cut);
      reconnects.push((await poll(page, 'window.cd.liveAt', 60_000)) - cut);
      await page.getByTestId('traffic-split').waitFor();
    }
    return {
      bundle,
      releases: count,
      rowsDrawn: summarize(drawn),
      interactive: summarize(loads),
      changeToScreen: summarize(changes),
      reconnect: summarize(reconnects),
      dashboardRestart: summarize(restarts),
    };
  } finally {
    await browser.close();
    abort.abort();
    await dashboard.close();
  }
}
