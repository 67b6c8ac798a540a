/**
 * Telling the stable pods apart without touching them: the `pod-template-hash` label the
 * Deployment controller puts on each of its ReplicaSets' pods (and on the ReplicaSet).
 *
 * Why: a routing provider that splits one Service's endpoints (Istio's DestinationRule
 * subsets) needs a label only stable pods carry. Adding one to the user's pod template
 * would roll every production pod before the canary sees a request (and an earlier
 * Codedance did exactly that: `deploy.codedance.io/role: stable`). The hash is already
 * there, differs between the stable and the canary Deployment (their templates differ),
 * and follows the stable Deployment's own rollouts and the promotion: each new template
 * is a new ReplicaSet with a new hash.
 *
 * Which ReplicaSet is "the stable pods": the one of the Deployment's revision
 * (`deployment.kubernetes.io/revision`, set by the Deployment controller on both) once it
 * has an available pod, or the Deployment asks for none; until then (a rollout of the
 * stable Deployment just began) the ReplicaSet with the most available pods, which is
 * still serving. A stable Deployment rolled out needs no request to know (memo per
 * Deployment uid and revision); one mid-rollout is looked up on each reconcile it causes.
 *
 * Caveats: a rollout of the stable Deployment mid-release (someone else's change) moves
 * the stable subset from the old pods to the new ones at one moment; the promotion never
 * does, since it moves all traffic to the canary before the stable Deployment rolls.
 */
import type { KubeClient } from '../runtime/client.ts';
import type { ReplicaSet } from '../runtime/core-types.ts';
import { ReplicaSet as ReplicaSetKind } from '../runtime/kinds.ts';
import type { Deployment } from './workloads.ts';

/** The label the Deployment controller puts on every pod (and ReplicaSet) of a template. */
export const PodTemplateHashLabel = 'pod-template-hash';

/** The annotation with which the Deployment controller numbers a Deployment's templates. */
export const RevisionAnnotation = 'deployment.kubernetes.io/revision';

/** The ReplicaSet shape, declared with the other core types. */
export type { ReplicaSet } from '../runtime/core-types.ts';

/**
 * The `pod-template-hash` of the ReplicaSet whose pods are the stable ones (rules above),
 * among `replicaSets` (any list: those not controlled by `stable` are ignored);
 * undefined when the Deployment has none yet.
 */
export function stablePodTemplateHash(
  stable: Deployment,
  replicaSets: readonly ReplicaSet[],
): string | undefined {
  const uid = stable.metadata.uid;
  const own = replicaSets.filter(
    (rs) =>
      !rs.metadata.deletionTimestamp &&
      rs.metadata.labels?.[PodTemplateHashLabel] &&
      (rs.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.uid === uid),
  );
  const revision = stable.metadata.annotations?.[RevisionAnnotation];
  const current =
    revision === undefined
      ? undefined
      : own.find((rs) => rs.metadata.annotations?.[RevisionAnnotation] === revision);
  const available = (rs: ReplicaSet) => rs.status?.availableReplicas ?? 0;
  if (current && (available(current) > 0 || (stable.spec?.replicas ?? 1) === 0))
    return current.metadata.labels?.[PodTemplateHashLabel];
  // Mid-rollout: the pods still serving. Ties go to the newest revision.
  const byService = [...own].sort((a, b) => available(b) - available(a) || revisionOf(b) - revisionOf(a));
  const best = byService[0] && available(byService[0]) > 0 ? byService[0] : (current ?? byService[0]);
  return best?.metadata.labels?.[PodTemplateHashLabel];
}

function revisionOf(rs: ReplicaSet): number {
  return Number(rs.metadata.annotations?.[RevisionAnnotation] ?? 0) || 0;
}

/** Pod labels that select only the stable pods (`pod-template-hash`), or undefined. */
export function stablePodLabels(hash: string | undefined): Record<string, string> | undefined {
  return hash === undefined ? undefined : { [PodTemplateHashLabel]: hash };
}

/** Finds (and remembers) the stable pods' labels of the releases' target Deployments. */
export interface StablePods {
  /**
   * The labels of `stable`'s current pods: from memory when the Deployment is rolled out
   * and was looked up at this revision, else one LIST of ReplicaSets by its selector.
   */
  labelsOf(stable: Deployment, settled: boolean): Promise<Record<string, string> | undefined>;
}

/** Creates the lookup, memo included (one entry per target Deployment, a few strings). */
export function createStablePods(client: KubeClient): StablePods {
  const memo = new Map<string, { revision: string | undefined; hash: string }>();
  return {
    async labelsOf(stable, settled) {
      const uid = stable.metadata.uid ?? '';
      const revision = stable.metadata.annotations?.[RevisionAnnotation];
      const known = memo.get(uid);
      if (known && settled && known.revision === revision) return stablePodLabels(known.hash);
      const matchLabels = (stable.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
      const labelSelector = Object.entries(matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const list = await client.list<ReplicaSet>(ReplicaSetKind, {
        namespace: stable.metadata.namespace ?? '',
        ...(labelSelector ? { labelSelector } : {}),
      });
      const hash = stablePodTemplateHash(stable, list.items);
      if (hash === undefined) memo.delete(uid);
      else if (settled) memo.set(uid, { revision, hash });
      else memo.delete(uid);
      return stablePodLabels(hash);
    },
  };
}
