/**
 * Resource kinds the project reads or writes, as plain descriptors.
 *
 * A descriptor is everything the generic client needs to build a REST path:
 * the API group (empty for the core group), version, plural resource name and
 * whether objects live in a namespace. Adding a kind is one constant here.
 */
export interface ResourceKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** `apiVersion` as written in manifests: `v1` for the core group, `group/version` otherwise. */
export function apiVersionOf(kind: ResourceKind): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

function kind(group: string, version: string, kindName: string, plural: string, namespaced = true): ResourceKind {
  return { group, version, kind: kindName, plural, namespaced };
}

export const Namespace = kind('', 'v1', 'Namespace', 'namespaces', false);
export const Node = kind('', 'v1', 'Node', 'nodes', false);
export const Pod = kind('', 'v1', 'Pod', 'pods');
export const Service = kind('', 'v1', 'Service', 'services');
export const ConfigMap = kind('', 'v1', 'ConfigMap', 'configmaps');
export const Secret = kind('', 'v1', 'Secret', 'secrets');
export const ServiceAccount = kind('', 'v1', 'ServiceAccount', 'serviceaccounts');
export const Deployment = kind('apps', 'v1', 'Deployment', 'deployments');
export const ReplicaSet = kind('apps', 'v1', 'ReplicaSet', 'replicasets');
export const HorizontalPodAutoscaler = kind('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers');
export const Lease = kind('coordination.k8s.io', 'v1', 'Lease', 'leases');
export const Event = kind('events.k8s.io', 'v1', 'Event', 'events');
export const Ingress = kind('networking.k8s.io', 'v1', 'Ingress', 'ingresses');
export const CustomResourceDefinition = kind(
  'apiextensions.k8s.io',
  'v1',
  'CustomResourceDefinition',
  'customresourcedefinitions',
  false,
);
export const ClusterRole = kind('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false);
export const ClusterRoleBinding = kind(
  'rbac.authorization.k8s.io',
  'v1',
  'ClusterRoleBinding',
  'clusterrolebindings',
  false,
);
export const Role = kind('rbac.authorization.k8s.io', 'v1', 'Role', 'roles');
export const RoleBinding = kind('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings');
export const VirtualService = kind('networking.istio.io', 'v1', 'VirtualService', 'virtualservices');
export const DestinationRule = kind('networking.istio.io', 'v1', 'DestinationRule', 'destinationrules');
export const HTTPRoute = kind('gateway.networking.k8s.io', 'v1', 'HTTPRoute', 'httproutes');
export const CanaryDeployment = kind('deploy.codedance.io', 'v1alpha1', 'CanaryDeployment', 'canarydeployments');
export const WebApp = kind('apps.codedance.io', 'v1alpha1', 'WebApp', 'webapps');
