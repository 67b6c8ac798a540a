/**
 * The ReleaseGroup controller's wiring.
 *
 * - reconciles ReleaseGroups; owns the CanaryDeployments its template makes (a member's
 *   progress reconciles its group at once);
 * - watches every CanaryDeployment (the canary controller caches them whole anyway: one
 *   shared informer), mapped to the groups of its namespace, so a selected member's
 *   progress, or a release newly labelled into a group, reconciles the group;
 * - watches Deployments metadata-only (names and labels: what a template's
 *   deploymentSelector matches), mapped to the template groups of their namespace.
 */
import { CanaryDeploymentKind, ReleaseGroupKind } from '../api/kinds.ts';
import { GroupLabel } from '../api/names.ts';
import type { ReleaseGroup } from '../api/release-group.ts';
import { controller, type Controller, type ObjectKey } from '../runtime/controller.ts';
import { Deployment } from '../runtime/kinds.ts';
import { createGroupReconciler } from './reconcile.ts';

export const GroupControllerName = 'fleet';

/** Settings of the ReleaseGroup controller; `undefined` means unset. */
export interface GroupControllerOptions {
  /** Reconciles running at once. @default 4 */
  concurrency?: number;
}

/** Describes the ReleaseGroup controller for the manager. */
export function groupController(options: GroupControllerOptions = {}): Controller<ReleaseGroup> {
  const reconciler = createGroupReconciler();
  const releaseToGroups = (obj: { metadata: { namespace?: string; labels?: Record<string, string> } }) => {
    const keys: ObjectKey[] = reconciler.directory.groupsOf(obj.metadata.namespace, 'any');
    const labelled = obj.metadata.labels?.[GroupLabel];
    if (labelled && !keys.some((k) => k.name === labelled))
      keys.push({ namespace: obj.metadata.namespace, name: labelled });
    return keys;
  };
  return controller<ReleaseGroup>({
    name: GroupControllerName,
    kind: ReleaseGroupKind,
    reconcile: reconciler.reconcile,
    watches: [
      { kind: CanaryDeploymentKind, map: releaseToGroups },
      {
        kind: Deployment,
        metadataOnly: true,
        map: (obj) => reconciler.directory.groupsOf(obj.metadata.namespace, 'template'),
      },
    ],
    concurrency: options.concurrency,
    errorConditionType: 'Ready',
  });
}
