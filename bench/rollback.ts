/**
 * Rollback latency, two ways a canary goes bad, each timed from an observable event to
 * all traffic back on stable (the canary asks for 0 replicas and stable is back at its
 * full size) and on to the canary Deployment being gone:
 *
 * - on metrics: the simulator starts answering 50% errors from the canary; we poll
 *   Prometheus every {@link PROMETHEUS_POLL_MS} with the analyzer's own error-rate query
 *   and note when a poll that first returns a value over the threshold was sent. The
 *   controller can only react at its next analysis, so the figure is bounded below by
 *   nothing and above by about one analysis interval plus the query and the writes;
 *   the scrape interval decides when the sample becomes visible, which is where we start.
 * - on a crash: the canary's pods carry kwok's crash label (through the release's
 *   canary-pod-labels annotation); we watch the pods and note when the first one reports
 *   CrashLoopBackOff. The controller watches the same pods, so no timer is involved.
 *
 * Releases run one after the other, each on its own 2-replica app (canary at 50% = 1 pod).
 */
import type { CanaryDeployment, CanaryDeploymentSpec } from '../src/api/canary-deployment.ts';
import { builtInQuery } from '../src/analysis/queries.ts';
import { createPrometheusClient } from '../src/analysis/prometheus.ts';
import { crashLabel } from '../src/cluster/kwok-stages.ts';
import type { Deployment } from '../src/canary/workloads.ts';
import { CanaryPodLabelsAnnotation } from '../src/canary/workloads.ts';
import * as kinds from '../src/runtime/kinds.ts';
import {
  canaryDeploymentName,
  canaryGone,
  canaryWeightWritten,
  createApp,
  createRelease,
  trafficOnStable,
  waitRolledOut,
} from './apps.ts';
import { startBenchSimulator, withController, type BenchEnv } from './env.ts';
import { observe, type Check, type Observer } from './observe.ts';
import { now, sleep, summarize, type Summary } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';
import type { Pod } from '../src/runtime/core-types.ts';

/** How often the benchmark asks Prometheus whether the bad sample is visible yet. */
export const PROMETHEUS_POLL_MS = 100;

const APP_REPLICAS = 2;

export interface RollbackResult {
  /** Event → canary at 0 replicas and stable at full size, seen through a watch. */
  toStable: Summary;
  /** Event → canary Deployment deleted. */
  toGone: Summary;
  /** The releases' final phase and reason, e.g. `Failed/MetricsFailed` (for the reader to check). */
  outcomes: string[];
}

export interface MetricsRollbackResult extends RollbackResult {
  analysisIntervalMs: number;
  windowMs: number;
  errorRateThreshold: number;
}

const ANALYSIS = { interval: '1s', window: '5s', intervalMs: 1000, windowMs: 5000 };
const ERROR_RATE_THRESHOLD = 5;

function metricsSpec(app: string): CanaryDeploymentSpec {
  return {
    targetDeployment: app,
    canaryVersion: `${app}:v2`,
    strategy: {
      steps: [
        { weight: 50, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    // One failed analysis rolls back, so the figure is "first failing sample → stable";
    // a higher failureThreshold adds (threshold - 1) analysis intervals by design.
    analysis: {
      interval: ANALYSIS.interval,
      window: ANALYSIS.window,
      successThreshold: 1,
      failureThreshold: 1,
    },
    metrics: { errorRate: { threshold: ERROR_RATE_THRESHOLD } },
    autoRollback: { enabled: true, onMetricsFail: true, onPodCrash: true },
  };
}

function outcome(releases: Observer<CanaryDeployment>, ns: string, name: string): string {
  const status = releases.store.get(ns, name)?.status;
  return `${status?.phase ?? '?'}/${status?.reason ?? '?'}`;
}

/** Rollback on a failing metric, `n` times. */
export async function benchMetricsRollback(
  env: BenchEnv,
  ns: string,
  n: number,
): Promise<MetricsRollbackResult> {
  const apps = Array.from({ length: n }, (_, i) => `rbm-${i}`);
  for (const app of apps) await createApp(env.admin, ns, app, APP_REPLICAS);
  await waitRolledOut(env.admin, ns, apps, 120_000);
  const sim = await startBenchSimulator(env, [ns]);
  const prometheus = createPrometheusClient({ address: env.prometheusUrl, timeoutMs: 5000 });
  const deployments = await observe<Deployment>(env.admin, kinds.Deployment, ns);
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const toStable: number[] = [];
  const toGone: number[] = [];
  const outcomes: string[] = [];
  try {
    await withController(
      env,
      { namespace: ns, name: 'rollback-metrics', prometheusUrl: env.prometheusUrl },
      async () => {
        for (const app of apps) {
          await createRelease(env.admin, ns, app, metricsSpec(app));
          await deployments.when(
            `${app}: first weight`,
            (store) => canaryWeightWritten(store, ns, app),
            60_000,
          );
          // A healthy verdict at the first step: the controller is analysing steadily.
          await releases.when(
            `${app}: a Continue analysis`,
            (store) => store.get(ns, app)?.status?.analysis?.last?.decision === 'Continue',
            60_000,
          );
          const query = builtInQuery('errorRate', {
            provider: 'Replicas',
            namespace: ns,
            target: app,
            canaryName: canaryDeploymentName(app),
            windowMs: ANALYSIS.windowMs,
          });
          const stable = deployments.when(
            `${app}: all traffic on stable`,
            afterWeight(ns, app, (store) => trafficOnStable(store, ns, app, APP_REPLICAS)),
            120_000,
          );
          const gone = deployments.when(
            `${app}: canary gone`,
            afterWeight(ns, app, (store) => canaryGone(store, ns, app)),
            120_000,
          );
          sim.setProfile({ namespace: ns, name: app, version: 'canary', errorRate: 0.5 });
          const deadline = now() + 60_000;
          let badAt: number | undefined;
          while (badAt === undefined) {
            const sent = now();
            const result = await prometheus.query(query);
            if (result.ok && result.value > ERROR_RATE_THRESHOLD) badAt = sent;
            else if (sent > deadline)
              throw new Error(`${app}: the error rate never crossed ${ERROR_RATE_THRESHOLD}% in Prometheus`);
            else await sleep(PROMETHEUS_POLL_MS);
          }
          toStable.push((await stable) - badAt);
          toGone.push((await gone) - badAt);
          await releases
            .when(`${app}: Failed`, (store) => store.get(ns, app)?.status?.phase === 'Failed', 30_000)
            .catch(() => 0);
          outcomes.push(outcome(releases, ns, app));
          sim.resetProfiles(ns, app);
        }
      },
    );
  } finally {
    await deployments.stop();
    await releases.stop();
    await prometheus.close();
    await sim.stop();
  }
  return {
    toStable: summarize(toStable),
    toGone: summarize(toGone),
    outcomes,
    analysisIntervalMs: ANALYSIS.intervalMs,
    windowMs: ANALYSIS.windowMs,
    errorRateThreshold: ERROR_RATE_THRESHOLD,
  };
}

/**
 * `check`, but only once the canary of `app` has been seen with replicas: before the
 * release starts, "no canary and stable at full size" holds too. Evaluated on every
 * change in order, so the state it keeps follows the watch stream.
 */
function afterWeight(ns: string, app: string, check: Check<Deployment>): Check<Deployment> {
  let weighted = false;
  return (store) => {
    if (canaryWeightWritten(store, ns, app)) weighted = true;
    return weighted && check(store);
  };
}

/** True when a canary pod of `release` reports CrashLoopBackOff. */
function crashLooping(pods: Iterable<Pod>, release: string): boolean {
  for (const pod of pods) {
    if (pod.metadata.labels?.['deploy.codedance.io/canary'] !== release) continue;
    if (pod.status?.containerStatuses?.some((c) => c.state?.waiting?.reason === 'CrashLoopBackOff'))
      return true;
  }
  return false;
}

/** Rollback on a crash-looping canary pod, `n` times. */
export async function benchCrashRollback(env: BenchEnv, ns: string, n: number): Promise<RollbackResult> {
  const apps = Array.from({ length: n }, (_, i) => `rbc-${i}`);
  for (const app of apps) await createApp(env.admin, ns, app, APP_REPLICAS);
  await waitRolledOut(env.admin, ns, apps, 120_000);
  const deployments = await observe<Deployment>(env.admin, kinds.Deployment, ns);
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const pods = await observe<Pod>(env.admin, kinds.Pod, ns);
  const toStable: number[] = [];
  const toGone: number[] = [];
  const outcomes: string[] = [];
  try {
    await withController(env, { namespace: ns, name: 'rollback-crash' }, async () => {
      for (const app of apps) {
        const crashed = pods.when(
          `${app}: a canary pod in CrashLoopBackOff`,
          (store) => crashLooping(store.list(ns), app),
          120_000,
        );
        const stable = deployments.when(
          `${app}: all traffic on stable`,
          afterWeight(ns, app, (store) => trafficOnStable(store, ns, app, APP_REPLICAS)),
          120_000,
        );
        const gone = deployments.when(
          `${app}: canary gone`,
          afterWeight(ns, app, (store) => canaryGone(store, ns, app)),
          120_000,
        );
        await createRelease(
          env.admin,
          ns,
          app,
          {
            targetDeployment: app,
            canaryVersion: `${app}:v2`,
            strategy: {
              steps: [
                { weight: 50, pause: '10m' },
                { weight: 100, pause: '0s' },
              ],
            },
          },
          { [CanaryPodLabelsAnnotation]: JSON.stringify({ [crashLabel]: 'true' }) },
        );
        const crashedAt = await crashed;
        toStable.push((await stable) - crashedAt);
        toGone.push((await gone) - crashedAt);
        await releases
          .when(`${app}: Failed`, (store) => store.get(ns, app)?.status?.phase === 'Failed', 30_000)
          .catch(() => 0);
        outcomes.push(outcome(releases, ns, app));
      }
    });
  } finally {
    await deployments.stop();
    await releases.stop();
    await pods.stop();
  }
  return { toStable: summarize(toStable), toGone: summarize(toGone), outcomes };
}
