/**
 * The CanaryDeployment controller's wiring: what it owns and watches, its finalizer.
 *
 * - owns Deployments and Services (the canary Deployment, canary and preview Services):
 *   their changes (a canary becoming available) reconcile the release at once;
 * - watches Deployments mapped by target name (the user's Deployment rolling out the
 *   promoted version), through an index the reconciler keeps;
 * - watches canary Pods (label `deploy.codedance.io/role=canary`), mapped by their
 *   `deploy.codedance.io/canary` label, so a crash-looping canary is rolled back as soon
 *   as the Pod says so;
 * - what it caches, and why (docs/memory.md): Deployments and Services whole but trimmed
 *   (managedFields of other managers and the last-applied annotation dropped), because a
 *   release reads the target Deployment's full pod template and the user's Service, which
 *   carry no label of ours; its canary Pods only, by label; never ConfigMaps or Secrets;
 * - the finalizer `deploy.codedance.io/cleanup` returns all traffic to stable and
 *   removes the canary before a deleted CanaryDeployment goes;
 * - its error policy (./error-policy.ts) turns every provider error and invalid spec into
 *   a condition, a Warning Event and a retry with backoff, or a stop that takes traffic
 *   back to stable first.
 */
import { OwnerLabel, RoleLabel, type CanaryDeployment } from '../api/canary-deployment.ts';
import { controller, type Controller, type ObjectKey } from '../runtime/controller.ts';
import { CanaryDeployment as CanaryDeploymentKind, Deployment, Pod, Service } from '../runtime/kinds.ts';
import type { KubeObject } from '../runtime/client.ts';
import { createCanaryReconciler, type CanaryReconcilerOptions } from './reconcile.ts';

export const CanaryControllerName = 'canary';
export const CanaryFinalizer = 'deploy.codedance.io/cleanup';

export interface CanaryControllerOptions extends CanaryReconcilerOptions {
  /** Reconciles running at once (they wait on the API server, not the CPU). @default 16 */
  concurrency?: number;
}

/** The CanaryDeployment controller. */
export function canaryController(options: CanaryControllerOptions = {}): Controller<CanaryDeployment> {
  const reconciler = createCanaryReconciler(options);
  return controller<CanaryDeployment>({
    name: CanaryControllerName,
    kind: CanaryDeploymentKind,
    reconcile: reconciler.reconcile,
    finalizer: { name: CanaryFinalizer, cleanup: reconciler.cleanup },
    errorPolicy: reconciler.errorPolicy,
    owns: [Deployment, Service],
    watches: [
      {
        kind: Deployment,
        map: (obj: KubeObject): ObjectKey[] => {
          const ns = obj.metadata.namespace ?? '';
          return reconciler.releasesOfTarget(ns, obj.metadata.name ?? '').map((name) => ({ namespace: ns, name }));
        },
      },
      {
        kind: Pod,
        labelSelector: `${RoleLabel}=canary,${OwnerLabel}`,
        map: (obj: KubeObject): ObjectKey[] => {
          const name = obj.metadata.labels?.[OwnerLabel];
          return name ? [{ namespace: obj.metadata.namespace ?? '', name }] : [];
        },
      },
    ],
    concurrency: options.concurrency ?? 16,
  });
}
