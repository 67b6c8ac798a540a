/**
 * The few fields of the built-in kinds a WebApp turns into (Deployment, Service,
 * ConfigMap) that this controller writes or reads. Plain JSON shapes, not a full
 * Kubernetes type library: only what the builders set and the reconciler observes is
 * typed, so a field missing here is one the WebApp controller does not touch.
 */
import type { KubeObject } from '../runtime/client.ts';

/** A quantity map as in `resources.requests` / `resources.limits`. */
export interface ResourceList {
  cpu?: string;
  memory?: string;
}

export interface ResourceRequirements {
  requests?: ResourceList;
  limits?: ResourceList;
}

export interface Probe {
  tcpSocket?: { port: number | string };
  httpGet?: { path: string; port: number | string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Container {
  name: string;
  image: string;
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
}

export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    automountServiceAccountToken?: boolean;
    securityContext?: {
      runAsNonRoot?: boolean;
      runAsUser?: number;
      runAsGroup?: number;
      fsGroup?: number;
      seccompProfile?: { type: string };
    };
    containers: Container[];
    volumes?: { name: string; emptyDir?: { medium?: string; sizeLimit?: string } }[];
  };
}

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: PodTemplate;
    revisionHistoryLimit?: number;
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

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  };
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
