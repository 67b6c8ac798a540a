/**
 * Creation to first weight: from a CanaryDeployment's POST returning to the first
 * traffic weight written (the Replicas provider scaling the canary Deployment, created
 * at 0, to its first step's share), as a watcher of the Deployments sees it; beside it,
 * the same release's `status.currentWeight` reaching that step (what `kubectl get cd`
 * shows). Releases run one after the other against an otherwise idle controller, so
 * the figure is the controller's path (watch → reconcile → writes), not queueing. The
 * controller's requests and reconciles over that span say what the path is made of.
 */
import type { CanaryDeployment } from '../src/api/canary-deployment.ts';
import type { Deployment } from '../src/canary/workloads.ts';
import type { KubeObject } from '../src/runtime/client.ts';
import type { Store } from '../src/runtime/store.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { canaryWeightWritten, createApp, createRelease, waitRolledOut } from './apps.ts';
import type { BenchEnv } from './env.ts';
import { withController } from './env.ts';
import { observe } from './observe.ts';
import { countDelta, scrapeController } from './process-stats.ts';
import { now, summarize, type Summary } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

export interface FirstWeightResult {
  /** POST returned → canary Deployment `spec.replicas` > 0 seen. */
  toWeight: Summary;
  /** POST returned → `status.currentWeight` > 0 seen. */
  toStatus: Summary;
  /** The controller's API requests from just before the POST to the status weight seen, per release (mean), by `VERB resource`. */
  requestsToFirstWeight: Record<string, number>;
  /** Reconciles in that span, per release (mean). */
  reconcilesToFirstWeight: number;
}

/** `n` releases, each of its own 2-replica app, one at a time (each deleted before the next). */
export async function benchFirstWeight(env: BenchEnv, ns: string, n: number): Promise<FirstWeightResult> {
  const apps = Array.from({ length: n }, (_, i) => `fw-${i}`);
  for (const app of apps) await createApp(env.admin, ns, app, 2);
  await waitRolledOut(env.admin, ns, apps, 120_000);
  const deployments = await observe<Deployment>(env.admin, kinds.Deployment, ns);
  const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
  const toWeight: number[] = [];
  const toStatus: number[] = [];
  const requests: Record<string, number> = {};
  let reconciles = 0;
  try {
    await withController(env, { namespace: ns, name: 'first-weight' }, async (controller) => {
      for (const app of apps) {
        const before = await scrapeController(controller.url);
        const weight = deployments.when(
          `${app}: first weight`,
          (store) => canaryWeightWritten(store, ns, app),
          30_000,
        );
        const status = releases.when(
          `${app}: status.currentWeight > 0`,
          (store) => (store.get(ns, app)?.status?.currentWeight ?? 0) > 0,
          30_000,
        );
        await createRelease(env.admin, ns, app, {
          targetDeployment: app,
          canaryVersion: `${app}:v2`,
          // The first step is held long enough that nothing else happens while we look.
          strategy: {
            steps: [
              { weight: 50, pause: '10m' },
              { weight: 100, pause: '0s' },
            ],
          },
        });
        const created = now();
        toWeight.push((await weight) - created);
        toStatus.push((await status) - created);
        const after = await scrapeController(controller.url);
        for (const [key, n] of Object.entries(countDelta(before.requests, after.requests)))
          requests[key] = (requests[key] ?? 0) + n / apps.length;
        reconciles += (after.reconciles - before.reconciles) / apps.length;
        // Gone (finalizer cleanup done) before the next one, so each is measured alone.
        await env.admin.delete(CanaryDeploymentKind, ns, app);
        await releases.when(`${app} deleted`, (store) => store.get(ns, app) === undefined, 60_000);
      }
    });
  } finally {
    await deployments.stop();
    await releases.stop();
  }
  return {
    toWeight: summarize(toWeight),
    toStatus: summarize(toStatus),
    requestsToFirstWeight: requests,
    reconcilesToFirstWeight: reconciles,
  };
}

export interface IstioFirstWeightResult {
  /** The canary Deployment seen available (watch) → the VirtualService's canary weight > 0 seen (watch): the controller's path once the canary is ready. */
  readyToWeight: Summary;
  /** POST returned → VirtualService weight > 0 (includes the canary's pods coming up under kwok). */
  toWeight: Summary;
  /** The controller's API requests from the POST to the weight seen, per release (mean). */
  requestsToWeight: Record<string, number>;
}

interface VirtualServiceLike extends KubeObject {
  spec: { http?: { route?: { destination: { subset?: string }; weight?: number }[] }[] };
}

/** The canary subset's weight in the VirtualService `name`. */
function canarySubsetWeight(store: Store<VirtualServiceLike>, ns: string, name: string): number {
  const route = store.get(ns, name)?.spec.http?.[0]?.route ?? [];
  return route.find((d) => d.destination.subset === 'canary')?.weight ?? 0;
}

/**
 * The same with the Istio provider, the case where the first weight waits for the canary
 * to be available: apps of 2 replicas behind a VirtualService each; the figure that is the
 * controller's own is from the canary seen available to the route's weight seen.
 */
export async function benchFirstWeightIstio(
  env: BenchEnv,
  ns: string,
  n: number,
): Promise<IstioFirstWeightResult> {
  const apps = Array.from({ length: n }, (_, i) => `fwi-${i}`);
  for (const app of apps) {
    await createApp(env.admin, ns, app, 2);
    await env.admin.create<VirtualServiceLike>(kinds.VirtualService, {
      metadata: { name: app, namespace: ns },
      spec: {
        hosts: [app],
        http: [{ route: [{ destination: { host: app, port: { number: 80 } } } as never] }],
      },
    } as VirtualServiceLike);
  }
  await waitRolledOut(env.admin, ns, apps, 120_000);
  const deployments = await observe<Deployment>(env.admin, kinds.Deployment, ns);
  const routes = await observe<VirtualServiceLike>(env.admin, kinds.VirtualService, ns);
  const readyToWeight: number[] = [];
  const toWeight: number[] = [];
  const requests: Record<string, number> = {};
  try {
    await withController(env, { namespace: ns, name: 'first-weight-istio' }, async (controller) => {
      for (const app of apps) {
        const before = await scrapeController(controller.url);
        const ready = deployments.when(
          `${app}: canary available`,
          (store) => (store.get(ns, `${app}-canary`)?.status?.availableReplicas ?? 0) >= 2,
          60_000,
        );
        const weight = routes.when(
          `${app}: first weight`,
          (store) => canarySubsetWeight(store, ns, app) > 0,
          60_000,
        );
        await createRelease(env.admin, ns, app, {
          targetDeployment: app,
          canaryVersion: `${app}:v2`,
          strategy: {
            steps: [
              { weight: 50, pause: '10m' },
              { weight: 100, pause: '0s' },
            ],
          },
          traffic: { provider: 'Istio', istio: { virtualService: app } },
        });
        const created = now();
        const readyAt = await ready;
        const weightAt = await weight;
        readyToWeight.push(weightAt - readyAt);
        toWeight.push(weightAt - created);
        const after = await scrapeController(controller.url);
        for (const [key, count] of Object.entries(countDelta(before.requests, after.requests)))
          requests[key] = (requests[key] ?? 0) + count / apps.length;
        await env.admin.delete(CanaryDeploymentKind, ns, app);
        await deployments.when(
          `${app} canary gone`,
          (store) => store.get(ns, `${app}-canary`) === undefined,
          60_000,
        );
      }
    });
  } finally {
    await deployments.stop();
    await routes.stop();
  }
  return {
    readyToWeight: summarize(readyToWeight),
    toWeight: summarize(toWeight),
    requestsToWeight: requests,
  };
}
