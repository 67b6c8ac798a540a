/**
 * Which services to simulate, and the canary's share of each, from the cluster.
 *
 * A service is simulated when
 * - a CanaryDeployment names it (`spec.targetDeployment`), whatever its phase: the
 *   weights come from the objects of `spec.traffic.provider`; or
 * - a Deployment carries the label `sim.codedance.io/simulate: "true"` and no
 *   CanaryDeployment targets it: it is treated as the Replicas provider (its
 *   `<name>-canary` Deployment, if any, shares its Service), so a sample service has
 *   traffic before any release starts.
 *
 * {@link describeTargets} is pure over a {@link ClusterView}; {@link watchCluster} fills
 * one from the runtime's informers so each tick reads memory.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { canaryVersionLabelOf, stableVersionLabelOf } from '../analysis/queries.ts';
import { canaryDeploymentName, canaryServiceName } from '../canary/workloads.ts';
import { canaryIngressName } from '../traffic/nginx.ts';
import type { KubeObject } from '../runtime/client.ts';
import {
  Deployment as DeploymentKind,
  GRPCRoute as GRPCRouteKind,
  HTTPRoute as HTTPRouteKind,
  Ingress as IngressKind,
  Pod as PodKind,
  VirtualService as VirtualServiceKind,
  type ResourceKind,
} from '../runtime/kinds.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import { createInformer, type Informer } from '../runtime/informer.ts';
import type { RestartReason, WatcherClient, WatcherError } from '../runtime/watcher.ts';
import type { SimTarget, Version } from './target.ts';
import {
  gatewayCanaryShare,
  gatewayMirrorShare,
  ingressBackend,
  istioCanaryShare,
  istioMirrorShare,
  nginxCanaryShare,
  readyReplicas,
  replicaCanaryShare,
  type HTTPRouteLike,
  type IngressLike,
  type VirtualServiceLike,
} from './weights.ts';
import type { Deployment, Pod } from '../runtime/core-types.ts';

/** Label that opts a Deployment into simulation without a CanaryDeployment. */
export const SimulateLabel = 'sim.codedance.io/simulate';

/** Read access to the objects the simulator looks at. */
export interface ClusterView {
  canaryDeployments(): Iterable<CanaryDeployment>;
  deployments(): Iterable<Deployment>;
  deployment(namespace: string, name: string): Deployment | undefined;
  virtualService(namespace: string, name: string): VirtualServiceLike | undefined;
  ingress(namespace: string, name: string): IngressLike | undefined;
  httpRoute(namespace: string, name: string): HTTPRouteLike | undefined;
  /** A GRPCRoute (`traffic.protocol: GRPC`): its rules weight backendRefs as an HTTPRoute's do. */
  grpcRoute?(namespace: string, name: string): HTTPRouteLike | undefined;
  /** Pods of a namespace (for the cAdvisor series, ./resources.ts). @default none */
  pods?(namespace: string): readonly PodLike[];
}

/** The Pod fields the simulator reads: a core Pod. */
export type PodLike = Pod;

/**
 * The `version` label of each version's plain metrics: the canary's by the analyzer's
 * own rule (its pod template's `version` label, else `canary`); the stable's is its pod
 * template's `version` label unless that is the canary's too (canary pods inherit the
 * stable template's labels), in which case `stable`.
 */
export function versionLabelsOf(
  stable: Deployment | undefined,
  canary: Deployment | undefined,
): Record<Version, string> {
  const canaryLabel = canaryVersionLabelOf(canary?.spec?.template?.metadata?.labels);
  return {
    stable: stableVersionLabelOf(stable?.spec?.template?.metadata?.labels, canaryLabel),
    canary: canaryLabel,
  };
}

/**
 * A service whose release another tool drives (the benchmark's peers, Flagger and Argo
 * Rollouts) through an Istio VirtualService: no CanaryDeployment names it, so the
 * simulator is told where its weights are and which workloads serve each version.
 */
export interface RoutedService {
  namespace: string;
  /** Names the service's series and profile. */
  name: string;
  virtualService: string;
  /** The stable destination's host (short name); every other host of its route is the canary. */
  stableHost: string;
  /** The workload serving the stable version (`destination_workload` of its requests). */
  stableWorkload: string;
  /** The workload serving the canary. */
  canaryWorkload: string;
}

/** A {@link RoutedService} as a target: weights from its VirtualService, always serving. */
function describeRouted(routed: RoutedService, view: ClusterView): SimTarget {
  const vs = view.virtualService(routed.namespace, routed.virtualService);
  return {
    key: `${routed.namespace}/${routed.name}`,
    namespace: routed.namespace,
    name: routed.name,
    target: routed.stableWorkload,
    canaryWorkload: routed.canaryWorkload,
    service: routed.stableHost,
    provider: 'Istio',
    canaryShare: istioCanaryShare(vs, routed.stableHost),
    serving: true,
    versionLabels: { stable: 'stable', canary: 'canary' },
  };
}

/** Every service to simulate, with the canary's current share. */
export function describeTargets(view: ClusterView, routed: readonly RoutedService[] = []): SimTarget[] {
  const targets: SimTarget[] = [];
  const claimed = new Set<string>();
  for (const service of routed) {
    const target = describeRouted(service, view);
    claimed.add(`${target.namespace}/${target.target}`);
    targets.push(target);
  }
  for (const cd of view.canaryDeployments()) {
    const target = describeCanary(cd, view);
    if (!target) continue;
    claimed.add(`${target.namespace}/${target.target}`);
    targets.push(target);
  }
  for (const deployment of view.deployments()) {
    const { namespace, name, labels } = deployment.metadata;
    if (!namespace || !name || labels?.[SimulateLabel] !== 'true' || claimed.has(`${namespace}/${name}`))
      continue;
    const canary = view.deployment(namespace, canaryDeploymentName(name));
    targets.push({
      key: `${namespace}/${name}`,
      namespace,
      name,
      target: name,
      canaryWorkload: canaryDeploymentName(name),
      service: name,
      provider: 'Replicas',
      canaryShare: replicaCanaryShare(deployment, canary),
      serving: readyReplicas(deployment) + readyReplicas(canary) > 0,
      versionLabels: versionLabelsOf(deployment, canary),
    });
  }
  return targets;
}

function describeCanary(cd: CanaryDeployment, view: ClusterView): SimTarget | undefined {
  const { namespace, name } = cd.metadata;
  const targetName = cd.spec?.targetDeployment;
  if (!namespace || !name || !targetName) return undefined;
  const service = cd.spec.service?.name ?? targetName;
  const canaryWorkload = canaryDeploymentName(targetName);
  const provider = cd.spec.traffic?.provider ?? 'Replicas';
  const stable = view.deployment(namespace, targetName);
  const canary = view.deployment(namespace, canaryWorkload);
  const base = {
    key: `${namespace}/${name}`,
    namespace,
    name,
    target: targetName,
    canaryWorkload,
    service,
    provider,
    // A service whose Deployment is gone (or not made yet) answers nothing.
    serving: stable !== undefined,
    versionLabels: versionLabelsOf(stable, canary),
  };
  switch (provider) {
    case 'Istio': {
      const istio = cd.spec.traffic?.istio;
      const vs = istio ? view.virtualService(namespace, istio.virtualService) : undefined;
      return {
        ...base,
        canaryShare: istioCanaryShare(vs, service, istio?.routes),
        mirrorShare: istioMirrorShare(vs, service, istio?.routes),
      };
    }
    case 'Nginx': {
      // Same default as the analyzer's `{{ingress}}`: the target's name.
      const ingressName = cd.spec.traffic?.nginx?.ingress ?? targetName;
      const canaryIngress = view.ingress(namespace, canaryIngressName(ingressName));
      // ingress-nginx names an upstream `<namespace>-<service>-<port>`; read the canary
      // Ingress's backend when it exists, else assume the stable backend's port.
      const backend =
        ingressBackend(canaryIngress) ??
        (() => {
          const stableBackend = ingressBackend(view.ingress(namespace, ingressName));
          return {
            service: canaryServiceName(service),
            port: stableBackend?.port ?? String(cd.spec.service?.port ?? 80),
          };
        })();
      return {
        ...base,
        canaryShare: nginxCanaryShare(canaryIngress),
        nginx: {
          ingress: ingressName,
          canaryIngress: canaryIngressName(ingressName),
          canaryUpstream: `${namespace}-${backend.service}-${backend.port}`,
        },
      };
    }
    case 'GatewayAPI': {
      const gateway = cd.spec.traffic?.gatewayAPI;
      const route = gateway?.httpRoute
        ? view.httpRoute(namespace, gateway.httpRoute)
        : gateway?.grpcRoute
          ? view.grpcRoute?.(namespace, gateway.grpcRoute)
          : undefined;
      return {
        ...base,
        canaryShare: gatewayCanaryShare(route, service),
        mirrorShare: gatewayMirrorShare(route, service),
      };
    }
    case 'Replicas':
      return {
        ...base,
        canaryShare: replicaCanaryShare(stable, canary),
        serving: readyReplicas(stable) + readyReplicas(canary) > 0,
      };
  }
}

/** Namespaces watched one by one; more are watched cluster-wide and filtered. */
export const MaxScopedNamespaces = 8;

/** A {@link ClusterView} kept current by watches. */
export interface WatchedCluster extends ClusterView {
  /**
   * Resolves once Deployments and Ingresses are listed and the custom kinds are listed
   * or have had `crdGraceMs` to be (a kind whose CRD is not installed never lists; it
   * reads as empty until it does).
   */
  ready: Promise<void>;
  /** Stops every watch; resolves when they have ended. */
  stop(): Promise<void>;
}

export interface WatchClusterOptions {
  /** Namespaces to watch. @default all */
  namespaces?: readonly string[];
  /** Reports list and watch restarts; the informers retry on their own. */
  onRestart?: (kind: ResourceKind, reason: RestartReason, error: WatcherError | undefined) => void;
  /** How long `ready` waits for a custom kind. @default 3000 */
  crdGraceMs?: number;
}

/**
 * Watches CanaryDeployments, Deployments, Ingresses, Pods, VirtualServices and HTTPRoutes
 * with the runtime's informers: one list, then one watch per kind (per namespace when
 * scoped), so a tick reads memory and the API server pushes weight changes.
 */
export function watchCluster(client: WatcherClient, options: WatchClusterOptions = {}): WatchedCluster {
  const abort = new AbortController();
  const wanted = new Set(options.namespaces ?? []);
  // Five watches per namespace add up: past a few namespaces, one cluster-wide watch per
  // kind costs the API server less, and the view filters.
  const scoped = wanted.size > 0 && wanted.size <= MaxScopedNamespaces;
  const inScope = (namespace: string | undefined) =>
    wanted.size === 0 || (namespace !== undefined && wanted.has(namespace));
  const make = <T extends KubeObject>(kind: ResourceKind<T>): Informer<T> =>
    createInformer<T>(client, kind, {
      namespaces: scoped ? [...wanted] : undefined,
      onRestart: (k, reason, error) => options.onRestart?.(k, reason, error),
    });
  const canaries = make<CanaryDeployment>(CanaryDeploymentKind);
  const deployments = make<Deployment>(DeploymentKind);
  const ingresses = make<IngressLike>(IngressKind);
  const virtualServices = make<VirtualServiceLike>(VirtualServiceKind);
  const httpRoutes = make<HTTPRouteLike>(HTTPRouteKind);
  const grpcRoutes = make<HTTPRouteLike>(GRPCRouteKind);
  const custom = [canaries, virtualServices, httpRoutes, grpcRoutes] as Informer<KubeObject>[];
  const pods = make(PodKind);
  const core = [deployments, ingresses, pods] as Informer<KubeObject>[];
  const running = Promise.all([...core, ...custom].map((informer) => informer.start(abort.signal)));
  const grace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
  const crdGraceMs = options.crdGraceMs ?? 3000;
  return {
    ready: Promise.all([
      ...core.map((informer) => informer.store.ready()),
      ...custom.map((informer) => Promise.race([informer.store.ready(), grace(crdGraceMs)])),
    ]).then(() => undefined),
    async stop() {
      abort.abort();
      await running;
    },
    canaryDeployments: () => canaries.store.list().filter((o) => inScope(o.metadata.namespace)),
    deployments: () => deployments.store.list().filter((o) => inScope(o.metadata.namespace)),
    // Lookups start from a target already in scope, in its own namespace.
    deployment: (namespace, name) => deployments.store.get(namespace, name),
    virtualService: (namespace, name) => virtualServices.store.get(namespace, name),
    ingress: (namespace, name) => ingresses.store.get(namespace, name),
    httpRoute: (namespace, name) => httpRoutes.store.get(namespace, name),
    grpcRoute: (namespace, name) => grpcRoutes.store.get(namespace, name),
    pods: (namespace) => pods.store.list(namespace),
  };
}
