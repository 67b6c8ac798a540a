/**
 * Scale: one controller process releasing many CanaryDeployments at once.
 *
 * Every app (a 2-replica Deployment and a headless Service) is created up front and
 * rolled out before the controller starts, so the controller's idle footprint already
 * holds them; then each phase creates its batch of releases (Replicas provider, steps
 * 10% → 50% → 100% with 1 s pauses, no metrics) and waits until every one of them is
 * Completed (or Failed). Per phase we read, from outside the controller:
 * - wall time from the first POST to the last release Completed, and each release's
 *   own creation → Completed;
 * - RSS (peak sampled every 250 ms, and at the end after a settle), CPU seconds
 *   (`/proc/<pid>/stat`), both of the controller process alone;
 * - its API requests (its own `codedance_api_requests_total`), per release, split
 *   into reads (GET/LIST/WATCH) and writes;
 * - then {@link IDLE_MS} of quiet with every release finished: requests made while
 *   nothing changes (should be none) and RSS afterwards.
 * Later phases add to the releases already Completed in the same namespace, so "memory
 * stays flat" reads as: RSS grows by little per release, and not at all while idle.
 */
import type { CanaryDeployment, Step } from '../src/api/canary-deployment.ts';
import { createApp, createRelease, inBatches, waitRolledOut } from './apps.ts';
import { startControllerProcess, type BenchEnv } from './env.ts';
import { observe } from './observe.ts';
import {
  countDelta,
  readProcess,
  sampleRss,
  scrapeController,
  total,
  type ControllerCounters,
} from './process-stats.ts';
import type { ComponentName } from '../src/cluster/controlplane.ts';
import { now, sleep, summarize, type Summary } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

/** Quiet time after a phase, to see what an idle controller costs. */
export const IDLE_MS = 10_000;
/** Releases and apps created at once by the benchmark (its own client, not the controller). */
const CREATE_CONCURRENCY = 16;

export interface ScalePhase {
  /** Releases created in this phase. */
  releases: number;
  /** Releases Completed in the namespace at the end of the phase (all phases so far). */
  releasesInNamespace: number;
  completed: number;
  failed: number;
  /** First POST → last release finished. */
  wallMs: number;
  /** Per release: POST returned → phase Completed seen. */
  toCompleted: Summary;
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  /** RSS after {@link IDLE_MS} of quiet. */
  rssIdleBytes: number;
  cpuSeconds: number;
  apiRequests: Record<string, number>;
  requestsPerRelease: number;
  writesPerRelease: number;
  readsPerRelease: number;
  /** Requests made during the quiet time after the phase. */
  idleRequests: Record<string, number>;
  reconcilesPerRelease: number;
  /** Mean time inside one reconcile, ms. */
  meanReconcileMs: number;
  reconcileErrors: number;
  /** Where each release spent its time, by status message (names and times blanked), in order of first appearance. */
  stages: { stage: string; releases: number; median: number; p90: number }[];
  /** CPU seconds of each cluster component over the phase, for comparison with the controller's. */
  componentCpuSeconds: Partial<Record<ComponentName, number>>;
}

export interface ScaleResult {
  replicasPerApp: number;
  steps: string;
  /** RSS of the controller once started with every app in cache and no release yet. */
  rssBaselineBytes: number;
  phases: ScalePhase[];
  /** Where the process's log is (for failures). */
  logFile: string;
}

const REPLICAS_PER_APP = 2;
const SPEC_STEPS: Step[] = [
  { weight: 10, pause: '1s' },
  { weight: 50, pause: '1s' },
  { weight: 100, pause: '0s' },
];

const isRead = (key: string): boolean => /^(GET|LIST|WATCH) /.test(key);

/** A status as a stage name shared by every release: its own name, version and deadlines blanked. */
function stageOf(release: CanaryDeployment | undefined, app: string): string {
  const status = release?.status;
  if (!status?.phase) return '(no status yet)';
  const message = (status.message ?? status.reason ?? '')
    .replaceAll(`${app}:v2`, '<version>')
    .replaceAll(app, '<app>')
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>');
  return `${status.phase}: ${message}`;
}

/** CPU seconds of every cluster component now (pids from the cluster's state). */
function componentCpu(env: BenchEnv): Partial<Record<ComponentName, number>> {
  const out: Partial<Record<ComponentName, number>> = {};
  for (const [name, component] of Object.entries(env.state.components) as [
    ComponentName,
    { pid: number },
  ][]) {
    const reading = readProcess(component.pid);
    if (reading) out[name] = reading.cpuSeconds;
  }
  return out;
}

/** Per-stage time of each release, fed with the CanaryDeployments' watch events. */
function stageClock(
  ns: string,
  batch: readonly string[],
): {
  created(app: string, at: number): void;
  change(release: CanaryDeployment, at: number): void;
  summary(): ScalePhase['stages'];
} {
  const inBatch = new Set(batch);
  const current = new Map<string, { stage: string; since: number }>();
  // stage → app → ms spent
  const spent = new Map<string, Map<string, number>>();
  const close = (app: string, at: number): void => {
    const entry = current.get(app);
    if (!entry) return;
    const perApp = spent.get(entry.stage) ?? new Map<string, number>();
    perApp.set(app, (perApp.get(app) ?? 0) + (at - entry.since));
    spent.set(entry.stage, perApp);
  };
  return {
    created(app, at) {
      if (!current.has(app)) current.set(app, { stage: '(no status yet)', since: at });
    },
    change(release, at) {
      const app = release.metadata.name ?? '';
      if (release.metadata.namespace !== ns || !inBatch.has(app)) return;
      const stage = stageOf(release, app);
      const entry = current.get(app);
      if (entry?.stage === stage) return;
      if (entry && /^(Completed|Failed):/.test(entry.stage)) return;
      close(app, at);
      current.set(app, { stage, since: at });
    },
    summary() {
      return [...spent.entries()].map(([stage, perApp]) => {
        const s = summarize([...perApp.values()]);
        return { stage, releases: s.n, median: s.median, p90: s.p90 };
      });
    },
  };
}

/** Creates every app, starts one controller, then runs one phase per entry of `sizes` (releases at once). */
export async function benchScale(
  env: BenchEnv,
  ns: string,
  sizes: readonly number[],
  onProgress: (line: string) => void,
): Promise<ScaleResult> {
  const apps = Array.from({ length: sizes.reduce((a, b) => a + b, 0) }, (_, i) => `s-${i}`);
  onProgress(`creating ${apps.length} apps of ${REPLICAS_PER_APP} replicas`);
  await inBatches(apps, CREATE_CONCURRENCY, (app) => createApp(env.admin, ns, app, REPLICAS_PER_APP));
  await waitRolledOut(env.admin, ns, apps, 600_000);
  onProgress(`${apps.length} apps available`);
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const controller = await startControllerProcess(env, { namespace: ns, name: 'scale' });
  const rss = sampleRss(controller.pid, 250);
  const phases: ScalePhase[] = [];
  try {
    // Let start-up allocations settle before the baseline.
    await sleep(3000);
    const rssBaselineBytes = readProcess(controller.pid)?.rssBytes ?? NaN;
    let offset = 0;
    for (const size of sizes) {
      const batch = apps.slice(offset, offset + size);
      offset += size;
      onProgress(`phase: ${size} concurrent releases`);
      const before = readProcess(controller.pid);
      const countersBefore: ControllerCounters = await scrapeController(controller.url);
      const clusterCpuBefore = componentCpu(env);
      rss.resetPeak();
      const finished = new Map<string, number>();
      const created = new Map<string, number>();
      let failed = 0;
      const stages = stageClock(ns, batch);
      const unsubscribe = releases.onChange((change, at) => {
        if (change.type === 'apply') stages.change(change.object, at);
      });
      const allDone = releases.when(
        `${size} releases finished`,
        (store) => {
          const at = now();
          for (const app of batch) {
            if (finished.has(app)) continue;
            const phase = store.get(ns, app)?.status?.phase;
            if (phase === 'Completed' || phase === 'Failed') {
              finished.set(app, at);
              if (phase === 'Failed') failed++;
            }
          }
          return finished.size === batch.length;
        },
        30 * 60_000,
      );
      const progress = setInterval(() => onProgress(`  ${finished.size}/${size} finished`), 15_000);
      const start = now();
      try {
        await inBatches(batch, CREATE_CONCURRENCY, async (app) => {
          await createRelease(env.admin, ns, app, {
            targetDeployment: app,
            canaryVersion: `${app}:v2`,
            strategy: { steps: SPEC_STEPS },
          });
          const at = now();
          created.set(app, at);
          stages.created(app, at);
        });
        await allDone;
      } finally {
        clearInterval(progress);
        unsubscribe();
      }
      const wallMs = now() - start;
      // The last status write and its follow-ups (e.g. the canary's deletion events) land.
      await sleep(2000);
      const after = readProcess(controller.pid);
      const clusterCpuAfter = componentCpu(env);
      const countersAfter = await scrapeController(controller.url);
      const requests = countDelta(countersBefore.requests, countersAfter.requests);
      const rssEndBytes = after?.rssBytes ?? NaN;
      const rssPeakBytes = rss.peak();
      await sleep(IDLE_MS);
      const idleRequests = countDelta(
        countersBefore.requests,
        (await scrapeController(controller.url)).requests,
      );
      for (const [key, value] of Object.entries(requests)) {
        const idle = (idleRequests[key] ?? 0) - value;
        if (idle > 0) idleRequests[key] = idle;
        else delete idleRequests[key];
      }
      const writes = Object.entries(requests)
        .filter(([key]) => !isRead(key))
        .reduce((a, [, v]) => a + v, 0);
      phases.push({
        releases: size,
        releasesInNamespace: offset,
        completed: batch.length - failed,
        failed,
        wallMs,
        toCompleted: summarize(batch.map((app) => finished.get(app)! - (created.get(app) ?? start))),
        rssStartBytes: before?.rssBytes ?? NaN,
        rssPeakBytes,
        rssEndBytes,
        rssIdleBytes: readProcess(controller.pid)?.rssBytes ?? NaN,
        cpuSeconds: (after?.cpuSeconds ?? NaN) - (before?.cpuSeconds ?? NaN),
        apiRequests: requests,
        requestsPerRelease: total(requests) / size,
        writesPerRelease: writes / size,
        readsPerRelease: (total(requests) - writes) / size,
        idleRequests,
        reconcilesPerRelease: (countersAfter.reconciles - countersBefore.reconciles) / size,
        meanReconcileMs:
          ((countersAfter.reconcileSeconds - countersBefore.reconcileSeconds) * 1000) /
          Math.max(1, countersAfter.reconciles - countersBefore.reconciles),
        reconcileErrors: countersAfter.reconcileErrors - countersBefore.reconcileErrors,
        stages: stages.summary(),
        componentCpuSeconds: Object.fromEntries(
          Object.entries(clusterCpuAfter).map(([name, cpu]) => [
            name,
            cpu - ((clusterCpuBefore as Record<string, number>)[name] ?? cpu),
          ]),
        ) as Partial<Record<ComponentName, number>>,
      });
      onProgress(`phase ${size}: ${(wallMs / 1000).toFixed(1)} s, ${failed} failed`);
    }
    return {
      replicasPerApp: REPLICAS_PER_APP,
      steps: SPEC_STEPS.map((s) => `${s.weight}%/${s.pause}`).join(' → '),
      rssBaselineBytes,
      phases,
      logFile: controller.logFile,
    };
  } finally {
    rss.stop();
    await controller.stop();
    await releases.stop();
  }
}
