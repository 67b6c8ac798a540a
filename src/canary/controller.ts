/**
 * The CanaryDeployment controller's wiring: what it owns and watches, its finalizer.
 *
 * - owns Deployments and Services (the canary Deployment, canary and preview Services),
 *   cached by the label every object it makes carries: their changes (a canary becoming
 *   available) reconcile the release at once;
 * - references the Deployments and Services each release names (its target, the user's
 *   Service, the names its canary objects take): only those are cached whole, and a change
 *   of one (the user's Deployment rolling out the promoted version) reconciles the release;
 * - watches canary Pods (label `deploy.codedance.io/role=canary`), mapped by their
 *   `deploy.codedance.io/canary` label, so a crash-looping canary is rolled back as soon
 *   as the Pod says so;
 * - what it caches, and why: docs/memory.md (never every Deployment or Service of the
 *   cluster, never ConfigMaps or Secrets);
 * - the finalizer `deploy.codedance.io/cleanup` returns all traffic to stable and
 *   removes the canary before a deleted CanaryDeployment goes;
 * - its error policy (./error-policy.ts) turns every provider error and invalid spec into
 *   a condition, a Warning Event and a retry with backoff, or a stop that takes traffic
 *   back to stable first;
 * - with a registry, the per-release series of ./release-metrics.ts on `/metrics`.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
// Constants from names.ts: the schemas (TypeBox) stay out of the controller process.
import { OwnerLabel, RoleLabel } from '../api/names.ts';
import { controller, type Controller, type ObjectKey, type Reconciler } from '../runtime/controller.ts';
import type { Store } from '../runtime/store.ts';
import type { Registry } from 'prom-client';
import { registerReleaseMetrics } from './release-metrics.ts';
import { Deployment, HorizontalPodAutoscaler, Pod, Service } from '../runtime/kinds.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import type { KubeObject } from '../runtime/client.ts';
import {
  CanaryPodsIndex,
  canaryPodsIndexValues,
  createCanaryReconciler,
  type CanaryReconcilerOptions,
} from './reconcile.ts';
import { trafficRecordOf } from './traffic-record.ts';
import { canaryDeploymentName, canaryServiceName } from './workloads.ts';

/** Label selector of everything a release makes (each carries `deploy.codedance.io/canary: <name>`). */
export const MadeByRelease = OwnerLabel;

/**
 * The Deployments a release reads by name: its target, its canary (a same-named object
 * that is not the release's must be seen, to refuse it), and those its record scales.
 */
export function deploymentsNamedBy(cd: CanaryDeployment): ObjectKey[] {
  const names = [cd.spec.targetDeployment, canaryDeploymentName(cd.spec.targetDeployment)];
  for (const o of cd.status?.traffic?.objects ?? []) if (o.kind === 'Deployment') names.push(o.name);
  return names.map((name) => ({ namespace: cd.metadata.namespace, name }));
}

/** The Services a release reads by name: the stable one (spec and record) and its canary and preview names. */
export function servicesNamedBy(cd: CanaryDeployment): ObjectKey[] {
  const names = new Set<string>();
  for (const stable of [
    cd.spec.service?.name ?? cd.spec.targetDeployment,
    cd.status?.traffic?.service ?? trafficRecordOf(cd.spec).service,
  ]) {
    names.add(stable);
    names.add(canaryServiceName(stable));
    names.add(cd.spec.strategy?.blueGreen?.previewService ?? `${stable}-preview`);
  }
  return [...names].map((name) => ({ namespace: cd.metadata.namespace, name }));
}

export const CanaryControllerName = 'canary';
/** Reconciles of releases at once unless `--release-workers` says otherwise (see {@link CanaryControllerOptions.concurrency}). */
export const DEFAULT_RELEASE_WORKERS = 64;
export const CanaryFinalizer = 'deploy.codedance.io/cleanup';

export interface CanaryControllerOptions extends CanaryReconcilerOptions {
  /**
   * Reconciles running at once. They wait on the API server, not the CPU: with 16, 500
   * promotions at once kept due releases waiting seconds for a worker (bench/README.md,
   * "In flight at once"). @default {@link DEFAULT_RELEASE_WORKERS}
   */
  concurrency?: number;
  /** Registry of `/metrics`: the per-release series (./release-metrics.ts) go there. @default none */
  registry?: Registry | undefined;
}

/** The CanaryDeployment controller. */
export function canaryController(options: CanaryControllerOptions = {}): Controller<CanaryDeployment> {
  const reconciler = createCanaryReconciler(options);
  // The release series read the controller's own cache at scrape time; the first
  // reconcile hands it over (before that there is nothing to report).
  let releases: Store<CanaryDeployment> | undefined;
  if (options.registry) registerReleaseMetrics(options.registry, () => releases?.list() ?? []);
  const reconcile: Reconciler<CanaryDeployment> = (cd, ctx) => {
    releases ??= ctx.cache(CanaryDeploymentKind);
    return reconciler.reconcile(cd, ctx);
  };
  return controller<CanaryDeployment>({
    name: CanaryControllerName,
    kind: CanaryDeploymentKind,
    reconcile,
    // A new release creates its canary while the finalizer is being added (the canary is
    // owner-referenced); every other write waits for it (effects.ts, reconcile.ts).
    finalizer: { name: CanaryFinalizer, cleanup: reconciler.cleanup, ownedWritesFirst: true },
    errorPolicy: reconciler.errorPolicy,
    // What it made, by label: their changes reconcile the release, and teardown finds them by owner.
    owns: [
      { kind: Deployment, labelSelector: MadeByRelease },
      { kind: Service, labelSelector: MadeByRelease },
    ],
    // What it reads by name, whole: only those of the cluster's Deployments and Services.
    references: [
      { kind: Deployment, names: deploymentsNamedBy },
      { kind: Service, names: servicesNamedBy },
    ],
    // Which namespaces hold autoscalers at all (names only): a release of the Replicas
    // provider lists a namespace's autoscalers before it starts only where there are some,
    // so the common case starts without that round trip.
    caches: [{ kind: HorizontalPodAutoscaler, metadataOnly: true }],
    watches: [
      {
        kind: Pod,
        labelSelector: `${RoleLabel}=canary,${OwnerLabel}`,
        map: (obj: KubeObject): ObjectKey[] => {
          const name = obj.metadata.labels?.[OwnerLabel];
          return name ? [{ namespace: obj.metadata.namespace ?? '', name }] : [];
        },
      },
    ],
    // A release finds its canary pods by key, not by scanning its namespace's.
    indexes: [{ kind: Pod, name: CanaryPodsIndex, values: canaryPodsIndexValues }],
    concurrency: options.concurrency ?? DEFAULT_RELEASE_WORKERS,
  });
}
