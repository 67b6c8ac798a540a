/**
 * The ReleasePlan controller's wiring: reconciles ReleasePlans of every namespace. The
 * releases it makes live in other clusters and are not watched (see ./reconcile.ts); the
 * cluster Secrets are read by name when needed, never listed or cached.
 */
import { ReleasePlanKind } from '../api/kinds.ts';
import type { ReleasePlan } from '../api/release-plan.ts';
import { controller, type Controller } from '../runtime/controller.ts';
import { createClusterClients, type ClusterClients } from './clusters.ts';
import { createPlanReconciler } from './reconcile.ts';

export const PlanControllerName = 'waves';

/** Settings of the ReleasePlan controller; `undefined` means unset. */
export interface PlanControllerOptions {
  /** @default clients made from the kubeconfig Secrets */
  clusters?: ClusterClients;
  /** How often a plan still moving looks at its clusters again, in ms. @default 5000 */
  pollMs?: number;
}

/** Describes the ReleasePlan controller for the manager. */
export function planController(options: PlanControllerOptions = {}): Controller<ReleasePlan> {
  const clusters = options.clusters ?? createClusterClients();
  return controller<ReleasePlan>({
    name: PlanControllerName,
    kind: ReleasePlanKind,
    reconcile: createPlanReconciler({ clusters, pollMs: options.pollMs }),
    concurrency: 2,
    errorConditionType: 'Ready',
  });
}
