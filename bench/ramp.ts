/**
 * Ramp and rest: how fast many new releases reach their first weight, and what the
 * controller costs once they all wait.
 *
 * One controller process; every app (a 1-replica Deployment and a headless Service) is
 * created and rolled out before it starts. Then two waves of releases are posted at once
 * (`waves`, e.g. 50 then 150 more), Replicas provider, first step 10% held for an hour;
 * each wave's figure is from its first POST returning to the last of its releases'
 * first weight (the canary Deployment asking for a replica) seen through a watch.
 * Then every release is paused (`spec.paused: true`), and once all say Paused the
 * controller's CPU seconds and API requests are read over `idleMs`: a quiet controller
 * at rest spends close to nothing (no timer wakes a paused release before its deadline).
 */
import type { CanaryDeployment } from '../src/api/canary-deployment.ts';
import type { Deployment } from '../src/canary/workloads.ts';
import * as kinds from '../src/runtime/kinds.ts';
import {
  canaryDeploymentName,
  canaryWeightWritten,
  createApp,
  createRelease,
  inBatches,
  rolledOut,
  waitRolledOut,
} from './apps.ts';
import { startControllerProcess, type BenchEnv } from './env.ts';
import { observe } from './observe.ts';
import { countDelta, readProcess, scrapeController, total } from './process-stats.ts';
import { now, sleep } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

/** Releases and apps created at once by the benchmark (its own client, not the controller). */
const CREATE_CONCURRENCY = 16;

export interface RampResult {
  /** Per wave: releases posted, first POST → last first weight, ms. */
  waves: { releases: number; wallMs: number }[];
  paused: number;
  idleMs: number;
  /** Controller CPU (user + system) over the idle span, seconds; and per minute. */
  idleCpuSeconds: number;
  idleCpuSecondsPerMinute: number;
  /** The controller's API requests over the idle span. */
  idleRequests: Record<string, number>;
  /** Reconciles over the idle span (what woke a paused release). */
  idleReconciles: number;
  /** The same controller's CPU per minute before any release existed (every app cached): its floor. */
  baselineCpuSecondsPerMinute: number;
}

/** Runs the waves, then the rest (see the module comment). */
export async function benchRamp(
  env: BenchEnv,
  ns: string,
  waves: readonly number[],
  idleMs: number,
): Promise<RampResult> {
  const all = waves.reduce((a, b) => a + b, 0);
  const apps = Array.from({ length: all }, (_, i) => `ramp-${i}`);
  await inBatches(apps, CREATE_CONCURRENCY, (app) => createApp(env.admin, ns, app, 1));
  await waitRolledOut(env.admin, ns, apps, 600_000);
  const deployments = await observe<Deployment>(env.admin, kinds.Deployment, ns);
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const controller = await startControllerProcess(env, { namespace: ns, name: 'ramp' });
  const result: RampResult = {
    waves: [],
    paused: 0,
    idleMs,
    idleCpuSeconds: NaN,
    idleCpuSecondsPerMinute: NaN,
    idleRequests: {},
    idleReconciles: NaN,
    baselineCpuSecondsPerMinute: NaN,
  };
  try {
    // The floor: the same process, caches full, no release yet, over the same span.
    await sleep(5_000);
    const floorStart = readProcess(controller.pid);
    await sleep(idleMs);
    const floorEnd = readProcess(controller.pid);
    result.baselineCpuSecondsPerMinute =
      (((floorEnd?.cpuSeconds ?? NaN) - (floorStart?.cpuSeconds ?? NaN)) * 60_000) / idleMs;
    let offset = 0;
    for (const size of waves) {
      const batch = apps.slice(offset, offset + size);
      offset += size;
      const reached = deployments.when(
        `${size} releases at their first weight`,
        (store) => batch.every((app) => canaryWeightWritten(store, ns, app)),
        600_000,
      );
      const start = now();
      await inBatches(batch, CREATE_CONCURRENCY, async (app) => {
        await createRelease(env.admin, ns, app, {
          targetDeployment: app,
          canaryVersion: `${app}:v2`,
          strategy: {
            steps: [
              { weight: 10, pause: '1h' },
              { weight: 100, pause: '0s' },
            ],
          },
        });
      });
      result.waves.push({ releases: size, wallMs: (await reached) - start });
    }
    await inBatches(apps, CREATE_CONCURRENCY, async (app) => {
      await env.admin.patch(CanaryDeploymentKind, ns, app, { spec: { paused: true } }, 'merge');
    });
    await releases.when(
      `${all} releases Paused`,
      (store) => apps.every((app) => store.get(ns, app)?.status?.phase === 'Paused'),
      600_000,
    );
    result.paused = all;
    // At rest means the cluster too: every pod of both versions up (each pod and Deployment
    // status change is, rightly, a reason to look at a release), then the last events settle.
    await deployments.when(
      'every stable and canary Deployment rolled out',
      (store) =>
        apps.every(
          (app) => rolledOut(store.get(ns, app)) && rolledOut(store.get(ns, canaryDeploymentName(app))),
        ),
      600_000,
    );
    await sleep(15_000);
    const before = readProcess(controller.pid);
    const countersBefore = await scrapeController(controller.url);
    await sleep(idleMs);
    const after = readProcess(controller.pid);
    const countersAfter = await scrapeController(controller.url);
    result.idleRequests = countDelta(countersBefore.requests, countersAfter.requests);
    result.idleReconciles = countersAfter.reconciles - countersBefore.reconciles;
    result.idleCpuSeconds = (after?.cpuSeconds ?? NaN) - (before?.cpuSeconds ?? NaN);
    result.idleCpuSecondsPerMinute = (result.idleCpuSeconds * 60_000) / idleMs;
  } finally {
    await controller.stop();
    await deployments.stop();
    await releases.stop();
  }
  return result;
}

/** The requests of an idle span, in a line. */
export function describeRequests(counts: Record<string, number>): string {
  const n = total(counts);
  if (n === 0) return '0';
  return `${n} (${Object.entries(counts)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})`;
}
