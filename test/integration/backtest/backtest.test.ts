/**
 * The backtest against the real Prometheus, on the simulator's history: a canary at 30 %
 * of an Istio service is healthy, then returns 40 % errors for a while, then recovers.
 * Replayed afterwards, the release's policy would have continued through the healthy
 * period and rolled back inside the bad one; the thresholds suggested from stable's own
 * behaviour are tighter than the release's and catch it too. Then the dashboard's
 * backtest endpoint (the button) and the CLI on the same window: the same rounds, the
 * report, and exit code 3 (would have rolled back).
 *
 * No controller runs: the CanaryDeployment is paused and the traffic split is written by
 * hand, so what the canary served is what the test says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { Deployment, VirtualService } from '../../../src/runtime/kinds.ts';
import { queryTargetOf } from '../../../src/analysis/analyzer.ts';
import { builtInQuery } from '../../../src/analysis/queries.ts';
import { queryRange } from '../../../src/analysis/range.ts';
import { backtest } from '../../../src/backtest/run.ts';
import { renderBacktest } from '../../../src/backtest/render.ts';
import { startSimulator } from '../../../src/sim/simulator.ts';
import type { BacktestAnswer } from '../../../src/dashboard/contract.ts';
import { startLocalDashboard } from '../../../src/dashboard/local.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { ensureTrafficCrds, installApi } from '../../support/controller.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

function deployment(namespace: string, name: string, version: string): KubeObject {
  const labels = { app: 'pay', version };
  return {
    metadata: { namespace, name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `pay:${version}` }] } },
    },
  } as KubeObject;
}

const spec: CanaryDeploymentSpec = {
  targetDeployment: 'pay',
  canaryVersion: 'pay:v2',
  paused: true,
  traffic: { provider: 'Istio', istio: { virtualService: 'pay' } },
  analysis: { interval: '2s', window: '6s', failureThreshold: 2 },
  metrics: { successRate: { threshold: 90 }, errorRate: { threshold: 10 } },
};

test("a backtest on Prometheus' history rolls back inside the canary's bad period and only there", {
  timeout: 300_000,
}, async (t) => {
  const keepAlive = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(keepAlive));
  const cluster = await testCluster();
  const admin = cluster.admin;
  await installApi(admin);
  await ensureTrafficCrds(admin);
  const ns = await testNamespace(t);
  await admin.create(Deployment, deployment(ns, 'pay', 'stable'));
  await admin.create(Deployment, deployment(ns, 'pay-canary', 'canary'));
  await admin.create(VirtualService, {
    metadata: { name: 'pay', namespace: ns },
    spec: {
      hosts: ['pay'],
      http: [
        {
          name: 'primary',
          route: [
            { destination: { host: 'pay', subset: 'stable' }, weight: 70 },
            { destination: { host: 'pay', subset: 'canary' }, weight: 30 },
          ],
        },
      ],
    },
  } as KubeObject);
  const release = await admin.create<CanaryDeployment>(CanaryDeploymentKind, {
    apiVersion: 'deploy.codedance.io/v1alpha1',
    kind: 'CanaryDeployment',
    metadata: { name: 'pay', namespace: ns },
    spec,
  });
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    rps: 200,
    tickMs: 500,
    seed: 7,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` },
  });
  t.after(() => sim.stop());

  // The canary's error rate as the analysis reads it, over [from, now] every 2 s.
  const target = queryTargetOf(spec, { namespace: ns });
  const errorRate = builtInQuery('errorRate', target);
  const points = async (from: number) => {
    const r = await queryRange({
      address: cluster.prometheusUrl,
      promql: errorRate,
      start: from,
      end: Date.now(),
      stepSeconds: 2,
    });
    return r.ok ? r.points : [];
  };

  // Healthy history first: a few rounds with data.
  const firstData = await waitFor(
    async () => {
      const now = Date.now();
      const p = await points(now - 60_000);
      return p.length > 0 ? p[0]?.[0] : undefined;
    },
    { describe: "the canary's series in Prometheus", timeoutMs: 120_000 },
  );
  const from = firstData;
  await waitFor(async () => (await points(from)).length >= 8, {
    describe: 'eight healthy rounds',
    timeoutMs: 120_000,
  });
  // The bad period: until Prometheus holds six rounds of it.
  const badFrom = Date.now();
  sim.setProfile({ namespace: ns, name: 'pay', version: 'canary', errorRate: 0.4 });
  await waitFor(async () => (await points(badFrom)).filter(([, v]) => v > 20).length >= 6, {
    describe: 'six bad rounds',
    timeoutMs: 120_000,
  });
  const badUntil = Date.now();
  sim.setProfile({ namespace: ns, name: 'pay', version: 'canary', errorRate: 0.001 });
  // Round the window to whole steps of its own start (the range answer's grid).
  const to = badUntil + 4_000;
  await waitFor(async () => (await points(badUntil)).some(([at]) => at >= to), {
    describe: 'the window scraped to its end',
    timeoutMs: 60_000,
  });

  const report = await backtest({
    spec,
    namespace: ns,
    name: 'pay',
    address: cluster.prometheusUrl,
    from,
    to,
  });
  t.diagnostic(`\n${renderBacktest(report)}`);
  const rollback = report.result.rollbackAt;
  assert.ok(rollback, 'the policy would have rolled back');
  const at = Date.parse(rollback.time);
  assert.ok(
    at > badFrom,
    `not before the bad period (${rollback.time} vs ${new Date(badFrom).toISOString()})`,
  );
  assert.ok(at <= badUntil, `inside it (${rollback.time} vs ${new Date(badUntil).toISOString()})`);
  assert.equal(rollback.reason, 'MetricsFailed');
  const healthy = report.result.ticks.filter((k) => Date.parse(k.time) < badFrom);
  assert.ok(
    healthy.every((k) => k.verdict !== 'rollback' && k.decision !== 'Rollback'),
    'no rollback while the canary was healthy',
  );
  assert.ok(healthy.filter((k) => k.decision === 'Continue').length >= 5, 'the healthy rounds continue');
  const suggestion = report.suggestions.find((s) => s.check === 'errorRate');
  assert.ok(suggestion && suggestion.samples > 0, 'a suggestion from stable');
  assert.ok(suggestion.suggested < 10, `tighter than stable could need: ${suggestion.basis}`);
  assert.ok(report.withSuggested?.rollbackAt, 'the suggestion catches the bad period too');

  // The dashboard's button asks the same of the same Prometheus, for a person who may read the release.
  const abort = new AbortController();
  t.after(() => abort.abort());
  const dashboard = await startLocalDashboard({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    prometheusUrl: cluster.prometheusUrl,
    port: 0,
    log: silentLogger(),
    signal: abort.signal,
  });
  t.after(() => dashboard.close());
  const answer = await waitFor(
    async () => {
      const response = await fetch(
        new URL(`api/releases/${ns}/pay/backtest?from=${from}&to=${to}`, dashboard.url),
      );
      return response.status === 200 ? ((await response.json()) as BacktestAnswer) : undefined;
    },
    { describe: 'the dashboard backtest', timeoutMs: 60_000 },
  );
  assert.equal(answer.problem, undefined);
  assert.equal(answer.rollbackAt, rollback.time, 'the dashboard replays the same rounds');
  assert.equal(answer.rounds.length, report.result.ticks.length);
  assert.deepEqual(
    answer.suggestions.map((x) => x.suggested),
    report.suggestions.map((x) => x.suggested),
  );

  // The CLI on the same window: the report and exit code 3.
  const dir = await mkdtemp(join(tmpdir(), 'backtest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'release.yaml');
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: release.apiVersion,
      kind: 'CanaryDeployment',
      metadata: { name: 'pay', namespace: ns },
      spec,
    }),
  );
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'src', 'cli', 'main.ts'),
      'backtest',
      '-f',
      file,
      '--from',
      new Date(from).toISOString(),
      '--to',
      new Date(to).toISOString(),
      '--prometheus-url',
      cluster.prometheusUrl,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 3, out);
  assert.match(out, /with the release's thresholds: would have ROLLED BACK at /);
  assert.match(out, /suggested thresholds, from stable's own behaviour/);
});
