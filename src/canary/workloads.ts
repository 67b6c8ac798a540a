/**
 * The objects a release makes from the user's: the canary Deployment and the Services
 * the traffic provider needs, as pure builders, plus the few writes that put them in
 * place and take them away.
 *
 * Who selects which pods (the stable Deployment's selector is immutable and the user's):
 * - Replicas: canary pods keep every label of the stable pod template, so the stable
 *   Service selects them and each version gets about its share of pods as its share
 *   of requests;
 * - Istio: canary pods keep those labels too (the DestinationRule subsets split the
 *   endpoints of the stable Service's host); the stable subset selects the
 *   `pod-template-hash` of the stable Deployment's current ReplicaSet (./stable-pods.ts),
 *   which the stable pods already carry and canary pods never do, so the stable pod
 *   template is never changed and no stable pod restarts to begin a release. (An earlier
 *   version added `deploy.codedance.io/role: stable` to the stable template instead; where
 *   it is still there it is left alone, unused: removing it would restart the pods.);
 * - Nginx and Gateway API: canary pods drop the labels the stable Service selects on, so
 *   the stable Service never reaches them; they are reached through the canary Service
 *   (`<service>-canary`) or a BlueGreen preview Service.
 * Every canary pod carries `deploy.codedance.io/role: canary` and
 * `deploy.codedance.io/canary: <name>`, which is also the canary Deployment's selector.
 *
 * Extra canary pod labels: the CanaryDeployment annotation
 * `deploy.codedance.io/canary-pod-labels` (a JSON object of strings) is added to the
 * canary pod template only. Users tag the new version this way (e.g. `version: v2` for
 * their dashboards); tests use it to make canary pods crash under kwok
 * (`kwok.codedance.io/crash: "true"`) without touching the stable pods.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { GROUP, OwnerLabel, RoleLabel, VERSION } from '../api/names.ts';
import type { OwnerReference } from '../runtime/client.ts';
import type { Deployment, PodTemplateSpec, Service } from '../runtime/core-types.ts';

/** Annotation on a CanaryDeployment with extra labels (JSON) for the canary pods. */
export const CanaryPodLabelsAnnotation = `${GROUP}/canary-pod-labels`;

/** The built-in shapes releases read and write (declared once, in src/runtime/core-types.ts). */
export type { Deployment, PodTemplateSpec, Service };

/** Name of the canary Deployment of a target. */
export function canaryDeploymentName(target: string): string {
  return `${target}-canary`;
}

/** Name of the canary Service of a stable Service. */
export function canaryServiceName(service: string): string {
  return `${service}-canary`;
}

/** Labels that select a release's canary pods (and the canary Deployment's selector). */
export function canarySelector(release: string): Record<string, string> {
  return { [RoleLabel]: 'canary', [OwnerLabel]: release };
}

/** The ownerReference tying an object to its CanaryDeployment. */
export function ownerOf(cd: CanaryDeployment): OwnerReference {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'CanaryDeployment',
    name: cd.metadata.name ?? '',
    uid: cd.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The container a release changes: `spec.container`, else the first. */
export function releasedContainer(
  template: PodTemplateSpec | undefined,
  name: string | undefined,
): { name: string; image?: string } | undefined {
  const containers = template?.spec?.containers ?? [];
  return name === undefined ? containers[0] : containers.find((c) => c.name === name);
}

/** Extra canary pod labels from the annotation; invalid JSON is a problem for the caller to report. */
export function extraPodLabels(cd: CanaryDeployment): { labels: Record<string, string> } | { error: string } {
  const text = cd.metadata.annotations?.[CanaryPodLabelsAnnotation];
  if (!text) return { labels: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      parsed === null ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed) ||
      Object.values(parsed).some((v) => typeof v !== 'string')
    ) {
      return { error: `${CanaryPodLabelsAnnotation} must be a JSON object of strings` };
    }
    return { labels: parsed as Record<string, string> };
  } catch {
    return { error: `${CanaryPodLabelsAnnotation} is not valid JSON` };
  }
}

export interface CanaryDeploymentInput {
  cd: CanaryDeployment;
  stable: Deployment;
  image: string;
  /** Replicas to ask for; undefined leaves them to the Replicas provider (created at 0). */
  replicas: number | undefined;
  /** Label keys the canary pods must not carry (the stable Service's selector keys). */
  dropLabels: readonly string[];
  extraLabels: Record<string, string>;
}

/** The canary Deployment: the stable pod template with the new image on the released container. */
export function buildCanaryDeployment(input: CanaryDeploymentInput): Deployment {
  const { cd, stable, image } = input;
  const release = cd.metadata.name ?? '';
  const template: PodTemplateSpec = structuredClone(stable.spec?.template ?? {});
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(template.metadata?.labels ?? {})) {
    // RoleLabel: a stable template an earlier version labelled `role: stable`.
    if (!input.dropLabels.includes(key) && key !== RoleLabel) labels[key] = value;
  }
  Object.assign(labels, input.extraLabels, canarySelector(release));
  template.metadata = { ...template.metadata, labels };
  const target = releasedContainer(template, cd.spec.container);
  if (target) target.image = image;
  const spec: NonNullable<Deployment['spec']> = {
    selector: { matchLabels: canarySelector(release) },
    template,
  };
  if (input.replicas !== undefined) spec.replicas = input.replicas;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: canaryDeploymentName(cd.spec.targetDeployment),
      namespace: cd.metadata.namespace,
      labels: canarySelector(release),
      ownerReferences: [ownerOf(cd)],
    },
    spec,
  };
}

/** A Service selecting only the canary pods, with the stable Service's ports. */
export function buildCanaryService(
  cd: CanaryDeployment,
  stableService: Service,
  name: string,
  role: 'canary' | 'preview',
): Service {
  const release = cd.metadata.name ?? '';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: cd.metadata.namespace,
      labels: { [RoleLabel]: role, [OwnerLabel]: release },
      ownerReferences: [ownerOf(cd)],
    },
    spec: {
      selector: canarySelector(release),
      ports: (stableService.spec?.ports ?? []).map((p) => {
        const port: { name?: string; port: number; targetPort?: number | string; protocol?: string } = {
          port: p.port,
        };
        if (p.name !== undefined) port.name = p.name;
        if (p.targetPort !== undefined) port.targetPort = p.targetPort;
        if (p.protocol !== undefined) port.protocol = p.protocol;
        return port;
      }),
    },
  };
}

/**
 * A strategic merge patch of the stable Deployment: the released container's image,
 * and (Replicas provider) the replica count the release started with, so the new
 * version rolls out at full size before traffic returns to it.
 */
export function promotionPatch(containerName: string, image: string, replicas: number | undefined): object {
  const spec: Record<string, unknown> = {
    template: { spec: { containers: [{ name: containerName, image }] } },
  };
  if (replicas !== undefined) spec.replicas = replicas;
  return { spec };
}

/**
 * True when the Deployment's current spec is rolled out: the controller saw this
 * generation, every replica is updated and available, and no old pod remains.
 */
export function rolledOut(d: Deployment): boolean {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    (s.updatedReplicas ?? 0) >= desired &&
    (s.availableReplicas ?? 0) >= desired &&
    (s.replicas ?? 0) <= desired
  );
}
