/**
 * Replica-ratio provider, the default when no provider is named (Argo Rollouts calls
 * this a basic canary): the stable Service selects both versions' pods, so each gets
 * about its share of pods as its share of requests. The canary gets
 * `round(weight% × total)` replicas and the stable Deployment is scaled down by as much,
 * so total capacity holds; `total` is `target.totalReplicas`, the stable replicas when
 * the release started.
 *
 * Rules, from what a release needs:
 * - weight > 0 gives the canary at least 1 pod (a step of 5% of 4 pods still exposes the
 *   canary; that pod takes 25%, which `WeightChange.weight` and `readWeight` report);
 * - weight < 100 keeps at least 1 stable pod (99% of 4 pods is 3 canary + 1 stable); with a
 *   single replica that is one pod more than `total` (a surge), never a step that
 *   silently moves all traffic;
 * - weight 100 is stable 0, canary `total`: the canary carries everything, as with the
 *   routing providers. Promotion then rolls the new image out on the stable Deployment
 *   at `total` replicas (the workloads' job: set image and replicas, wait until
 *   available) and calls `reset`, which finds stable already at `total` and only scales
 *   the canary to 0, so capacity never dips.
 *
 * `readWeight` is `canary / (stable + canary)` of the two Deployments' `spec.replicas`
 * (what was asked for, which is what the traffic simulator splits by). Writes are JSON
 * merge patches of `spec.replicas` alone, scale-ups before scale-downs so capacity only
 * ever rises mid-change, each skipped when the count is already right. The controller's
 * own apply of the canary Deployment must leave `spec.replicas` out, or the two would
 * fight over it. A HorizontalPodAutoscaler on the stable Deployment would also fight it:
 * the canary controller refuses to start such a release (reason `AutoscalerConflict`).
 */
import { isNotFound } from '../runtime/client.ts';
import type { Deployment } from '../runtime/core-types.ts';
import { Deployment as DeploymentKind } from '../runtime/kinds.ts';
import {
  TrafficError,
  checkWeight,
  readerOf,
  refuseUnsupported,
  type TrafficProvider,
  type TrafficProviderOptions,
  type TrafficTarget,
  type WeightChange,
} from './provider.ts';
import { PLAIN_HTTP_SERIES, type ProviderDefinition } from './capabilities.ts';

export const replicasProviderName = 'Replicas';

/** Replica counts of the two Deployments for one weight. */
export interface ReplicaSplit {
  stable: number;
  canary: number;
}

/** The replica counts that approximate `canaryWeight` percent of `total` pods (rules above). */
export function replicaSplit(canaryWeight: number, total: number): ReplicaSplit {
  if (total <= 0) return { stable: 0, canary: 0 };
  let canary = Math.round((canaryWeight * total) / 100);
  if (canaryWeight > 0) canary = Math.max(canary, 1);
  // Below 100% one stable pod stays: taken from the canary while it keeps one itself,
  // else (a single replica) run one pod more than total.
  if (canaryWeight < 100 && canary >= total) {
    return total >= 2 ? { stable: 1, canary: total - 1 } : { stable: 1, canary };
  }
  return { stable: total - canary, canary };
}

/** The canary's share of the pods, in percent; `undefined` when there are none at all. */
export function replicaWeight(split: ReplicaSplit): number | undefined {
  const all = split.stable + split.canary;
  return all === 0 ? undefined : Math.round((split.canary * 100) / all);
}

/** Creates the replica-ratio provider. */
export function createReplicasProvider(options: TrafficProviderOptions): TrafficProvider {
  const { client } = options;
  const read = readerOf(options);

  async function readSplit(target: TrafficTarget): Promise<ReplicaSplit | undefined> {
    const [stable, canary] = await Promise.all([
      read<Deployment>(DeploymentKind, target.namespace, target.stableDeployment),
      read<Deployment>(DeploymentKind, target.namespace, target.canaryDeployment),
    ]);
    if (!stable) return undefined;
    // A missing canary Deployment is a canary with no pods.
    return { stable: replicasOf(stable), canary: canary ? replicasOf(canary) : 0 };
  }

  /** Scales each Deployment whose count differs, growing before shrinking; checks the stored counts. */
  async function scaleTo(target: TrafficTarget, wanted: ReplicaSplit): Promise<WeightChange> {
    const current = await readSplit(target);
    if (!current)
      throw new TrafficError(
        replicasProviderName,
        'NotFound',
        `Deployment ${target.namespace}/${target.stableDeployment} not found`,
      );
    const writes: { name: string; from: number; to: number }[] = [
      { name: target.stableDeployment, from: current.stable, to: wanted.stable },
      { name: target.canaryDeployment, from: current.canary, to: wanted.canary },
    ].filter((w) => w.from !== w.to);
    writes.sort((a, b) => b.to - b.from - (a.to - a.from));
    for (const w of writes) {
      let written: Deployment;
      try {
        written = await client.patch(
          DeploymentKind,
          target.namespace,
          w.name,
          { spec: { replicas: w.to } },
          'merge',
        );
      } catch (err) {
        if (isNotFound(err)) {
          throw new TrafficError(
            replicasProviderName,
            'NotFound',
            `Deployment ${target.namespace}/${w.name} not found`,
            { cause: err },
          );
        }
        throw err;
      }
      // The patch response is the Deployment as stored (after admission): our read-back.
      if (replicasOf(written) !== w.to) {
        throw new TrafficError(
          replicasProviderName,
          'ReadBackMismatch',
          `Deployment ${target.namespace}/${w.name} has ${replicasOf(written)} replicas after scaling it to ${w.to}`,
        );
      }
    }
    return { changed: writes.length > 0, weight: replicaWeight(wanted) ?? 0 };
  }

  function total(target: TrafficTarget): number {
    const { totalReplicas } = target;
    if (totalReplicas === undefined || !Number.isInteger(totalReplicas) || totalReplicas < 0) {
      throw new TrafficError(
        replicasProviderName,
        'InvalidTarget',
        'totalReplicas (the stable replicas at release start) is required with provider Replicas',
      );
    }
    return totalReplicas;
  }

  return {
    name: replicasProviderName,

    async prepare(target) {
      // Nothing to create: both Deployments are the workloads' objects. Check early.
      total(target);
    },

    async setWeight(target, canaryWeight, routing) {
      checkWeight(replicasProviderName, canaryWeight);
      refuseUnsupported(replicasProviderName, routing, { match: false, mirror: false });
      return scaleTo(target, replicaSplit(canaryWeight, total(target)));
    },

    async readWeight(target) {
      const split = await readSplit(target);
      return split ? replicaWeight(split) : undefined;
    },

    async reset(target) {
      return scaleTo(target, { stable: total(target), canary: 0 });
    },

    async cleanup() {
      // The canary Deployment is removed by the workloads; nothing else was made here.
    },
  };
}

function replicasOf(deployment: Deployment): number {
  // An unset spec.replicas means 1 (the API server defaults it; a partial object may not).
  return deployment.spec?.replicas ?? 1;
}

/**
 * Replicas: no router; the stable Service selects both versions, and the canary's share
 * of pods is its share of requests.
 */
export const replicasProvider: ProviderDefinition = {
  name: replicasProviderName,
  capabilities: {
    settingsField: undefined,
    stableService: false,
    canaryService: false,
    stableSelectsCanary: true,
    podLabelSubsets: false,
    ownsReplicas: true,
    // 10% of 4 pods is 1 pod, 25%: what is read back is the ratio, not the step's weight.
    exactWeights: false,
    // Every new pod sits behind the stable Service: a preview would take live traffic.
    preview: false,
    // Pods of one Service cannot be chosen per request without a router.
    requestMatch: false,
    mirror: false,
    protocols: ['HTTP', 'GRPC', 'TCP'],
  },
  metrics: PLAIN_HTTP_SERIES,
  create: createReplicasProvider,
  lacks: {
    requestMatch:
      'the stable Service sends each request to any of its pods, so no request can be chosen by header or cookie',
    mirror: 'without a proxy in the path nothing copies requests',
    preview:
      'every new pod sits behind the stable Service, so a preview would take live traffic before the switch',
  },
  objects: (_record, targetDeployment) => [
    { kind: 'Deployment', name: targetDeployment },
    { kind: 'Deployment', name: `${targetDeployment}-canary` },
  ],
};
