/**
 * Reads the release tests judge traffic and reporting by: conditions and Warning Events on
 * a CanaryDeployment, the canary's share as the VirtualService / canary Ingress / HTTPRoute
 * carry it, and a sampler that records every moment traffic sat on a canary without a
 * ready pod (the thing a release must never leave behind).
 */
import type { CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import type { Condition } from '../../../src/runtime/conditions.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import { getRelease, waitFor } from './support.ts';

/** The condition `type` of a release. */
export function conditionOf(cd: CanaryDeployment | undefined, type: string): Condition | undefined {
  return cd?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the release's condition `type` has `status` (and `reason`, when given). */
export async function waitCondition(
  admin: KubeClient,
  ns: string,
  name: string,
  type: string,
  status: string,
  reason?: string,
  timeoutMs = 60_000,
): Promise<CanaryDeployment> {
  return waitFor(
    async () => {
      const cd = await getRelease(admin, ns, name);
      const c = conditionOf(cd, type);
      return c?.status === status && (reason === undefined || c.reason === reason) ? cd : undefined;
    },
    {
      describe: `${ns}/${name} condition ${type}=${status}${reason ? ` (${reason})` : ''}`,
      timeoutMs,
      intervalMs: 200,
    },
  );
}

interface KubeEvent extends KubeObject {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string; kind?: string };
}

/** Warning Events about the release, oldest first. */
export async function warnings(
  admin: KubeClient,
  ns: string,
  name: string,
): Promise<{ reason: string; note: string }[]> {
  const list = await admin.list<KubeEvent>(kinds.Event, { namespace: ns });
  return list.items
    .filter(
      (e) => e.type === 'Warning' && e.regarding?.kind === 'CanaryDeployment' && e.regarding.name === name,
    )
    .map((e) => ({ reason: e.reason ?? '', note: e.note ?? '' }));
}

/** Waits for a Warning Event with `reason` about the release; returns its note. */
export async function waitWarning(
  admin: KubeClient,
  ns: string,
  name: string,
  reason: string,
  timeoutMs = 60_000,
): Promise<string> {
  return waitFor(async () => (await warnings(admin, ns, name)).find((e) => e.reason === reason)?.note, {
    describe: `a ${reason} Warning Event about ${ns}/${name}`,
    timeoutMs,
    intervalMs: 200,
  });
}

/** The canary's share in a VirtualService: the highest `canary` subset weight of its routes (0 when none). */
export async function virtualServiceCanaryWeight(
  admin: KubeClient,
  ns: string,
  name: string,
): Promise<number> {
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, name);
  let highest = 0;
  for (const route of vs?.spec.http ?? []) {
    for (const d of route.route ?? [])
      if (d.destination.subset === 'canary') highest = Math.max(highest, d.weight ?? 100);
  }
  return highest;
}

/** The canary's share in a canary Ingress (0 when there is none). */
export async function canaryIngressWeight(admin: KubeClient, ns: string, name: string): Promise<number> {
  const ing = await admin.get<Ingress>(kinds.Ingress, ns, name);
  return ing ? Number(ing.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] ?? 0) : 0;
}

/** Ready canary pods of the release. */
export async function readyCanaryPods(admin: KubeClient, ns: string, release: string): Promise<number> {
  const pods = await admin.list(kinds.Pod, {
    namespace: ns,
    labelSelector: `deploy.codedance.io/role=canary,deploy.codedance.io/canary=${release}`,
  });
  return pods.items.filter(
    (p) =>
      !p.metadata.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  ).length;
}

/**
 * Samples `weight()` (the canary's share as the routing objects carry it) and the ready
 * canary pods every `intervalMs` until stopped; returns the samples where traffic was on a
 * canary with no ready pod, how many samples were taken and the highest weight seen. The weight is read before
 * and after the pods, so a canary removed after its traffic went elsewhere cannot look
 * like one.
 */
export function watchPodlessCanaryTraffic(
  admin: KubeClient,
  ns: string,
  release: string,
  weight: () => Promise<number>,
  intervalMs = 100,
) {
  const violations: { weight: number; at: number }[] = [];
  let samples = 0;
  let highest = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const w = await weight();
      highest = Math.max(highest, w);
      // Read again after the pods: a reset landing between the two reads is not a violation.
      if (w > 0 && (await readyCanaryPods(admin, ns, release)) === 0 && (await weight()) > 0)
        violations.push({ weight: w, at: Date.now() });
      samples++;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop(): Promise<{
      violations: { weight: number; at: number }[];
      samples: number;
      highest: number;
    }> {
      running = false;
      await loop;
      return { violations, samples, highest };
    },
  };
}
