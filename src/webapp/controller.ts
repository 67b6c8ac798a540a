/**
 * The WebApp controller: what it reconciles, owns and watches (seeds 001 and 002).
 *
 * - owns its Deployment, Service, ConfigMap and CanaryDeployment: any change to one of
 *   them (a deletion, a hand edit, rollout or release progress) reconciles the WebApp;
 *   its ConfigMaps, Deployments and Services are cached by the label every child carries
 *   ({@link ManagedByCodedance}), never the cluster's (thousands of ConfigMaps of up to
 *   1 MiB each, thousands of Deployments);
 * - watches the same kinds by name for objects it does not control, so a WebApp that
 *   failed on a name conflict resumes as soon as the conflicting object is deleted; those
 *   watches are metadata-only (a conflict is a name and an owner, not data). CanaryDeployments
 *   are cached whole: the canary controller reconciles every one anyway.
 * - holds the finalizer `apps.codedance.io/cleanup` (see `cleanup.ts`).
 */
import type { WebApp } from '../api/webapp.ts';
import { WebAppGroup as GROUP } from '../api/names.ts';
import type { KubeObject } from '../runtime/client.ts';
import { controller, type Controller, type ObjectKey } from '../runtime/controller.ts';
import * as kinds from '../runtime/kinds.ts';
import { cleanupWebApp } from './cleanup.ts';
import { reconcileWebApp } from './reconcile.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';

/** Label selector of the children a WebApp makes (see `childLabels`). */
export const ManagedByCodedance = 'app.kubernetes.io/managed-by=codedance';

/** The finalizer every WebApp carries while it lives. */
export const WebAppFinalizer = `${GROUP}/cleanup`;

/** Settings of the WebApp controller; `undefined` means unset. */
export interface WebAppControllerOptions {
  /** Reconciles running at once. @default 4 */
  concurrency?: number;
}

/** Describes the WebApp controller for the manager. */
export function webappController(options: WebAppControllerOptions = {}): Controller<WebApp> {
  return controller<WebApp>({
    name: 'webapp',
    kind: WebAppKind,
    reconcile: reconcileWebApp,
    finalizer: { name: WebAppFinalizer, cleanup: cleanupWebApp },
    owns: [
      { kind: kinds.ConfigMap, labelSelector: ManagedByCodedance },
      { kind: kinds.Deployment, labelSelector: ManagedByCodedance },
      { kind: kinds.Service, labelSelector: ManagedByCodedance },
      CanaryDeploymentKind,
    ],
    watches: [
      { kind: kinds.Deployment, metadataOnly: true, map: (obj) => uncontrolled(obj, obj.metadata.name) },
      { kind: kinds.Service, metadataOnly: true, map: (obj) => uncontrolled(obj, obj.metadata.name) },
      {
        kind: kinds.ConfigMap,
        metadataOnly: true,
        map: (obj) => uncontrolled(obj, obj.metadata.name?.replace(/-config$/, '')),
      },
      { kind: CanaryDeploymentKind, map: (obj) => uncontrolled(obj, obj.metadata.name) },
    ],
    concurrency: options.concurrency,
    errorConditionType: 'Ready',
  });
}

/**
 * The WebApp an object not controlled by a WebApp would block (same namespace, the name
 * the WebApp would give it). WebApp-controlled objects map through `owns` instead.
 */
function uncontrolled(obj: KubeObject, webappName: string | undefined): ObjectKey[] {
  if (
    !webappName ||
    (obj.metadata.ownerReferences ?? []).some((ref) => ref.controller && ref.kind === 'WebApp')
  )
    return [];
  return [{ namespace: obj.metadata.namespace, name: webappName }];
}
