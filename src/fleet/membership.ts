/**
 * Who belongs to a ReleaseGroup (pure): the CanaryDeployments its selector matches, or
 * the ones its template makes, one per matching Deployment, named as the Deployment.
 *
 * A member made from the template carries the group's label, a controller owner
 * reference to the group (deleting the group deletes them, and each one's finalizer takes
 * its traffic back first) and its turn: `waiting` when it is made or its image changes,
 * so it never starts before the group counted it.
 */
import type { CanaryDeployment, CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import { GROUP, GroupLabel, GroupTurnAnnotation, VERSION } from '../api/names.ts';
import type { ReleaseGroup } from '../api/release-group.ts';
import type { KubeObject } from '../runtime/client.ts';
import { matches } from './selector.ts';

/** A member the template asks for, or why it cannot be made. */
export type TemplateMember =
  | { kind: 'member'; name: string; desired: CanaryDeployment }
  | { kind: 'problem'; name: string; message: string };

/** The turn a member is (re)written with. */
export type Turn = 'waiting' | 'go';

/** Whether `cd` belongs to `group` through its template (its controller owner). */
export function madeBy(group: ReleaseGroup, cd: KubeObject): boolean {
  return (cd.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.kind === 'ReleaseGroup' && ref.uid === group.metadata.uid,
  );
}

/** The selected members (selector mode): CanaryDeployments of the namespace with every selector label. */
export function selectedMembers(
  group: ReleaseGroup,
  releases: readonly CanaryDeployment[],
): CanaryDeployment[] {
  if (!group.spec.selector) return [];
  return releases.filter(
    (cd) =>
      cd.metadata.namespace === group.metadata.namespace && matches(group.spec.selector, cd.metadata.labels),
  );
}

/**
 * The members the template asks for, one per Deployment `deploymentSelector` matches
 * (sorted by name), each with the turn it should carry: `go` kept while the image is
 * the one it was given, else `waiting`.
 */
export function templateMembers(
  group: ReleaseGroup,
  deployments: readonly KubeObject[],
  existing: (name: string) => CanaryDeployment | undefined,
  /** A turn given for `image` that the caller knows of and `existing` may not show yet. */
  turnGiven: (name: string, image: string) => boolean = () => false,
): TemplateMember[] {
  const template = group.spec.template;
  if (!template) return [];
  const ns = group.metadata.namespace ?? '';
  const out: TemplateMember[] = [];
  const names = deployments
    .filter((d) => d.metadata.namespace === ns && matches(template.deploymentSelector, d.metadata.labels))
    .map((d) => d.metadata.name ?? '')
    .sort();
  for (const name of names) {
    const image = template.images?.[name] ?? template.canaryVersion;
    if (!image) {
      out.push({
        kind: 'problem',
        name,
        message: `no image for Deployment ${name}: add it to spec.template.images or set spec.template.canaryVersion`,
      });
      continue;
    }
    const current = existing(name);
    if (current && !madeBy(group, current)) {
      out.push({
        kind: 'problem',
        name,
        message: `CanaryDeployment ${name} exists and was not made by this group: it is left as it is`,
      });
      continue;
    }
    const kept =
      turnGiven(name, image) ||
      (current?.spec.canaryVersion === image && current.metadata.annotations?.[GroupTurnAnnotation] === 'go');
    out.push({ kind: 'member', name, desired: desiredMember(group, name, image, kept ? 'go' : 'waiting') });
  }
  return out;
}

/** The CanaryDeployment the template makes for Deployment `name`. */
export function desiredMember(
  group: ReleaseGroup,
  name: string,
  image: string,
  turn: Turn,
): CanaryDeployment {
  const t = group.spec.template;
  const spec: CanaryDeploymentSpec = { targetDeployment: name, canaryVersion: image };
  if (t?.container) spec.container = t.container;
  if (t?.strategy) spec.strategy = t.strategy;
  if (t?.traffic) spec.traffic = t.traffic;
  if (t?.analysis) spec.analysis = t.analysis;
  if (t?.metrics) spec.metrics = t.metrics;
  if (t?.decision) spec.decision = t.decision;
  if (t?.autoRollback) spec.autoRollback = t.autoRollback;
  if (t?.notifications) spec.notifications = t.notifications;
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CanaryDeployment',
    metadata: {
      name,
      namespace: group.metadata.namespace,
      labels: { [GroupLabel]: group.metadata.name ?? '' },
      annotations: { [GroupTurnAnnotation]: turn },
      ownerReferences: [
        {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'ReleaseGroup',
          name: group.metadata.name ?? '',
          uid: group.metadata.uid ?? '',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}
