/**
 * The console in a real browser (Chromium through playwright-core) against the test
 * cluster, with the real canary controller, Prometheus and the traffic simulator:
 *
 * - a release created while the list is open appears, and advances step by step to
 *   Completed on its page, without a reload;
 * - its charts have points from Prometheus and each draws its threshold line;
 * - filters by name, namespace and phase narrow the list, with counts per phase;
 * - a person who may only read (alice) sees her abort refused by the API server, and
 *   nothing is written;
 * - a person who may patch (bob) aborts from the page: the release rolls back (traffic
 *   back on stable) and the timeline says bob did it, its Event merged with its history
 *   entry; Events are read as the person (alice, who may not, is told so);
 * - a release that is not there, Prometheus not answering and a lost stream each show
 *   their state; the stream comes back without a reload;
 * - no page breaks the Content-Security-Policy.
 *
 * Screenshots of each main view go to docs/screenshots/ (the README shows one).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { startLocalDashboard, type LocalDashboard } from '../../../src/dashboard/local.ts';
import type { KubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { grant, testUser } from '../../support/users.ts';
import { createApp, createRelease, getRelease, releaseEnv } from '../../integration/canary/support.ts';
import { launchBrowser, openPage } from './browser.ts';
import { WebAppKind } from '../../../src/api/kinds.ts';

const SHOTS = join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots');

const analysis: CanaryDeploymentSpec['analysis'] = {
  interval: '1s',
  window: '10s',
  successThreshold: 1,
  failureThreshold: 3,
  inconclusiveLimit: 30,
};
const metrics: CanaryDeploymentSpec['metrics'] = {
  successRate: { threshold: 95 },
  errorRate: { threshold: 5 },
  latency: { p50: '100ms', p99: '500ms' },
};

function spec(
  name: string,
  steps: NonNullable<CanaryDeploymentSpec['strategy']>['steps'],
): CanaryDeploymentSpec {
  return {
    targetDeployment: name,
    canaryVersion: `${name}:v2`,
    strategy: { steps },
    traffic: { provider: 'Istio', istio: { virtualService: name } },
    analysis,
    metrics,
  };
}

async function app(admin: KubeClient, ns: string, name: string): Promise<void> {
  await createApp(admin, ns, name, { replicas: 2 });
  await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name, namespace: ns },
    spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: name } }] }] },
  });
}

/** Rows of the list now, as `name phase` text. */
async function rows(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="releases"] tbody tr.ant-table-row')
    .evaluateAll((trs) =>
      trs.map((tr) => (tr.querySelector('[data-testid="release-link"], td')?.textContent ?? '').trim()),
    );
}

async function rowNames(page: Page): Promise<string[]> {
  return (await rows(page)).sort();
}

/**
 * Clicks a command's button, then the OK of its confirmation, with the mouse at their
 * places. `force`: the page redraws on every status change (an analysis a second here),
 * and Playwright's wait for a "stable" element can outlast the test; that the button is
 * enabled is asserted instead.
 */
async function command(page: Page, name: string): Promise<void> {
  const button = page.getByTestId(`action-${name}`);
  await button.waitFor();
  assert.equal(await button.isEnabled(), true, `${name} is offered`);
  await button.click({ force: true });
  const ok = page.locator(`#confirm-${name}`);
  await ok.waitFor();
  // The confirmation pops up and is placed over a few frames: click once it sits still
  // inside the window (checked here, since `force` skips Playwright's own check).
  let last = '';
  await waitFor(
    async () => {
      const box = await ok.boundingBox();
      const viewport = page.viewportSize();
      const at = box ? `${Math.round(box.x)},${Math.round(box.y)}` : '';
      const settled =
        box !== null &&
        viewport !== null &&
        box.x >= 0 &&
        box.y >= 0 &&
        box.x + box.width <= viewport.width &&
        box.y + box.height <= viewport.height &&
        at === last;
      last = at;
      return settled;
    },
    { describe: `the ${name} confirmation to settle in the window`, timeoutMs: 10_000, intervalMs: 100 },
  );
  await ok.click({ force: true });
}

async function shot(page: Page, file: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, file), fullPage: true });
}

test('the console, in Chromium, on the real controller, Prometheus and simulator', {
  timeout: 600_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  const cluster = await testCluster();
  const other = await testNamespace({ name: 'console other', after: (fn) => t.after(fn) });
  await Promise.all([app(admin, ns, 'demo'), app(admin, ns, 'checkout')]);
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    rps: 100,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` },
  });
  t.after(() => sim.stop());
  // A release no controller acts on, in another namespace: the filters' other row.
  await createRelease(admin, other, 'search', {
    targetDeployment: 'search',
    canaryVersion: 'search:v2',
    strategy: { type: 'Manual', steps: [{ weight: 20 }] },
  });
  await createRelease(
    admin,
    ns,
    'checkout',
    spec('checkout', [
      { weight: 30, pause: '10m' },
      { weight: 100, pause: '0s' },
    ]),
  );

  const [alice, bob] = await Promise.all([testUser('alice'), testUser('bob')]);
  await grant(ns, 'alice', ['get', 'list', 'watch']);
  await grant(ns, 'bob', ['get', 'list', 'watch', 'patch']);
  // Bob may also read the namespace's Events (as the built-in view role allows); alice may not.
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    metadata: { name: 'bob-events', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['events'], verbs: ['list'] }],
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'bob-events', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bob-events' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }],
  });

  const abort = new AbortController();
  const dashboards: LocalDashboard[] = [];
  t.after(async () => {
    abort.abort();
    for (const d of dashboards) await d.close();
  });
  const dashboard = async (
    kubeconfigPath: string,
    namespaces: string[],
    options: { port?: number; prometheusUrl?: string; signal?: AbortSignal } = {},
  ): Promise<LocalDashboard> => {
    const d = await startLocalDashboard({
      kubeconfigPath,
      namespaces,
      port: options.port ?? 0,
      prometheusUrl: options.prometheusUrl ?? cluster.prometheusUrl,
      log: silentLogger(),
      signal: options.signal ?? abort.signal,
    });
    dashboards.push(d);
    return d;
  };
  /** Closes `d` now (its watch too, when it has a signal of its own), instead of when the test ends. */
  const closeDashboard = async (d: LocalDashboard, own?: AbortController): Promise<void> => {
    dashboards.splice(dashboards.indexOf(d), 1);
    own?.abort();
    await d.close();
  };
  const [asAdmin, asAlice, asBob] = await Promise.all([
    dashboard(cluster.kubeconfigPath, [ns, other]),
    dashboard(alice.kubeconfigPath, [ns]),
    dashboard(bob.kubeconfigPath, [ns]),
  ]);

  const browser: Browser = await launchBrowser();
  t.after(() => browser.close());
  const { page, problems } = await openPage(browser);
  let loads = 0;
  page.on('load', () => loads++);

  await t.test(
    'the list shows every release with counts, and a new one appears without a reload',
    async () => {
      await page.goto(asAdmin.url);
      await waitFor(async () => (await rowNames(page)).join() === 'checkout,search', {
        describe: 'the two releases in the list',
        timeoutMs: 30_000,
      });
      await createRelease(
        admin,
        ns,
        'demo',
        spec('demo', [
          { weight: 20, pause: '15s' },
          { weight: 60, pause: '15s' },
          { weight: 100, pause: '0s' },
        ]),
      );
      await waitFor(async () => (await rowNames(page)).join() === 'checkout,demo,search', {
        describe: 'demo to appear in the open list',
        timeoutMs: 30_000,
      });
      await waitFor(
        async () => /Progressing 2/.test((await page.getByTestId('phase-filter').textContent()) ?? ''),
        { describe: 'the count of Progressing releases', timeoutMs: 60_000 },
      );
      assert.match((await page.getByTestId('phase-filter').textContent()) ?? '', /All 3/);
      // Ant Design's stylesheet applies (its CSS variables are defined under the key the page gives it).
      const headerBackground = await page
        .locator('[data-testid="releases"] thead th')
        .first()
        .evaluate('(th) => getComputedStyle(th).backgroundColor');
      assert.notEqual(headerBackground, 'rgba(0, 0, 0, 0)', 'the table header is styled');
    },
  );

  await t.test('filters by name, namespace and phase', async () => {
    await page.getByTestId('name-filter').locator('input').fill('check');
    await waitFor(async () => (await rowNames(page)).join() === 'checkout', {
      describe: 'the name filter',
      timeoutMs: 10_000,
    });
    await page.getByTestId('name-filter').locator('input').fill('');
    await page.getByTestId('namespace-filter').click();
    await page.locator('.ant-select-dropdown .ant-select-item-option', { hasText: other }).click();
    await waitFor(async () => (await rowNames(page)).join() === 'search', {
      describe: 'the namespace filter',
      timeoutMs: 10_000,
    });
    await page.getByTestId('namespace-filter').hover();
    await page.getByTestId('namespace-filter').locator('.ant-select-clear').click();
    await page
      .getByTestId('phase-filter')
      .getByText(/^Progressing/)
      .click();
    await waitFor(async () => (await rowNames(page)).join() === 'checkout,demo', {
      describe: 'the phase filter',
      timeoutMs: 10_000,
    });
    await page.getByTestId('phase-filter').getByText(/^All/).click();
    await waitFor(async () => (await rowNames(page)).length === 3, {
      describe: 'all rows again',
      timeoutMs: 10_000,
    });
    await shot(page, 'console-list.png');
  });

  await t.test(
    'the release page follows demo step by step to Completed, with charts, thresholds and analyses',
    async () => {
      await page.locator('[data-testid="release-link"]', { hasText: 'demo' }).click();
      await page.getByTestId('release-page').waitFor();
      const weights = new Set<number>();
      let charted = false;
      await waitFor(
        async () => {
          const split = page.getByTestId('traffic-split');
          if (await split.count()) weights.add(Number(await split.getAttribute('data-weight')));
          if (!charted && (await page.getByTestId('chart-successRate').count())) {
            const points = Number(await page.getByTestId('chart-successRate').getAttribute('data-points'));
            if (points > 1 && weights.has(60)) {
              charted = true;
              await shot(page, 'console-release.png');
            }
          }
          return (await page.getByTestId('release-phase').textContent()) === 'Completed' && charted;
        },
        {
          describe: 'demo to complete on the open page, with charted points',
          timeoutMs: 180_000,
          intervalMs: 250,
        },
      );
      // The page was opened during step 1 or 2 and followed it through the next steps to the end.
      assert.ok(
        weights.has(60) && weights.size >= 2,
        `the page showed each step's weight as it happened: ${[...weights].join(', ')}`,
      );
      // Every check has a chart with a line of points and its threshold drawn.
      for (const name of ['successRate', 'errorRate', 'latencyP50', 'latencyP99']) {
        const chart = page.getByTestId(`chart-${name}`);
        await chart.waitFor();
        await waitFor(
          async () =>
            /^M[^MLC]+[LC]/.test(
              (await chart.locator('.cd-line-canary .recharts-line-curve').getAttribute('d')) ?? '',
            ),
          { describe: `the ${name} line`, timeoutMs: 20_000 },
        );
        assert.equal(await chart.locator('.cd-threshold').count(), 1, `${name} draws its threshold`);
        // Istio tells stable's workload apart: its line is drawn beside the canary's.
        await waitFor(
          async () =>
            /^M[^MLC]+[LC]/.test(
              (await chart.locator('.cd-line-stable .recharts-line-curve').getAttribute('d')) ?? '',
            ),
          { describe: `stable's ${name} line`, timeoutMs: 20_000 },
        );
      }
      assert.ok(
        (await page.locator('.cd-marker').count()) > 0,
        'analyses and steps are marked on the charts',
      );
      assert.ok((await page.getByTestId('timeline-analysis').count()) > 0, 'analyses are on the timeline');
      assert.match((await page.getByTestId('last-analysis').textContent()) ?? '', /successRate/);
      // A finished release offers no abort, and says why.
      assert.match(
        (await page.getByTestId('why-abort').getAttribute('data-reason')) ?? '',
        /already Completed/,
      );
      assert.equal(loads, 1, 'no reload happened');
    },
  );

  await t.test('a person who may only read sees the abort refused, and nothing is written', async () => {
    await waitFor(async () => (await getRelease(admin, ns, 'checkout'))?.status?.analysis?.last, {
      describe: 'checkout analysed at its first step',
      timeoutMs: 90_000,
    });
    const before = (await getRelease(admin, ns, 'checkout'))!.metadata.annotations ?? {};
    const { page: alicePage, problems: aliceProblems } = await openPage(browser);
    await alicePage.goto(`${asAlice.url}#/release/${ns}/checkout`);
    // Events are read as alice: the API server refuses, the timeline says so and keeps the history.
    const eventsRefused = alicePage.getByTestId('events-refused');
    await eventsRefused.waitFor({ timeout: 30_000 });
    assert.match((await eventsRefused.textContent()) ?? '', /forbidden/i);
    assert.ok((await alicePage.getByTestId('timeline-entry').count()) > 0, 'the history is still shown');
    await command(alicePage, 'abort');
    const refusal = alicePage.locator('.ant-message-error');
    await refusal.waitFor({ timeout: 15_000 });
    assert.match((await refusal.textContent()) ?? '', /abort refused: .*forbidden/i);
    // The answer stays beside the buttons, not only in the passing message.
    const result = alicePage.getByTestId('action-result');
    assert.equal(await result.getAttribute('data-ok'), 'false');
    assert.match((await result.textContent()) ?? '', /Abort refused: .*forbidden/i);
    await shot(alicePage, 'console-refused.png');
    const after = await getRelease(admin, ns, 'checkout');
    assert.deepEqual(after?.metadata.annotations ?? {}, before, 'nothing was written');
    assert.equal(after?.status?.phase, 'Progressing');
    assert.deepEqual(aliceProblems, []);
  });

  await t.test('bob aborts from the page: the release rolls back and the timeline says who', async () => {
    const { page: bobPage, problems: bobProblems } = await openPage(browser);
    await bobPage.goto(`${asBob.url}#/release/${ns}/checkout`);
    await command(bobPage, 'abort');
    await bobPage.locator('.ant-message-success').waitFor({ timeout: 15_000 });
    assert.equal(await bobPage.getByTestId('action-result').getAttribute('data-ok'), 'true');
    await waitFor(async () => (await bobPage.getByTestId('release-phase').textContent()) === 'Failed', {
      describe: 'the page to show the rollback',
      timeoutMs: 60_000,
    });
    await waitFor(
      async () => (await bobPage.getByTestId('traffic-split').getAttribute('data-weight')) === '0',
      { describe: 'all traffic back on stable on the page', timeoutMs: 30_000 },
    );
    const entry = bobPage.getByTestId('timeline-entry').filter({ hasText: 'Aborted' });
    await entry.waitFor({ timeout: 30_000 });
    assert.match((await entry.textContent()) ?? '', /by bob/);
    // Bob may read Events: none refused, and the abort's own Event is not shown twice.
    assert.equal(await bobPage.getByTestId('events-refused').count(), 0);
    assert.equal(
      await bobPage.locator('[data-testid="timeline"] strong', { hasText: /^Aborted$/ }).count(),
      1,
      'the Aborted history entry and its Event are one line',
    );
    const release = await getRelease(admin, ns, 'checkout');
    assert.equal(release?.status?.phase, 'Failed');
    assert.equal(release?.status?.currentWeight, 0);
    assert.ok(
      release?.status?.history?.some((h) => h.event === 'Aborted' && h.by === 'bob'),
      JSON.stringify(release?.status?.history),
    );
    await shot(bobPage, 'console-aborted.png');
    assert.deepEqual(bobProblems, []);
  });

  await t.test(
    'a WebApp is listed beside the releases, counted in its phase, and links to the CanaryDeployment releasing it',
    async () => {
      await page.goto(asAdmin.url);
      await waitFor(async () => (await rowNames(page)).includes('search'), {
        describe: 'the list',
        timeoutMs: 30_000,
      });
      const before = loads;
      // No WebApp controller runs here: the status it would write is written by hand, naming the release of `other`.
      await admin.create(WebAppKind, {
        apiVersion: 'apps.codedance.io/v1alpha1',
        kind: 'WebApp',
        metadata: { name: 'storefront', namespace: other },
        spec: { image: 'search:v2' },
      });
      await admin.patch(
        WebAppKind,
        other,
        'storefront',
        {
          status: {
            phase: 'Running',
            readyReplicas: 1,
            image: 'search:v1',
            release: { name: 'search', version: 'search:v2' },
          },
        },
        'merge',
        { subresource: 'status' },
      );
      await waitFor(async () => (await rowNames(page)).includes('storefront'), {
        describe: 'the WebApp to appear in the open list',
        timeoutMs: 30_000,
      });
      await waitFor(
        async () => /Running 1/.test((await page.getByTestId('phase-filter').textContent()) ?? ''),
        { describe: 'the WebApp counted as Running', timeoutMs: 30_000 },
      );
      await page
        .getByTestId('phase-filter')
        .getByText(/^Running/)
        .click();
      await waitFor(async () => (await rowNames(page)).join() === 'storefront', {
        describe: 'the Running filter to show the WebApp alone',
      });
      const row = page
        .locator('[data-testid="releases"] tbody tr.ant-table-row')
        .filter({ hasText: 'storefront' });
      assert.match((await row.textContent()) ?? '', /WebApp.*1\/1 ready.*search:v2/);
      assert.equal(await row.locator('button').count(), 0, 'no actions on a WebApp');
      await row.getByTestId('webapp-link').click();
      await waitFor(async () => (await page.getByTestId('release-name').textContent()) === 'search', {
        describe: "the WebApp's release page",
      });
      assert.equal(loads, before, 'no reload happened');
    },
  );

  await t.test('a release that is not there, and Prometheus down: each view says so', async () => {
    const { page: lost, problems: lostProblems } = await openPage(browser);
    await lost.goto(`${asAdmin.url}#/release/${ns}/no-such-release`);
    const notFound = lost.getByTestId('state-not-found');
    await notFound.waitFor({ timeout: 30_000 });
    assert.match((await notFound.textContent()) ?? '', /Release not found.*no-such-release/);
    // A dashboard whose Prometheus does not answer (nothing listens on port 1).
    const noPrometheus = await dashboard(cluster.kubeconfigPath, [ns], {
      prometheusUrl: 'http://127.0.0.1:1',
    });
    await lost.goto(`${noPrometheus.url}#/release/${ns}/demo`);
    const down = lost.getByTestId('state-unavailable');
    await down.waitFor({ timeout: 30_000 });
    assert.match((await down.textContent()) ?? '', /Prometheus is not answering.*127\.0\.0\.1:1/);
    // The rest of the page is there: the release itself, its timeline.
    assert.equal(await lost.getByTestId('release-phase').textContent(), 'Completed');
    assert.ok((await lost.getByTestId('timeline-entry').count()) > 0);
    await shot(lost, 'console-prometheus-down.png');
    assert.deepEqual(lostProblems, []);
  });

  await t.test(
    'the stream lost: the page says so, keeps its rows, and is live again without a reload',
    async () => {
      const own = new AbortController();
      const first = await dashboard(cluster.kubeconfigPath, [ns, other], { signal: own.signal });
      const { page: watching, problems: watchingProblems } = await openPage(browser);
      let watchingLoads = 0;
      watching.on('load', () => watchingLoads++);
      await watching.goto(first.url);
      await waitFor(async () => (await rowNames(watching)).includes('demo'), {
        describe: 'the list',
        timeoutMs: 30_000,
      });
      await closeDashboard(first, own);
      const banner = watching.getByTestId('stream-lost');
      await banner.waitFor({ timeout: 30_000 });
      assert.match((await banner.textContent()) ?? '', /Live updates lost, reconnecting.*out of date since/);
      assert.ok((await rowNames(watching)).includes('demo'), 'the rows stay, marked as possibly old');
      await shot(watching, 'console-reconnecting.png');
      const restarted = Date.now();
      const again = await dashboard(cluster.kubeconfigPath, [ns, other], { port: first.port });
      await waitFor(
        async () =>
          (await watching.getByTestId('live-state').textContent()) === '● live' &&
          (await banner.count()) === 0,
        { describe: 'the page live again', timeoutMs: 60_000, intervalMs: 100 },
      );
      t.diagnostic(
        `live again ${Date.now() - restarted} ms after the dashboard came back (backoff included)`,
      );
      assert.equal(again.port, first.port);
      assert.equal(watchingLoads, 1, 'no reload happened');
      assert.ok((await rowNames(watching)).includes('demo'));
      assert.deepEqual(watchingProblems, []);
    },
  );

  assert.deepEqual(problems, [], 'the console runs under the CSP without errors');
});
