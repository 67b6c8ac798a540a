/**
 * The shapes of the built-in kinds the project reads and writes (Deployment, Service,
 * Pod, ConfigMap), declared once for every part (canary, webapp, traffic, sim, tests,
 * bench). Plain JSON, not a full Kubernetes type library: the fields some part sets or
 * reads are typed; the rest passes through the index signatures untouched (a canary
 * Deployment copies the user's pod template whole).
 *
 * Nearly every field is optional: objects read back are checked, not trusted, and a
 * desired object for a server-side apply names only the fields its writer owns.
 */
import type { KubeObject } from './object.ts';

/** A quantity map as in `resources.requests` / `resources.limits`. */
export interface ResourceList {
  cpu?: string;
  memory?: string;
  [resource: string]: string | undefined;
}

/** A container's requests and limits. */
export interface ResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** A readiness or liveness probe. */
export interface Probe {
  tcpSocket?: { port: number | string };
  httpGet?: { path: string; port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

/** One container of a pod. */
export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: ResourceRequirements;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
  [field: string]: unknown;
}

/** A pod's spec (of a Pod, or of a pod template). */
export interface PodSpec {
  containers: Container[];
  nodeName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  volumes?: { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[];
  [field: string]: unknown;
}

/** A workload's pod template. */
export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: PodSpec;
}

/** One of a Deployment's status conditions (`Available`, `Progressing`). */
export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** An apps/v1 Deployment. */
export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: PodTemplateSpec;
    revisionHistoryLimit?: number;
    [field: string]: unknown;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}

/** One port of a Service. */
export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

/** A core/v1 Service. */
export interface Service extends KubeObject {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    [field: string]: unknown;
  };
}

/** The status of one container of a Pod. */
export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: { startedAt?: string };
    terminated?: { reason?: string };
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

/** A core/v1 Pod. */
export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: {
    phase?: string;
    startTime?: string;
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: ContainerStatus[];
  };
}

/** An apps/v1 ReplicaSet, as far as the project reads it (which template, how many pods). */
export interface ReplicaSet extends KubeObject {
  spec?: { replicas?: number; [field: string]: unknown };
  status?: { replicas?: number; availableReplicas?: number; readyReplicas?: number };
}

/** An autoscaling/v2 HorizontalPodAutoscaler, as far as the project reads it (what it scales, within which bounds). */
export interface HorizontalPodAutoscaler extends KubeObject {
  spec?: {
    scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
    minReplicas?: number;
    maxReplicas?: number;
    [field: string]: unknown;
  };
}

/** A core/v1 ConfigMap. */
export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
