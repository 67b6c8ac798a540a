/**
 * ingress-nginx provider: a canary Ingress made from the user's Ingress, which
 * ingress-nginx merges into the same host and path with
 * `nginx.ingress.kubernetes.io/canary: "true"` and `canary-weight: "<n>"`.
 *
 * The canary Ingress (`<ingress>-canary`) is entirely ours: it carries the user's
 * Ingress class, TLS and annotations, and only the paths (and default backend) whose
 * backend is the stable Service, each pointed at the canary Service on the same port.
 * It is owned by the CanaryDeployment, so the garbage collector removes it if the
 * release goes without `reset`; `reset` deletes it, which is how ingress-nginx goes back
 * to 100% stable. The user's Ingress is only read, never written, and an Ingress that
 * already bears the canary name without being the release's is neither overwritten nor
 * deleted (`NameTaken`).
 *
 * Being ours, it is written with server-side apply (field manager `codedance`); the
 * apply is skipped when the Ingress already is as wanted.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../runtime/client.ts';
import { Ingress as IngressKind, apiVersionOf } from '../runtime/kinds.ts';
import { OwnerLabel } from '../api/names.ts';
import {
  TrafficError,
  checkWeight,
  readerOf,
  ownerReference,
  refuseUnsupported,
  type RouteOptions,
  type TrafficProvider,
  type TrafficProviderOptions,
  type TrafficTarget,
  type WeightChange,
} from './provider.ts';
import type { ProviderDefinition } from './capabilities.ts';
import { COOKIE_ALWAYS } from '../api/routing.ts';
import { cookieValue, describeMatch, type RequestMatch } from './match.ts';

export const nginxProviderName = 'Nginx';

const prefix = 'nginx.ingress.kubernetes.io/';
export const CanaryAnnotation = `${prefix}canary`;
export const CanaryWeightAnnotation = `${prefix}canary-weight`;
export const CanaryWeightTotalAnnotation = `${prefix}canary-weight-total`;
/** Request matching: a header (with an exact value or a pattern) and a cookie whose value is `always`. */
export const CanaryByHeaderAnnotation = `${prefix}canary-by-header`;
export const CanaryByHeaderValueAnnotation = `${prefix}canary-by-header-value`;
export const CanaryByHeaderPatternAnnotation = `${prefix}canary-by-header-pattern`;
export const CanaryByCookieAnnotation = `${prefix}canary-by-cookie`;

/** A backend of `networking.k8s.io/v1` Ingress: only the fields we read or write are typed. */
export interface IngressBackend {
  service?: { name: string; port?: { number?: number; name?: string } };
  resource?: unknown;
}

export interface IngressPath {
  path?: string;
  pathType?: string;
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  http?: { paths: IngressPath[] };
}

export interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: unknown[];
    rules?: IngressRule[];
  };
}

/** Name of the canary Ingress made from the user's Ingress `ingress`. */
export function canaryIngressName(ingress: string): string {
  return `${ingress}-canary`;
}

/** What a canary Ingress is made from. */
export interface CanaryIngressInput {
  /** The stable Service (backends pointing at it are copied). */
  service: string;
  /** The canary Service they are pointed at instead. */
  canaryService: string;
  canaryWeight: number;
  /** Requests that go to the canary whatever the weight: at most one header and one cookie. */
  match?: RequestMatch[] | undefined;
  /** Labels and owner references of the new object. */
  labels: Record<string, string>;
  ownerReferences: KubeObject['metadata']['ownerReferences'];
}

/**
 * The canary Ingress for the user's Ingress: same class, TLS and (non-canary)
 * annotations; only the paths whose backend is the stable Service, pointed at the
 * canary Service.
 * @throws TrafficError `NoRoutes` when no path or default backend reaches the stable Service
 */
export function canaryIngress(stable: Ingress, input: CanaryIngressInput): Ingress {
  const retarget = (backend: IngressBackend | undefined): IngressBackend | undefined =>
    backend?.service?.name === input.service
      ? { ...backend, service: { ...backend.service, name: input.canaryService } }
      : undefined;
  const rules: IngressRule[] = [];
  for (const rule of stable.spec?.rules ?? []) {
    const paths = (rule.http?.paths ?? []).flatMap((p) => {
      const backend = retarget(p.backend);
      return backend ? [{ ...p, backend }] : [];
    });
    if (paths.length > 0) rules.push({ ...rule, http: { ...rule.http, paths } });
  }
  const defaultBackend = retarget(stable.spec?.defaultBackend);
  const name = stable.metadata.name ?? '';
  if (rules.length === 0 && !defaultBackend) {
    throw new TrafficError(
      nginxProviderName,
      'NoRoutes',
      `Ingress ${stable.metadata.namespace}/${name} has no path whose backend is Service ${input.service}`,
    );
  }
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(stable.metadata.annotations ?? {})) {
    // Canary settings of the user's own Ingress would fight ours; kubectl's copy of its
    // configuration is about the user's object, not this one.
    if (key.startsWith(`${prefix}canary`) || key === 'kubectl.kubernetes.io/last-applied-configuration')
      continue;
    annotations[key] = value;
  }
  annotations[CanaryAnnotation] = 'true';
  annotations[CanaryWeightAnnotation] = String(input.canaryWeight);
  Object.assign(annotations, matchAnnotations(input.match ?? []));
  const spec: NonNullable<Ingress['spec']> = {};
  if (stable.spec?.ingressClassName !== undefined) spec.ingressClassName = stable.spec.ingressClassName;
  if (stable.spec?.tls !== undefined) spec.tls = stable.spec.tls;
  if (defaultBackend) spec.defaultBackend = defaultBackend;
  if (rules.length > 0) spec.rules = rules;
  return {
    apiVersion: apiVersionOf(IngressKind),
    kind: IngressKind.kind,
    metadata: {
      name: canaryIngressName(name),
      namespace: stable.metadata.namespace,
      labels: { ...input.labels },
      annotations,
      ownerReferences: input.ownerReferences,
    },
    spec,
  };
}

/**
 * The canary Ingress annotations of a request match. ingress-nginx has one header and
 * one cookie slot; the cookie routes when its value is `always` (the schema refuses
 * more, or another value, for Nginx).
 * @throws TrafficError `InvalidTarget` for a match it cannot write
 */
export function matchAnnotations(match: readonly RequestMatch[]): Record<string, string> {
  const headers = match.flatMap((m) => (m.header ? [m.header] : []));
  const cookies = match.flatMap((m) => (m.cookie ? [m.cookie] : []));
  const [header] = headers;
  const [cookie] = cookies;
  if (headers.length > 1 || cookies.length > 1 || (cookie && cookieValue(cookie) !== COOKIE_ALWAYS)) {
    throw new TrafficError(
      nginxProviderName,
      'InvalidTarget',
      `ingress-nginx matches at most one header and one cookie whose value is "${COOKIE_ALWAYS}", not ${describeMatch(match)}`,
    );
  }
  const annotations: Record<string, string> = {};
  if (header) {
    annotations[CanaryByHeaderAnnotation] = header.name;
    if (header.exact !== undefined) annotations[CanaryByHeaderValueAnnotation] = header.exact;
    else if (header.regex !== undefined) annotations[CanaryByHeaderPatternAnnotation] = header.regex;
  }
  if (cookie) annotations[CanaryByCookieAnnotation] = cookie.name;
  return annotations;
}

/**
 * The weight a canary Ingress sends to the canary, as ingress-nginx reads it: 0 unless
 * `canary: "true"`, then `canary-weight` out of `canary-weight-total` (default 100).
 */
export function canaryIngressWeight(ingress: Ingress | undefined): number {
  const annotations = ingress?.metadata.annotations ?? {};
  if (annotations[CanaryAnnotation] !== 'true') return 0;
  const weight = Number.parseInt(annotations[CanaryWeightAnnotation] ?? '0', 10);
  const total = Number.parseInt(annotations[CanaryWeightTotalAnnotation] ?? '100', 10);
  if (!Number.isFinite(weight) || !Number.isFinite(total) || total <= 0) return 0;
  return Math.round((Math.min(Math.max(weight, 0), total) * 100) / total);
}

/**
 * True when the Ingress is a CanaryDeployment's canary Ingress of the release named
 * `owner`. By name, not uid: a CanaryDeployment deleted and made again takes over the
 * Ingress its predecessor left (the apply replaces the old ownerReference).
 */
export function isReleaseIngress(ingress: Ingress, owner: string): boolean {
  return (
    ingress.metadata.ownerReferences?.some((ref) => ref.kind === 'CanaryDeployment' && ref.name === owner) ??
    false
  );
}

/** True when the existing canary Ingress already is the wanted one (nothing to write). */
export function sameCanaryIngress(existing: Ingress, wanted: Ingress): boolean {
  const { metadata: have } = existing;
  const { metadata: want } = wanted;
  const annotations = { ...have.annotations };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  return (
    isDeepStrictEqual(existing.spec ?? {}, wanted.spec ?? {}) &&
    isDeepStrictEqual(annotations, want.annotations ?? {}) &&
    Object.entries(want.labels ?? {}).every(([k, v]) => have.labels?.[k] === v) &&
    (want.ownerReferences ?? []).every((w) =>
      have.ownerReferences?.some((h) => h.uid === w.uid && h.controller === w.controller),
    )
  );
}

/** Creates the ingress-nginx provider. */
export function createNginxProvider(options: TrafficProviderOptions): TrafficProvider {
  const { client } = options;
  const read = readerOf(options);

  function ingressName(target: TrafficTarget): string {
    const name = target.traffic.nginx?.ingress;
    if (!name)
      throw new TrafficError(
        nginxProviderName,
        'InvalidTarget',
        'spec.traffic.nginx.ingress is required with provider Nginx',
      );
    return name;
  }

  async function setWeight(
    target: TrafficTarget,
    canaryWeight: number,
    routing: RouteOptions = {},
  ): Promise<WeightChange> {
    checkWeight(nginxProviderName, canaryWeight);
    refuseUnsupported(nginxProviderName, routing, { match: true, mirror: false });
    const name = ingressName(target);
    // Rebuilt from the user's Ingress every time, so a host or path they add is followed.
    const stable = await read<Ingress>(IngressKind, target.namespace, name);
    if (!stable)
      throw new TrafficError(nginxProviderName, 'NotFound', `Ingress ${target.namespace}/${name} not found`);
    const wanted = canaryIngress(stable, {
      service: target.service.name,
      canaryService: target.canaryService,
      canaryWeight,
      match: routing.match,
      labels: { [OwnerLabel]: target.owner.name },
      ownerReferences: [ownerReference(target)],
    });
    const existing = await read<Ingress>(IngressKind, target.namespace, canaryIngressName(name));
    if (existing && !isReleaseIngress(existing, target.owner.name)) {
      throw new TrafficError(
        nginxProviderName,
        'NameTaken',
        `Ingress ${target.namespace}/${canaryIngressName(name)} exists and is not this release's canary Ingress; rename or remove it`,
      );
    }
    if (existing && !existing.metadata.deletionTimestamp && sameCanaryIngress(existing, wanted)) {
      return { changed: false, weight: canaryIngressWeight(existing) };
    }
    const written = await client.apply<Ingress>(IngressKind, wanted);
    // The apply response is the object as stored (after admission): our read-back.
    const weight = canaryIngressWeight(written);
    const matched = Object.entries(matchAnnotations(routing.match ?? [])).every(
      ([k, v]) => written.metadata.annotations?.[k] === v,
    );
    if (weight !== canaryWeight || !matched || !isDeepStrictEqual(written.spec ?? {}, wanted.spec ?? {})) {
      throw new TrafficError(
        nginxProviderName,
        'ReadBackMismatch',
        `canary Ingress ${target.namespace}/${written.metadata.name} reads weight ${weight} after writing ${canaryWeight}`,
      );
    }
    return { changed: true, weight };
  }

  return {
    name: nginxProviderName,

    async prepare(target) {
      // A canary Ingress at weight 0 changes nothing for users and proves the Ingress
      // can be made (class, paths) before any traffic depends on it. If one exists
      // already (a restarted controller), its weight is the release's: leave it.
      const existing = await read<Ingress>(
        IngressKind,
        target.namespace,
        canaryIngressName(ingressName(target)),
      );
      if (!existing) await setWeight(target, 0);
    },

    setWeight,

    async readWeight(target) {
      const name = ingressName(target);
      const canary = await read<Ingress>(IngressKind, target.namespace, canaryIngressName(name));
      if (canary && isReleaseIngress(canary, target.owner.name)) return canaryIngressWeight(canary);
      // No canary Ingress: all traffic on stable, if there is an Ingress at all.
      const stable = await read<Ingress>(IngressKind, target.namespace, name);
      return stable ? 0 : undefined;
    },

    async reset(target) {
      const name = canaryIngressName(ingressName(target));
      // A fresh read, not the cache: deleting is only for the release's own Ingress.
      const current = await client.get<Ingress>(IngressKind, target.namespace, name);
      if (!current || !isReleaseIngress(current, target.owner.name)) return { changed: false, weight: 0 };
      const deleted = await client.delete(IngressKind, target.namespace, name, {
        preconditions: { uid: current.metadata.uid },
      });
      // Read back: gone, or going (an Ingress with a finalizer someone added).
      const left = await client.get<Ingress>(IngressKind, target.namespace, name);
      if (left && !left.metadata.deletionTimestamp) {
        throw new TrafficError(
          nginxProviderName,
          'ReadBackMismatch',
          `canary Ingress ${target.namespace}/${name} is still there after its deletion`,
        );
      }
      return { changed: deleted, weight: 0 };
    },

    async cleanup() {
      // `reset` already removed the only object this provider makes.
    },
  };
}

/**
 * ingress-nginx: a canary Ingress made from the user's, sending its share to the canary
 * Service by the `canary-weight` annotations.
 */
export const nginxProvider: ProviderDefinition = {
  name: nginxProviderName,
  capabilities: {
    settingsField: 'nginx',
    stableService: true,
    canaryService: true,
    stableSelectsCanary: false,
    podLabelSubsets: false,
    ownsReplicas: false,
    exactWeights: true,
    preview: true,
    requestMatch: true,
    mirror: false,
    protocols: ['HTTP'],
  },
  // ingress-nginx labels a request with the Ingress whose location served it (the user's;
  // the canary Ingress is merged into it) and sets `canary` to the canary upstream's name
  // only when the canary served it.
  metrics: {
    requests: 'nginx_ingress_controller_requests',
    statusLabel: 'status',
    histogram: 'nginx_ingress_controller_response_duration_seconds_bucket',
    toMs: 1000,
    canary: [
      { label: 'namespace', op: '=', value: { of: 'namespace' } },
      { label: 'ingress', op: '=', value: { of: 'ingress' } },
      { label: 'canary', op: '!=', value: { literal: '' } },
    ],
    stable: { label: 'canary', op: '=', value: { literal: '' } },
    // Not routed (capabilities.protocols): ingress-nginx reports HTTP status only.
    grpc: {
      requests: 'nginx_ingress_controller_requests',
      statusLabel: 'status',
      ok: '200',
      histogram: 'nginx_ingress_controller_response_duration_seconds_bucket',
      toMs: 1000,
    },
  },
  create: createNginxProvider,
  lacks: { mirror: "the canary Ingress' annotations split or match requests, they cannot copy them" },
  objects: (record) => {
    const ingress = record.nginx?.ingress ?? '';
    return [
      { kind: 'Ingress', name: ingress },
      { kind: 'Ingress', name: canaryIngressName(ingress) },
      { kind: 'Service', name: `${record.service}-canary` },
    ];
  },
};
