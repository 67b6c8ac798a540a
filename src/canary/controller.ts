/**
 * The CanaryDeployment controller's wiring: what it owns and watches, its finalizer.
 *
 * - owns Deployments and Services (the canary Deployment, canary and preview Services):
 *   their changes (a canary becoming available) reconcile the release at once;
 * - watches Deployments mapped by target name (the user's Deployment rolling out the
 *   promoted version), through the index `target` (`<namespace>/<spec.targetDeployment>`)
 *   on the CanaryDeployment cache;
 * - watches canary Pods (label `deploy.codedance.io/role=canary`), mapped by their
 *   `deploy.codedance.io/canary` label, so a crash-looping canary is rolled back as soon
 *   as the Pod says so;
 * - the finalizer `deploy.codedance.io/cleanup` returns all traffic to stable and
 *   removes the canary before a deleted CanaryDeployment goes;
 * - its error policy (./error-policy.ts) turns every provider error and invalid spec into
 *   a condition, a Warning Event and a retry with backoff, or a stop that takes traffic
 *   back to stable first.
 */
import { OwnerLabel, RoleLabel, type CanaryDeployment } from '../api/canary-deployment.ts';
import { controller, type Controller, type ObjectKey } from '../runtime/controller.ts';
import { Deployment, Pod, Service } from '../runtime/kinds.ts';
import type { KubeObject } from '../runtime/client.ts';
import { createCanaryReconciler, type CanaryReconcilerOptions } from './reconcile.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';

export const CanaryControllerName = 'canary';
export const CanaryFinalizer = 'deploy.codedance.io/cleanup';

/** Index of the CanaryDeployment cache: `<namespace>/<target Deployment>` of each release. */
export const TargetIndex = 'target';

/** The values a release is indexed under in {@link TargetIndex}. */
export function targetIndexValues(cd: CanaryDeployment): string[] {
  return cd.spec?.targetDeployment ? [`${cd.metadata.namespace ?? ''}/${cd.spec.targetDeployment}`] : [];
}

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
    indexes: [{ kind: CanaryDeploymentKind, name: TargetIndex, values: targetIndexValues }],
    watches: [
      {
        kind: Deployment,
        map: (obj: KubeObject, cache): ObjectKey[] =>
          cache(CanaryDeploymentKind)
            .byIndex(TargetIndex, `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`)
            .map((cd) => ({ namespace: cd.metadata.namespace, name: cd.metadata.name ?? '' })),
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
