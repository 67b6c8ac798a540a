/**
 * The kwok Stage objects that give the fake nodes and pods their lifecycle.
 *
 * kwok plays a Stage on every managed object its selector matches, after the stage's
 * delay, by patching the status from the template (Go templates with kwok's helpers such
 * as `Now`, `NodeIP`, `PodIPWith`, plus sprig). A stage that changes the object makes it
 * match again, which is how the heartbeat and the crash loop repeat.
 *
 * The pod stages split pods by the {@link crashLabel} on the pod (copied from the pod
 * template): without it, a scheduled pod becomes Running and Ready at once; with it, its
 * containers stay not ready in `CrashLoopBackOff` and `restartCount` grows every couple
 * of seconds, like a real kubelet restarting a failing container.
 */
import { stringify } from 'yaml';
import { kubernetesVersion, kwokVersion } from './versions.ts';

/** Pod (template) label that makes kwok crash-loop the pod's containers. */
export const crashLabel = 'kwok.codedance.io/crash';

/** Node annotation that puts a node under kwok's management. */
export const kwokNodeAnnotation = 'kwok.x-k8s.io/node';
export const kwokNodeAnnotationValue = 'fake';

interface Stage {
  apiVersion: 'kwok.x-k8s.io/v1alpha1';
  kind: 'Stage';
  metadata: { name: string };
  spec: {
    resourceRef: { apiGroup: string; kind: string };
    selector: {
      matchExpressions: {
        key: string;
        operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
        values?: string[];
      }[];
    };
    delay?: { durationMilliseconds: number; jitterDurationMilliseconds?: number };
    next: { statusTemplate?: string; delete?: boolean };
  };
}

function stage(name: string, kind: 'Node' | 'Pod', spec: Omit<Stage['spec'], 'resourceRef'>): Stage {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: { resourceRef: { apiGroup: 'v1', kind }, ...spec },
  };
}

const readyStatus = (kind: string): string =>
  `.status.conditions.[] | select( .type == "${kind}" ) | .status`;
const notDeleting = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' } as const;
const crashKey = `.metadata.labels["${crashLabel}"]`;

// Room for the hundreds of pods the benchmarks create, on three nodes.
const nodeResources = `
  cpu: "1k"
  memory: 4Ti
  pods: "5k"`;

const nodeConditions = `
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $since | Quote }}
{{ end }}`;

const nodeAddresses = `
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}`;

const nodeInitialize = stage('codedance-node-initialize', 'Node', {
  selector: { matchExpressions: [{ key: readyStatus('Ready'), operator: 'NotIn', values: ['True'] }] },
  next: {
    statusTemplate: `{{ $now := Now }}
{{ $since := $now }}
${nodeConditions}
${nodeAddresses}
allocatable:${nodeResources}
capacity:${nodeResources}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  osImage: kwok
  kernelVersion: kwok-${kwokVersion}
  containerRuntimeVersion: kwok-${kwokVersion}
  kubeletVersion: ${kubernetesVersion}
  kubeProxyVersion: ${kubernetesVersion}
  bootID: ""
  machineID: ""
  systemUUID: ""
phase: Running
`,
  },
});

// kwok renews each node's Lease (what the node lifecycle controller watches); the
// conditions' heartbeat only needs refreshing now and then.
const nodeHeartbeat = stage('codedance-node-heartbeat', 'Node', {
  selector: {
    matchExpressions: [
      { key: '.status.phase', operator: 'In', values: ['Running'] },
      { key: readyStatus('Ready'), operator: 'In', values: ['True'] },
    ],
  },
  delay: { durationMilliseconds: 20_000, jitterDurationMilliseconds: 25_000 },
  next: {
    statusTemplate: `{{ $now := Now }}
{{ $since := or .metadata.creationTimestamp $now }}
${nodeConditions}
${nodeAddresses}
`,
  },
});

// Allocated once: kwok hands out a new IP on every call, and the API server refuses a
// second IP of the same family.
const podAddresses = `{{ if not .status.podIP }}
{{ with NodeIPWith .spec.nodeName }}
hostIP: {{ . | Quote }}
hostIPs:
- ip: {{ . | Quote }}
{{ end }}
{{ with PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
podIP: {{ . | Quote }}
podIPs:
- ip: {{ . | Quote }}
{{ end }}
{{ end }}`;

const podReady = stage('codedance-pod-ready', 'Pod', {
  selector: {
    matchExpressions: [
      notDeleting,
      { key: crashKey, operator: 'NotIn', values: ['true'] },
      { key: '.status.phase', operator: 'In', values: ['Pending'] },
      { key: readyStatus('Ready'), operator: 'NotIn', values: ['True'] },
    ],
  },
  next: {
    statusTemplate: `{{ $now := Now }}
conditions:
- type: PodScheduled
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: Initialized
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: ContainersReady
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ range .spec.readinessGates }}
- type: {{ .conditionType | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
${podAddresses}
phase: Running
startTime: {{ $now | Quote }}
`,
  },
});

// Replays every 1.5-4s while the pod lives: each pass bumps restartCount by one, the way
// a kubelet reports a container that keeps exiting.
const podCrashLoop = stage('codedance-pod-crash-loop', 'Pod', {
  selector: { matchExpressions: [notDeleting, { key: crashKey, operator: 'In', values: ['true'] }] },
  delay: { durationMilliseconds: 1500, jitterDurationMilliseconds: 4000 },
  next: {
    statusTemplate: `{{ $now := Now }}
{{ $pod := . }}
{{ $previous := or .status.containerStatuses list }}
conditions:
- type: PodScheduled
  status: "True"
  lastTransitionTime: {{ or .status.startTime $now | Quote }}
- type: Initialized
  status: "True"
  lastTransitionTime: {{ or .status.startTime $now | Quote }}
- type: ContainersReady
  status: "False"
  reason: ContainersNotReady
  lastTransitionTime: {{ or .status.startTime $now | Quote }}
- type: Ready
  status: "False"
  reason: ContainersNotReady
  lastTransitionTime: {{ or .status.startTime $now | Quote }}
containerStatuses:
{{ range .spec.containers }}
{{ $name := .name }}
{{ $restarts := 0 }}
{{ range $previous }}{{ if eq .name $name }}{{ $restarts = add1 .restartCount }}{{ end }}{{ end }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: false
  started: false
  restartCount: {{ $restarts }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off restarting failed container %s in pod %s" .name $pod.metadata.name | Quote }}
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
${podAddresses}
phase: Running
startTime: {{ or .status.startTime $now | Quote }}
`,
  },
});

// Without a kubelet nobody finishes a graceful delete: remove the pod once it is marked.
const podDelete = stage('codedance-pod-delete', 'Pod', {
  selector: { matchExpressions: [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }] },
  next: { delete: true },
});

/** Every stage kwok runs, in the order written to its config file. */
export const stages: readonly Stage[] = [nodeInitialize, nodeHeartbeat, podReady, podCrashLoop, podDelete];

/** The kwok config file: all stages as one multi-document YAML. */
export function kwokConfigYaml(): string {
  return stages.map((s) => stringify(s, { lineWidth: 0 })).join('---\n');
}
