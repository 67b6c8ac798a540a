/**
 * The built-in resource kinds the project reads or writes, as plain descriptors.
 *
 * A descriptor is everything the generic client needs to build a REST path: the API
 * group (empty for the core group), version, plural resource name and whether objects
 * live in a namespace. It also carries the type of its objects, so
 * `client.get(Deployment, ns, name)` resolves to a `Deployment` without a type argument.
 * Adding a kind is one constant here (the product's own kinds are in `src/api/kinds.ts`;
 * the runtime names none of them).
 */
import type {
  ConfigMap as ConfigMapObject,
  Deployment as DeploymentObject,
  HorizontalPodAutoscaler as HorizontalPodAutoscalerObject,
  Pod as PodObject,
  ReplicaSet as ReplicaSetObject,
  Service as ServiceObject,
} from './core-types.ts';
import type { KubeObject } from './object.ts';

/** A kind of object `T`. */
export interface ResourceKind<T extends KubeObject = KubeObject> {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /**
   * Never set: carries the object type, so the client's and the caches' answers are
   * typed by the kind. A method, so its parameter is bivariant: an untyped kind (of
   * `KubeObject`) still serves a caller that names the type it reads.
   */
  objectType?(object: T): void;
}

/** `apiVersion` as written in manifests: `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(kind: ResourceKind<KubeObject>): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

/** A kind descriptor (namespaced unless told). */
export function resourceKind<T extends KubeObject = KubeObject>(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced = true,
): ResourceKind<T> {
  return { group, version, kind, plural, namespaced };
}

export const Namespace = resourceKind('', 'v1', 'Namespace', 'namespaces', false);
export const Node = resourceKind('', 'v1', 'Node', 'nodes', false);
export const Pod = resourceKind<PodObject>('', 'v1', 'Pod', 'pods');
export const Service = resourceKind<ServiceObject>('', 'v1', 'Service', 'services');
export const ConfigMap = resourceKind<ConfigMapObject>('', 'v1', 'ConfigMap', 'configmaps');
export const Secret = resourceKind('', 'v1', 'Secret', 'secrets');
export const ServiceAccount = resourceKind('', 'v1', 'ServiceAccount', 'serviceaccounts');
export const Deployment = resourceKind<DeploymentObject>('apps', 'v1', 'Deployment', 'deployments');
export const ReplicaSet = resourceKind<ReplicaSetObject>('apps', 'v1', 'ReplicaSet', 'replicasets');
export const HorizontalPodAutoscaler = resourceKind<HorizontalPodAutoscalerObject>(
  'autoscaling',
  'v2',
  'HorizontalPodAutoscaler',
  'horizontalpodautoscalers',
);
export const Lease = resourceKind('coordination.k8s.io', 'v1', 'Lease', 'leases');
export const Event = resourceKind('events.k8s.io', 'v1', 'Event', 'events');
export const Ingress = resourceKind('networking.k8s.io', 'v1', 'Ingress', 'ingresses');
export const CustomResourceDefinition = resourceKind(
  'apiextensions.k8s.io',
  'v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);
export const ClusterRole = resourceKind(
  'rbac.authorization.k8s.io',
  'v1',
  'ClusterRole',
  'clusterroles',
  false,
);
export const ClusterRoleBinding = resourceKind(
  'rbac.authorization.k8s.io',
  'v1',
  'ClusterRoleBinding',
  'clusterrolebindings',
  false,
);
export const Role = resourceKind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles');
export const RoleBinding = resourceKind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings');
export const VirtualService = resourceKind('networking.istio.io', 'v1', 'VirtualService', 'virtualservices');
export const DestinationRule = resourceKind(
  'networking.istio.io',
  'v1',
  'DestinationRule',
  'destinationrules',
);
export const HTTPRoute = resourceKind('gateway.networking.k8s.io', 'v1', 'HTTPRoute', 'httproutes');
export const GRPCRoute = resourceKind('gateway.networking.k8s.io', 'v1', 'GRPCRoute', 'grpcroutes');
/** The Gateway API's experimental channel only (served as v1 by the pinned v1.6): installed in few clusters. */
export const TCPRoute = resourceKind('gateway.networking.k8s.io', 'v1', 'TCPRoute', 'tcproutes');
