/**
 * Pure builders: a WebApp in, the desired Deployment, Service and ConfigMap out.
 *
 * Each builder returns only the fields Codedance wants to own, ready for a
 * server-side apply: whatever is left out stays with whoever else set it (the API
 * server's defaults, a user's own annotations, the release engine's fields).
 *
 * Guarantees:
 * - every child carries a controller ownerReference to the WebApp (so garbage
 *   collection removes it and child events map back to the WebApp) and the labels
 *   `app.kubernetes.io/name` and `app.kubernetes.io/managed-by: codedance`; pods also
 *   carry `deploy.codedance.io/role: stable` (canary pods of a release get `canary`);
 * - the environment lives in the ConfigMap and reaches the container through
 *   `envFrom`; the sha256 of the ConfigMap data is a pod-template annotation, so a
 *   changed environment rolls the pods (envFrom alone is read only at container start);
 * - pods run hardened: non-root uid 10001, read-only root filesystem with an emptyDir
 *   at /tmp, no privilege escalation, every capability dropped, the runtime's default
 *   seccomp profile, no service-account token, probes on the container port.
 */
import { createHash } from 'node:crypto';
import { RoleLabel, WebAppGroup as GROUP, WebAppVersion as VERSION } from '../api/names.ts';
import type { WebApp } from '../api/webapp.ts';
import type { OwnerReference } from '../runtime/client.ts';
import type {
  ConfigMap,
  Container,
  Deployment,
  ResourceRequirements,
  Service,
} from '../runtime/core-types.ts';

/** Pod-template annotation holding the sha256 of the ConfigMap data. */
export const ConfigHashAnnotation = `${GROUP}/config-hash`;
/** The container's name in the pod template (also the container a release targets). */
export const ContainerName = 'app';
/** Name of the container port; the Service and the probes refer to it by name. */
export const PortName = 'http';
/** Port the Service exposes; it forwards to the container port. */
export const ServicePort = 80;
/** uid and gid the pods run as: non-root, and outside the range distro images give users. */
export const RunAsUser = 10001;

/** @default port of a WebApp whose spec leaves it out (the CRD defaults it too). */
export const DefaultPort = 8080;
/** @default replicas of a WebApp whose spec leaves it out. */
export const DefaultReplicas = 1;

/** Names of the objects a WebApp owns. */
export interface ChildNames {
  deployment: string;
  service: string;
  configMap: string;
  canary: string;
}

/** The Deployment and Service take the WebApp's name; the ConfigMap adds `-config`. */
export function childNames(webapp: WebApp): ChildNames {
  const name = nameOf(webapp);
  return { deployment: name, service: name, configMap: `${name}-config`, canary: name };
}

/** Labels on every child and on the pods; the first is also the selector. */
export function childLabels(webapp: WebApp): Record<string, string> {
  return { ...selectorLabels(webapp), 'app.kubernetes.io/managed-by': 'codedance' };
}

/** The Deployment's (immutable) selector and the Service's: only the app name. */
export function selectorLabels(webapp: WebApp): Record<string, string> {
  return { 'app.kubernetes.io/name': nameOf(webapp) };
}

/** The controller ownerReference every child carries. */
export function ownerReference(webapp: WebApp): OwnerReference {
  const uid = webapp.metadata.uid;
  if (!uid)
    throw new Error(
      `WebApp ${nameOf(webapp)} has no uid: build children from an object read from the API server`,
    );
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WebApp',
    name: nameOf(webapp),
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The environment as ConfigMap data: one key per variable, in spec order. */
export function configData(webapp: WebApp): Record<string, string> {
  const data: Record<string, string> = {};
  for (const { name, value } of webapp.spec.env ?? []) data[name] = value;
  return data;
}

/**
 * sha256 (hex) of ConfigMap data, independent of key order, so reordering the env list
 * in the spec does not roll the pods while any key or value change does.
 */
export function configHash(data: Record<string, string>): string {
  const canonical = Object.keys(data)
    .sort()
    .map((key) => [key, data[key]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/** The ConfigMap holding the WebApp's environment. */
export function buildConfigMap(webapp: WebApp): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(webapp, childNames(webapp).configMap),
    data: configData(webapp),
  };
}

/** What the reconciler decides and the spec alone cannot tell: see {@link buildDeployment}. */
export interface DeploymentInputs {
  /**
   * Image the Deployment runs. Without a release this is `spec.image`; while a release
   * is in flight it is the image the Deployment runs now, so the WebApp controller never
   * undoes what the release engine writes.
   */
  image: string;
  /** Replica count to apply; `spec.replicas` (default 1) unless a release drives it. */
  replicas: number;
}

/** The Deployment running the WebApp's container. */
export function buildDeployment(webapp: WebApp, inputs: DeploymentInputs): Deployment {
  const names = childNames(webapp);
  const labels = childLabels(webapp);
  const port = webapp.spec.port ?? DefaultPort;
  const container: Container = {
    name: ContainerName,
    image: inputs.image,
    ports: [{ name: PortName, containerPort: port, protocol: 'TCP' }],
    envFrom: [{ configMapRef: { name: names.configMap } }],
    readinessProbe: { tcpSocket: { port: PortName }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: {
      tcpSocket: { port: PortName },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      failureThreshold: 3,
    },
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    // A read-only root filesystem still needs somewhere to write temporary files.
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
  const resources = resourcesOf(webapp);
  if (resources) container.resources = resources;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(webapp, names.deployment),
    spec: {
      replicas: inputs.replicas,
      selector: { matchLabels: selectorLabels(webapp) },
      template: {
        metadata: {
          // The stable role from the start: a release with Istio needs it to tell stable pods
          // from canary ones, and adding it later would roll the pods once more.
          labels: { ...labels, [RoleLabel]: 'stable' },
          annotations: { [ConfigHashAnnotation]: configHash(configData(webapp)) },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RunAsUser,
            runAsGroup: RunAsUser,
            fsGroup: RunAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

/** The ClusterIP Service in front of the pods: port 80 to the named container port. */
export function buildService(webapp: WebApp): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMeta(webapp, childNames(webapp).service),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(webapp),
      ports: [{ name: PortName, port: ServicePort, targetPort: PortName, protocol: 'TCP' }],
    },
  };
}

/** The three children in the order they are applied: config first, so pods find it. */
export function buildChildren(
  webapp: WebApp,
  inputs: DeploymentInputs,
): { configMap: ConfigMap; deployment: Deployment; service: Service } {
  return {
    configMap: buildConfigMap(webapp),
    deployment: buildDeployment(webapp, inputs),
    service: buildService(webapp),
  };
}

/** The image a container of a live Deployment runs, if it has the WebApp's container. */
export function imageOf(deployment: Deployment | undefined): string | undefined {
  const containers = deployment?.spec?.template?.spec?.containers ?? [];
  return (containers.find((c) => c.name === ContainerName) ?? containers[0])?.image;
}

/** True when `obj` names `webapp` (by uid) as its controller owner. */
export function isOwnedBy(
  obj: { metadata: { ownerReferences?: OwnerReference[] } },
  webapp: WebApp,
): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === webapp.metadata.uid,
  );
}

function childMeta(webapp: WebApp, name: string): Deployment['metadata'] {
  return {
    name,
    namespace: webapp.metadata.namespace,
    labels: childLabels(webapp),
    ownerReferences: [ownerReference(webapp)],
  };
}

function resourcesOf(webapp: WebApp): ResourceRequirements | undefined {
  const { requests, limits } = webapp.spec.resources ?? {};
  const result: ResourceRequirements = {};
  if (requests && Object.keys(requests).length > 0) result.requests = { ...requests };
  if (limits && Object.keys(limits).length > 0) result.limits = { ...limits };
  return result.requests || result.limits ? result : undefined;
}

function nameOf(webapp: WebApp): string {
  const name = webapp.metadata.name;
  if (!name) throw new Error('WebApp has no metadata.name');
  return name;
}
