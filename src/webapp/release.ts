/**
 * Pure release planning: which image the WebApp's Deployment should run, and what to
 * do with the CanaryDeployment that carries an image change when `spec.release` is set.
 *
 * The WebApp controller and the release engine both touch the Deployment: the release
 * engine's promotion writes the new image into it. The rules below keep the two from
 * fighting:
 * - without `spec.release`, the Deployment runs `spec.image` (an image change rolls in
 *   place) and no CanaryDeployment is kept;
 * - with it, the Deployment keeps its established image (`status.image`, or what it runs
 *   when status was lost) until the release of `spec.image` completes; the moment the
 *   Deployment runs `spec.image` (the promotion wrote it) that image is established;
 * - a rolled-back release leaves the old image in place and is reported until
 *   `spec.image` changes again (a new version restarts the CanaryDeployment);
 * - a hand-edited image on the Deployment is drift: the established image is restored.
 *
 * Assumes the CanaryDeployment reports which version its status is about in
 * `status.releaseVersion`; a status about an older version is not trusted.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { GROUP as CanaryGroup, VERSION as CanaryVersion } from '../api/names.ts';
import type { WebApp, WebAppStatus } from '../api/webapp.ts';
import { isFinished as isFinishedPhase } from '../canary/steering.ts';
import { CanaryPodLabelsAnnotation } from '../canary/workloads.ts';
import {
  childLabels,
  childNames,
  ContainerName,
  DefaultReplicas,
  imageOf,
  ownerReference,
  ServicePort,
} from './children.ts';
import type { Deployment } from '../runtime/core-types.ts';

/** What became of the release of `spec.image`. */
export type ReleaseOutcome =
  /** Nothing to release: the Deployment runs (or is made to run) `spec.image`. */
  | 'none'
  /** A CanaryDeployment is carrying `spec.image`. */
  | 'in-flight'
  /** The release of `spec.image` completed in this reconcile's view. */
  | 'completed'
  /** The release of `spec.image` was rolled back or aborted; the old image stays. */
  | 'failed';

/** What to do with the WebApp's CanaryDeployment. */
export type CanaryAction =
  | { kind: 'none' }
  | { kind: 'apply'; object: CanaryDeployment }
  | { kind: 'delete'; reason: string };

export interface ReleasePlan {
  /** Image to apply to the Deployment (and to record as `status.image`). */
  image: string;
  /** Replica count to apply to the Deployment. */
  replicas: number;
  canary: CanaryAction;
  outcome: ReleaseOutcome;
  /** The release as `status.release` shows it; undefined when there is none to show. */
  status: WebAppStatus['release'];
}

/**
 * Plans the Deployment's image and the CanaryDeployment for one reconcile.
 * `deployment` and `canary` are what the caches hold now (undefined when absent).
 */
export function planRelease(
  webapp: WebApp,
  deployment: Deployment | undefined,
  canary: CanaryDeployment | undefined,
): ReleasePlan {
  const wanted = webapp.spec.image;
  const replicas = webapp.spec.replicas ?? DefaultReplicas;
  // A Deployment deleted by hand is recreated with the established image, not the wanted
  // one, so deleting it cannot skip a release.
  const running = imageOf(deployment) ?? webapp.status?.image;
  const report = canary ? releaseStatus(canary) : undefined;

  // Rolling in place: no release policy, or nothing runs yet that a release could start from.
  if (!webapp.spec.release || running === undefined) {
    const action: CanaryAction =
      canary && !webapp.spec.release
        ? { kind: 'delete', reason: 'spec.release is not set: image changes roll in place' }
        : { kind: 'none' };
    return { image: wanted, replicas, canary: action, outcome: 'none', status: undefined };
  }
  const established = webapp.status?.image ?? running;

  // The Deployment already runs the wanted image (the promotion wrote it, or no change was asked).
  if (running === wanted || established === wanted) {
    if (canary && canary.spec.canaryVersion !== wanted && !isFinished(canary)) {
      // spec.image went back to the running image while another version was being released.
      const reason = `spec.image is back to ${wanted}: release of ${canary.spec.canaryVersion} aborted`;
      return { image: wanted, replicas, canary: { kind: 'delete', reason }, outcome: 'none', status: report };
    }
    if (canary && canary.spec.canaryVersion === wanted && isAbout(canary, wanted)) {
      const phase = canary.status?.phase;
      // Promotion writes the image before the release engine marks itself Completed.
      const outcome: ReleaseOutcome =
        phase === 'Completed' ? 'completed' : phase === 'Failed' ? 'failed' : 'in-flight';
      // A failed release whose image is nevertheless running: the image stays (it is what
      // spec asks for), the failure is still reported. Until the release engine is done,
      // the replica count is its to set (promotion restores the full count itself).
      const count = outcome === 'in-flight' ? (deployment?.spec?.replicas ?? replicas) : replicas;
      return { image: wanted, replicas: count, canary: { kind: 'none' }, outcome, status: report };
    }
    return { image: wanted, replicas, canary: { kind: 'none' }, outcome: 'none', status: report };
  }

  // spec.image differs from what the Deployment has established: release it. The release
  // engine scales the Deployment while it runs (replica-ratio traffic), so its count stays.
  const desired = buildCanary(webapp);
  const held = deployment?.spec?.replicas ?? replicas;
  if (canary && isAbout(canary, wanted) && canary.spec.canaryVersion === wanted) {
    if (canary.status?.phase === 'Completed') {
      // Completed but the Deployment does not show it yet (or was hand-edited since): the
      // release established the new image.
      return {
        image: wanted,
        replicas,
        canary: { kind: 'apply', object: desired },
        outcome: 'completed',
        status: report,
      };
    }
    if (canary.status?.phase === 'Failed') {
      return {
        image: established,
        replicas,
        canary: { kind: 'apply', object: desired },
        outcome: 'failed',
        status: report,
      };
    }
  }
  // Until the release engine reports on this version, the release shows as Pending.
  const reported = report && canary?.spec.canaryVersion === wanted && isAbout(canary, wanted);
  const status = reported
    ? report
    : {
        name: desired.metadata.name ?? '',
        version: wanted,
        phase: 'Pending',
        message: `release of ${wanted} requested`,
      };
  return {
    image: established,
    replicas: held,
    canary: { kind: 'apply', object: desired },
    outcome: 'in-flight',
    status,
  };
}

/**
 * The CanaryDeployment releasing `spec.image` onto the WebApp's Deployment. The WebApp's
 * `deploy.codedance.io/canary-pod-labels` annotation, if any, is passed on (extra labels
 * for the canary pods only).
 */
export function buildCanary(webapp: WebApp): CanaryDeployment {
  const names = childNames(webapp);
  const release = webapp.spec.release ?? {};
  const spec: CanaryDeployment['spec'] = {
    targetDeployment: names.deployment,
    canaryVersion: webapp.spec.image,
    container: ContainerName,
    service: { name: names.service, port: ServicePort },
  };
  // Copy only what is set, so the CanaryDeployment's own defaults apply to the rest.
  if (release.strategy) spec.strategy = release.strategy;
  if (release.traffic) spec.traffic = release.traffic;
  if (release.analysis) spec.analysis = release.analysis;
  if (release.metrics) spec.metrics = release.metrics;
  if (release.decision) spec.decision = release.decision;
  if (release.autoRollback) spec.autoRollback = release.autoRollback;
  if (release.notifications) spec.notifications = release.notifications;
  const metadata: CanaryDeployment['metadata'] = {
    name: names.canary,
    namespace: webapp.metadata.namespace,
    labels: childLabels(webapp),
    ownerReferences: [ownerReference(webapp)],
  };
  // Labels for the new version's pods (e.g. `version: v2` for dashboards) pass through.
  const podLabels = webapp.metadata.annotations?.[CanaryPodLabelsAnnotation];
  if (podLabels !== undefined) metadata.annotations = { [CanaryPodLabelsAnnotation]: podLabels };
  return { apiVersion: `${CanaryGroup}/${CanaryVersion}`, kind: 'CanaryDeployment', metadata, spec };
}

/** The release as the WebApp's status shows it. */
function releaseStatus(canary: CanaryDeployment): NonNullable<WebAppStatus['release']> {
  const status: NonNullable<WebAppStatus['release']> = {
    name: canary.metadata.name ?? '',
    version: canary.spec.canaryVersion,
    phase: isAbout(canary, canary.spec.canaryVersion) ? (canary.status?.phase ?? 'Pending') : 'Pending',
  };
  const message = isAbout(canary, canary.spec.canaryVersion) ? canary.status?.message : undefined;
  if (message) status.message = message;
  return status;
}

/** Whether the CanaryDeployment's status describes the release of `version`. */
function isAbout(canary: CanaryDeployment, version: string): boolean {
  const observed = canary.status?.observedGeneration;
  const current = canary.metadata.generation;
  const caughtUp = observed === undefined || current === undefined || observed >= current;
  return caughtUp && canary.status?.releaseVersion === version;
}

function isFinished(canary: CanaryDeployment): boolean {
  return isFinishedPhase(canary.status?.phase) && isAbout(canary, canary.spec.canaryVersion);
}
