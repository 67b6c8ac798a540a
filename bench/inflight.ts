/**
 * In flight (issue 13.3): thousands of CanaryDeployments in flight at once in one
 * controller, as a platform with thousands of services has on a busy day.
 *
 * Every app (a Deployment of one replica and a headless Service) is created and rolled
 * out first. Then the releases are posted at a steady rate (Replicas provider, steps
 * 10 % then 50 %, each held for a pause longer than the whole creation, so every
 * release is in flight before the first one steps, then promotion). Releases of a real
 * fleet start at different moments, so their deadlines are spread over the creation
 * time as they are here; nothing in the controller knows it is benchmarked.
 *
 * Read from outside the controller (watch events arriving here, /proc, its /metrics):
 * - **step lag**: a step's pause deadline (`status.pauseUntil`, written by the
 *   controller when the step began) → the next step (or the promotion) seen in status;
 * - **API writes per step**: the controller's writes while only steps happen (every
 *   release created, none promoting yet) / the steps seen in that window;
 * - **RSS**: with every release in flight, peak over the run, and CPU of the controller
 *   beside each control-plane component's over the stepping window;
 * - **stuck or double-stepped**: a release that is not Completed in the end, or whose
 *   step went back or skipped one.
 */
import type { CanaryDeployment, Step } from '../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';
import type { ComponentName } from '../src/cluster/controlplane.ts';
import { createApp, createRelease, inBatches, waitRolledOut } from './apps.ts';
import { startControllerProcess, type BenchEnv } from './env.ts';
import { observe } from './observe.ts';
import {
  countDelta,
  readProcess,
  sampleRss,
  scrapeController,
  total,
  waitDelta,
  type WaitCounters,
} from './process-stats.ts';
import { now, sleep, summarize, type Summary } from './stats.ts';

export interface InflightOptions {
  releases: number;
  /** Releases posted per second (the API server and this benchmark share the machine). */
  createPerSecond: number;
}

/** The goals of issue 13.3. */
export const INFLIGHT_GOALS = { rssMiB: 500, stepLagP99Ms: 1000, writesPerStep: 3 } as const;

export interface InflightResult {
  releases: number;
  steps: string;
  pauseSeconds: number;
  /** Apps created and rolled out before the controller started. */
  appsSeconds: number;
  /** First POST → last POST of a release (the asked rate is {@link InflightOptions.createPerSecond}). */
  createSeconds: number;
  /** Pause deadline → next step seen, every step of every release. */
  stepLag: Summary & { p99: number };
  /** The same, by the step whose pause ended (the last one's next step is the promotion). */
  stepLagByStep: (Summary & { p99: number; step: number })[];
  stepsSeen: number;
  /** Controller writes in the window when only steps happened, per step seen in it. */
  window: { seconds: number; steps: number; writes: Record<string, number>; writesPerStep: number };
  /** Every release in flight (the last one at its first step). */
  rssAllInFlightBytes: number;
  rssPeakBytes: number;
  rssBaselineBytes: number;
  /** CPU seconds over the stepping window: the controller's and each cluster component's. */
  windowCpuSeconds: Record<string, number>;
  /** Where a late step waits, from the controller's own histograms: for a worker, for the client-side rate limit. */
  waits: {
    window: { queue: WaitCounters; rateLimit: WaitCounters };
    run: { queue: WaitCounters; rateLimit: WaitCounters };
  };
  /** Reconciles over the whole run and the time spent in them (the workers' load). */
  reconciles: { count: number; seconds: number };
  /**
   * From just before the first promotion to the last Completed: CPU seconds of the
   * controller and each cluster component, and the controller's requests per release by
   * verb and resource (where the second step's lag comes from).
   */
  promotions: {
    seconds: number;
    cpuSeconds: Record<string, number>;
    requestsPerRelease: Record<string, number>;
  };
  completed: number;
  failed: number;
  stuck: string[];
  doubleStepped: string[];
  /** First POST → last release Completed. */
  wallSeconds: number;
  requestsPerRelease: number;
  logFile: string;
}

const q99 = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]! : NaN;
};

/** CPU seconds of the controller and of every cluster component now. */
function cpuNow(env: BenchEnv, controllerPid: number): Record<string, number> {
  const out: Record<string, number> = {};
  out.controller = readProcess(controllerPid)?.cpuSeconds ?? NaN;
  for (const [name, component] of Object.entries(env.state.components) as [
    ComponentName,
    { pid: number },
  ][]) {
    const reading = readProcess(component.pid);
    if (reading) out[name] = reading.cpuSeconds;
  }
  return out;
}

/** CPU seconds each process used between two {@link cpuNow} readings. */
function cpuBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, cpu]) => [name, cpu - (before[name] ?? cpu)]));
}

const isRead = (key: string): boolean => /^(GET|LIST|WATCH) /.test(key);

export async function benchInflight(
  env: BenchEnv,
  ns: string,
  options: InflightOptions,
  onProgress: (line: string) => void,
): Promise<InflightResult> {
  const count = options.releases;
  const apps = Array.from({ length: count }, (_, i) => `f-${i}`);
  const planned = count / options.createPerSecond;
  // Longer than the creation (with room for a slower API server), so all are in flight before the first step.
  const pauseSeconds = Math.ceil(planned * 1.5 + 30);
  const steps: Step[] = [
    { weight: 10, pause: `${pauseSeconds}s` },
    { weight: 50, pause: `${pauseSeconds}s` },
  ];

  onProgress(`in flight: creating ${count} apps of 1 replica`);
  const appsStart = now();
  let made = 0;
  const making = setInterval(() => onProgress(`  ${made}/${count} apps created`), 15_000);
  try {
    await inBatches(apps, 32, async (app) => {
      await createApp(env.admin, ns, app, 1);
      made++;
    });
  } finally {
    clearInterval(making);
  }
  await waitRolledOut(env.admin, ns, apps, 30 * 60_000);
  const appsSeconds = (now() - appsStart) / 1000;
  onProgress(`in flight: ${count} apps available in ${appsSeconds.toFixed(0)} s`);

  // Incremental bookkeeping: one pass per event, not per release per event.
  const lastStep = new Map<string, { index: number; pauseUntil?: string }>();
  const lags: number[] = [];
  const lagsByStep = new Map<number, number[]>();
  const stepTimes: number[] = [];
  const doubleStepped = new Set<string>();
  const finished = new Map<string, string>();
  let firstWeightCount = 0;
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const unsubscribe = releases.onChange((change, at) => {
    if (change.type !== 'apply') return;
    const release = change.object;
    const name = release.metadata.name ?? '';
    const status = release.status;
    if (!status?.phase) return;
    if (status.phase === 'Completed' || status.phase === 'Failed') {
      if (!finished.has(name)) finished.set(name, status.phase);
      return;
    }
    const index = status.currentStepIndex;
    if (index === undefined) return;
    const before = lastStep.get(name);
    if (!before) {
      if (status.stepStartedAt) {
        firstWeightCount++;
        lastStep.set(name, { index, pauseUntil: status.pauseUntil });
      }
      return;
    }
    if (index === before.index) {
      if (status.pauseUntil) before.pauseUntil = status.pauseUntil;
      return;
    }
    if (index !== before.index + 1) doubleStepped.add(name);
    else if (before.pauseUntil) {
      const lag = at - Date.parse(before.pauseUntil);
      lags.push(lag);
      lagsByStep.set(before.index, [...(lagsByStep.get(before.index) ?? []), lag]);
      stepTimes.push(at);
    }
    lastStep.set(name, { index, pauseUntil: status.pauseUntil });
  });

  const controller = await startControllerProcess(env, { namespace: ns, name: 'inflight' });
  const rss = sampleRss(controller.pid, 500);
  try {
    await sleep(3000);
    const rssBaselineBytes = readProcess(controller.pid)?.rssBytes ?? NaN;
    const countersStart = await scrapeController(controller.url);
    onProgress(
      `in flight: posting ${count} releases at ${options.createPerSecond}/s; steps ${steps.map((s) => `${s.weight}%/${s.pause}`).join(' → ')} → promotion`,
    );
    const createStart = now();
    let posted = 0;
    const report = setInterval(
      () =>
        onProgress(
          `  ${posted} posted, ${firstWeightCount} at their first step, ${stepTimes.length} steps taken, ${finished.size} finished; RSS ${(rss.peak() / 2 ** 20).toFixed(0)} MiB peak`,
        ),
      15_000,
    );
    try {
      // Paced: release i is posted no earlier than i / rate seconds after the start.
      await inBatches(apps, 16, async (app, i) => {
        const due = createStart + (i * 1000) / options.createPerSecond;
        const wait = due - now();
        if (wait > 0) await sleep(wait);
        await createRelease(env.admin, ns, app, {
          targetDeployment: app,
          canaryVersion: `${app}:v2`,
          strategy: { steps },
        });
        posted++;
      });
      const createSeconds = (now() - createStart) / 1000;
      // Every release at its first step: all in flight.
      while (firstWeightCount < count) {
        if (stepTimes.length > 0 || now() - createStart > pauseSeconds * 1000)
          throw new Error(
            `only ${firstWeightCount} of ${count} releases reached their first step before the first pause ended`,
          );
        await sleep(500);
      }
      const rssAllInFlightBytes = readProcess(controller.pid)?.rssBytes ?? NaN;
      onProgress(
        `in flight: all ${count} at their first step ${((now() - createStart) / 1000).toFixed(0)} s after the first POST (posting took ${createSeconds.toFixed(0)} s); RSS ${(rssAllInFlightBytes / 2 ** 20).toFixed(0)} MiB`,
      );

      // The stepping window: from the first step to the last release's first step ending.
      while (stepTimes.length === 0) await sleep(200);
      const windowStart = now();
      const cpuStart = cpuNow(env, controller.pid);
      const countersWindow = await scrapeController(controller.url);
      const stepsAtStart = stepTimes.length;
      // Stop before any promotion can start (the first release's second pause ends then).
      const windowEnd = createStart + (pauseSeconds * 2 - 5) * 1000;
      while (now() < windowEnd && stepTimes.length < count) await sleep(200);
      const countersWindowEnd = await scrapeController(controller.url);
      const cpuEnd = cpuNow(env, controller.pid);
      const windowSteps = stepTimes.length - stepsAtStart;
      const windowRequests = countDelta(countersWindow.requests, countersWindowEnd.requests);
      const writes = Object.fromEntries(Object.entries(windowRequests).filter(([key]) => !isRead(key)));
      const window = {
        seconds: (now() - windowStart) / 1000,
        steps: windowSteps,
        writes,
        writesPerStep: total(writes) / Math.max(1, windowSteps),
      };
      onProgress(
        `in flight: ${windowSteps} steps in ${window.seconds.toFixed(0)} s, ${window.writesPerStep.toFixed(2)} writes per step; waiting for the promotions`,
      );

      // The promotions' reading starts where they can first start (the stepping window may
      // have ended earlier, once every release had stepped), so its CPU and time match.
      while (now() < windowEnd) await sleep(200);
      const promotionsStart = now();
      const cpuPromotionsStart = cpuNow(env, controller.pid);
      const countersPromotionsStart = await scrapeController(controller.url);
      const deadline = createStart + (pauseSeconds * 2 + createSeconds + 20 * 60) * 1000;
      while (finished.size < count && now() < deadline) await sleep(1000);
      const wallSeconds = (now() - createStart) / 1000;
      const countersEnd = await scrapeController(controller.url);
      const promotions = {
        seconds: (now() - promotionsStart) / 1000,
        cpuSeconds: cpuBetween(cpuPromotionsStart, cpuNow(env, controller.pid)),
        requestsPerRelease: Object.fromEntries(
          Object.entries(countDelta(countersPromotionsStart.requests, countersEnd.requests)).map(([k, v]) => [
            k,
            v / count,
          ]),
        ),
      };
      const stuck = apps.filter((app) => !finished.has(app));
      const failed = [...finished.values()].filter((phase) => phase === 'Failed').length;
      const lag = summarize(lags);
      return {
        releases: count,
        steps: `${steps.map((s) => `${s.weight}%/${s.pause}`).join(' → ')} → promotion`,
        pauseSeconds,
        appsSeconds,
        createSeconds,
        stepLag: { ...lag, p99: q99(lags) },
        stepLagByStep: [...lagsByStep.entries()]
          .sort(([a], [b]) => a - b)
          .map(([step, values]) => ({ step, ...summarize(values), p99: q99(values) })),
        stepsSeen: lags.length,
        window,
        rssAllInFlightBytes,
        rssPeakBytes: rss.peak(),
        rssBaselineBytes,
        waits: {
          window: {
            queue: waitDelta(countersWindow.queueWait, countersWindowEnd.queueWait),
            rateLimit: waitDelta(countersWindow.rateLimitWait, countersWindowEnd.rateLimitWait),
          },
          run: {
            queue: waitDelta(countersStart.queueWait, countersEnd.queueWait),
            rateLimit: waitDelta(countersStart.rateLimitWait, countersEnd.rateLimitWait),
          },
        },
        promotions,
        reconciles: {
          count: countersEnd.reconciles - countersStart.reconciles,
          seconds: countersEnd.reconcileSeconds - countersStart.reconcileSeconds,
        },
        windowCpuSeconds: cpuBetween(cpuStart, cpuEnd),
        completed: finished.size - failed,
        failed,
        stuck,
        doubleStepped: [...doubleStepped],
        wallSeconds,
        requestsPerRelease: total(countDelta(countersStart.requests, countersEnd.requests)) / count,
        logFile: controller.logFile,
      };
    } finally {
      clearInterval(report);
    }
  } finally {
    unsubscribe();
    rss.stop();
    await controller.stop();
    await releases.stop();
  }
}
