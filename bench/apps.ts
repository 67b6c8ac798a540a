/**
 * The user's side of a benchmark release: target Deployments and Services, the
 * CanaryDeployments, and the predicates over watched objects that say where traffic is.
 *
 * Every release here uses the Replicas provider (the default), so "traffic" is the
 * pair of replica counts the provider writes: the canary Deployment's `spec.replicas`
 * (created at 0 by the controller, so > 0 is the first weight written) and the stable
 * Deployment's. All traffic is on stable when the canary asks for 0 replicas (or is gone)
 * and the stable Deployment is back at its full size.
 */
import type { CanaryDeployment, CanaryDeploymentSpec } from '../src/api/canary-deployment.ts';
import type { Deployment } from '../src/canary/workloads.ts';
import { canaryDeploymentName } from '../src/canary/workloads.ts';
import type { KubeClient } from '../src/runtime/client.ts';
import * as kinds from '../src/runtime/kinds.ts';
import type { Store } from '../src/runtime/store.ts';
import { pollUntil } from '../src/cluster/probe.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

export { canaryDeploymentName };

/** Runs `fn` over `items` with at most `limit` at a time (the API server and the benchmark share 2 cores). */
export async function inBatches<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Creates Deployment `name` (container `app`, image `<name>:v1`) and a headless Service
 * selecting it. Headless, because the local cluster's Service IP range (/24) cannot hold
 * hundreds of ClusterIPs, and the Replicas provider never routes through the IP anyway.
 */
export async function createApp(
  admin: KubeClient,
  ns: string,
  name: string,
  replicas: number,
): Promise<void> {
  const labels = { app: name };
  await admin.create(kinds.Deployment, {
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: `${name}:v1`, ports: [{ containerPort: 8080 }] }] },
      },
    },
  });
  await admin.create(kinds.Service, {
    metadata: { name, namespace: ns, labels },
    spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
}

/** True when the Deployment has rolled out its spec and every replica is available. */
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

/** Waits until every Deployment in `names` is rolled out (one list per second). */
export async function waitRolledOut(
  admin: KubeClient,
  ns: string,
  names: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const wanted = new Set(names);
  let ready = 0;
  await pollUntil(
    `${names.length} Deployments in ${ns} to be available`,
    async () => {
      const list = await admin.list(kinds.Deployment, { namespace: ns });
      ready = list.items.filter((d) => wanted.has(d.metadata.name ?? '') && rolledOut(d)).length;
      return ready === wanted.size;
    },
    { timeoutMs, intervalMs: 1000, describe: () => `${ready} of ${wanted.size} available` },
  );
}

/** Creates a CanaryDeployment; resolves when the POST returned. */
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

/** The canary Deployment of `app` asks for at least one replica: the first weight is written. */
export function canaryWeightWritten(deployments: Store<Deployment>, ns: string, app: string): boolean {
  return (deployments.get(ns, canaryDeploymentName(app))?.spec?.replicas ?? 0) > 0;
}

/** No replica asked of the canary (or no canary) and the stable Deployment back at `total`. */
export function trafficOnStable(
  deployments: Store<Deployment>,
  ns: string,
  app: string,
  total: number,
): boolean {
  const canary = deployments.get(ns, canaryDeploymentName(app));
  const stable = deployments.get(ns, app);
  return (canary === undefined || (canary.spec?.replicas ?? 0) === 0) && stable?.spec?.replicas === total;
}

/** The canary Deployment no longer exists. */
export function canaryGone(deployments: Store<Deployment>, ns: string, app: string): boolean {
  return deployments.get(ns, canaryDeploymentName(app)) === undefined;
}

/** The release's phase as its status says. */
export function phaseOf(releases: Store<CanaryDeployment>, ns: string, name: string): string | undefined {
  return releases.get(ns, name)?.status?.phase;
}
