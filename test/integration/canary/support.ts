/**
 * Helpers of the release-engine tests: the API (our CRDs, the controller's ClusterRole,
 * the Istio and Gateway API CRDs) on the shared cluster, a controller process per test
 * namespace (`node src/main.ts --namespace <ns> --controllers canary`, under the
 * controller identity), the user's app (a Deployment and its Service), and reads of the
 * objects the release changes.
 */
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { Deployment } from '../../../src/canary/workloads.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import {
  ensureTrafficCrds,
  installApi,
  startController,
  type ControllerProcess,
} from '../../support/controller.ts';
import { startSimulator, type Simulator } from '../../../src/sim/simulator.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

export { waitFor } from '../../support/cluster.ts';
// The controller helpers every release test uses, from the shared test support.
export { keepLog, killHard, type ControllerProcess } from '../../support/controller.ts';

let installed: Promise<void> | undefined;

/** The cluster with everything a release needs, a fresh namespace, and a running controller. */
export async function releaseEnv(
  t: NamespaceOwner,
  options: { controller?: boolean /** Extra controller flags. */; args?: string[] } = {},
): Promise<{ admin: KubeClient; ns: string; controller: ControllerProcess | undefined }> {
  // A test waits on API requests and child processes; should all of those hang without
  // a handle (seen under heavy load), node:test would drop the test silently ("event loop
  // has already resolved"). A live timer keeps the loop, so the test fails on its own
  // timeout with a stack instead.
  const keepAlive = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(keepAlive));
  const { admin } = await testCluster();
  installed ??= (async () => {
    await installApi(admin);
    await ensureTrafficCrds(admin);
  })();
  await installed;
  const ns = await testNamespace(t);
  // The namespace is deleted after the test, when no controller may be left to run the
  // releases' finalizers: drop them so the namespace can go.
  t.after(async () => {
    const list = await admin.list(CanaryDeploymentKind, { namespace: ns });
    await Promise.all(
      list.items.map((cd) =>
        admin
          .patch(
            CanaryDeploymentKind,
            ns,
            cd.metadata.name ?? '',
            { metadata: { finalizers: null } },
            'merge',
          )
          .catch(() => undefined),
      ),
    );
  });
  const controller =
    options.controller === false ? undefined : await startCanaryController(t, ns, options.args);
  return { admin, ns, controller };
}

/** Starts a controller for `ns` running the canary controller only (with extra flags `args`). */
export function startCanaryController(
  t: NamespaceOwner,
  ns: string,
  args: string[] = [],
): Promise<ControllerProcess> {
  return startController(t, { namespaces: [ns], controllers: ['canary'], args });
}

export interface AppOptions {
  replicas?: number;
  image?: string;
  /** Extra pod template labels. */
  labels?: Record<string, string>;
  /** Create a Service named like the Deployment. @default true */
  service?: boolean;
  /** Deployment minReadySeconds: slows rollouts down (kwok pods are ready at once). */
  minReadySeconds?: number;
}

/** The user's app: Deployment `name` (container `app`) and Service `name` selecting `app: name`. */
export async function createApp(
  admin: KubeClient,
  ns: string,
  name: string,
  options: AppOptions = {},
): Promise<void> {
  const labels = { app: name, ...options.labels };
  await admin.create(kinds.Deployment, {
    metadata: { name, namespace: ns },
    spec: {
      replicas: options.replicas ?? 4,
      ...(options.minReadySeconds ? { minReadySeconds: options.minReadySeconds } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: 'app', image: options.image ?? `${name}:v1`, ports: [{ containerPort: 8080 }] },
          ],
        },
      },
    },
  });
  if (options.service !== false) {
    await admin.create(kinds.Service, {
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
  }
  await waitFor(async () => rolledOut(await admin.get(kinds.Deployment, ns, name)), {
    describe: `Deployment ${name} available`,
    timeoutMs: 60_000,
  });
}

/** True when the Deployment is fully rolled out and available. */
export function rolledOut(d: Deployment | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= want
  );
}

/** Creates a CanaryDeployment. */
export async function createRelease(
  admin: KubeClient,
  ns: string,
  name: string,
  spec: CanaryDeploymentSpec,
  annotations?: Record<string, string>,
): Promise<CanaryDeployment> {
  return admin.create(CanaryDeploymentKind, {
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec,
  });
}

export function getRelease(
  admin: KubeClient,
  ns: string,
  name: string,
): Promise<CanaryDeployment | undefined> {
  return admin.get(CanaryDeploymentKind, ns, name);
}

/** Waits for `phase` (failing early on Failed when waiting for something else). */
export async function waitPhase(
  admin: KubeClient,
  ns: string,
  name: string,
  phase: string,
  timeoutMs = 60_000,
): Promise<CanaryDeployment> {
  return waitFor(
    async () => {
      const cd = await getRelease(admin, ns, name);
      if (cd?.status?.phase === 'Failed' && phase !== 'Failed')
        throw new Error(`release Failed: ${cd.status.reason}: ${cd.status.message}`);
      return cd?.status?.phase === phase ? cd : undefined;
    },
    { describe: `${ns}/${name} ${phase}`, timeoutMs, intervalMs: 100 },
  );
}

export function getDeployment(admin: KubeClient, ns: string, name: string): Promise<Deployment | undefined> {
  return admin.get(kinds.Deployment, ns, name);
}

export function imageOf(d: Deployment | undefined): string | undefined {
  return d?.spec?.template?.spec?.containers?.[0]?.image;
}

/** Names of the objects of `kind` in `ns`. */
export async function names(admin: KubeClient, kind: kinds.ResourceKind, ns: string): Promise<string[]> {
  const list = await admin.list<KubeObject>(kind, { namespace: ns });
  return list.items.map((o) => o.metadata.name ?? '').sort();
}

/**
 * Samples the release and `read` (what the cluster shows) every `intervalMs` until
 * `stop` resolves; returns one entry per distinct (step, phase) with what was read at
 * the first sample inside it after the status settled.
 */
export function sampleSteps<T>(
  admin: KubeClient,
  ns: string,
  name: string,
  read: () => Promise<T>,
  intervalMs = 150,
): {
  stop: () => Promise<
    { step: number | undefined; phase: string | undefined; weight: number | undefined; seen: T; at: number }[]
  >;
} {
  const samples: {
    step: number | undefined;
    phase: string | undefined;
    weight: number | undefined;
    seen: T;
    at: number;
  }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const cd = await getRelease(admin, ns, name);
      const seen = await read();
      const s = cd?.status;
      samples.push({
        step: s?.currentStepIndex,
        phase: s?.phase,
        weight: s?.currentWeight,
        seen,
        at: Date.now(),
      });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

export { testNamespace };

/** A VirtualService `name` whose one route goes to the Service `name`, as the Istio releases of the tests name it. */
export async function createVirtualService(admin: KubeClient, ns: string, name: string): Promise<void> {
  await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name, namespace: ns },
    spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: name } }] }] },
  });
}

/** The traffic simulator for `ns` at `rps`, scraped by the test cluster's Prometheus, stopped when the test ends. */
export async function startScrapedSimulator(t: NamespaceOwner, ns: string, rps: number): Promise<Simulator> {
  const cluster = await testCluster();
  const sim = await startSimulator({
    kubeconfigPath: cluster.kubeconfigPath,
    namespaces: [ns],
    rps,
    tickMs: 500,
    scrapeTarget: { stateDir: cluster.stateDir, name: `sim-${ns}` },
  });
  t.after(() => sim.stop());
  return sim;
}
