/**
 * Reads the canary's share of traffic out of the objects each traffic provider writes,
 * the way the data plane would act on them. Pure functions over plain objects; a
 * missing object or field means "no canary traffic", never an error, because the
 * simulator must keep running while the controller is half-way through a change.
 */
import type { KubeObject } from '../runtime/client.ts';
import type { Deployment } from '../runtime/core-types.ts';
import { CanarySubset } from '../traffic/istio.ts';
import { CanaryAnnotation, CanaryWeightAnnotation, CanaryWeightTotalAnnotation } from '../traffic/nginx.ts';

interface IstioDestination {
  host?: string;
  subset?: string;
}
/** The fields of an Istio VirtualService the simulator reads. */
export interface VirtualServiceLike extends KubeObject {
  spec?: {
    http?: {
      name?: string;
      match?: { headers?: Record<string, unknown> }[];
      route?: { destination?: IstioDestination; weight?: number }[];
      mirror?: IstioDestination;
      mirrorPercentage?: { value?: number };
    }[];
  };
}

interface IngressBackend {
  service?: { name?: string; port?: { number?: number; name?: string } };
}
/** The fields of an Ingress the simulator reads. */
export interface IngressLike extends KubeObject {
  spec?: {
    defaultBackend?: IngressBackend;
    rules?: { http?: { paths?: { backend?: IngressBackend }[] } }[];
  };
}

/** The fields of a Gateway API HTTPRoute the simulator reads. */
export interface HTTPRouteLike extends KubeObject {
  spec?: {
    rules?: {
      backendRefs?: { name?: string; kind?: string; weight?: number }[];
      filters?: { type?: string; requestMirror?: { backendRef?: { name?: string }; percent?: number } }[];
    }[];
  };
}

function clampShare(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

function shortHost(host: string | undefined): string | undefined {
  return host?.split('.')[0];
}

/**
 * Share of a VirtualService's traffic that goes to the canary. The first HTTP route
 * (among `routeNames`, when given) that sends to the stable Service's host decides, as
 * Envoy takes the first matching route; in it, the canary is the `canary` subset or any
 * other host (a separate canary Service). A lone destination without a weight gets 100.
 */
export function istioCanaryShare(
  vs: VirtualServiceLike | undefined,
  stableService: string,
  routeNames?: readonly string[],
): number {
  for (const http of vs?.spec?.http ?? []) {
    if (routeNames?.length && !(http.name && routeNames.includes(http.name))) continue;
    // The simulated requests carry no headers: a route that needs one never takes them.
    if (http.match?.length && http.match.every((m) => m.headers && Object.keys(m.headers).length > 0))
      continue;
    const routes = http.route ?? [];
    if (!routes.some((r) => shortHost(r.destination?.host) === stableService)) continue;
    const weightOf = (r: { weight?: number }) => r.weight ?? (routes.length === 1 ? 100 : 0);
    const total = routes.reduce((sum, r) => sum + weightOf(r), 0);
    if (total <= 0) return 0;
    const isCanary = (d: IstioDestination | undefined) =>
      d?.subset === CanarySubset || shortHost(d?.host) !== stableService;
    return clampShare(
      routes.filter((r) => isCanary(r.destination)).reduce((sum, r) => sum + weightOf(r), 0) / total,
    );
  }
  return 0;
}

/**
 * Share ingress-nginx sends to a canary Ingress: `canary-weight` out of
 * `canary-weight-total` (default 100), only while `canary: "true"`.
 */
export function nginxCanaryShare(canaryIngress: IngressLike | undefined): number {
  const annotations = canaryIngress?.metadata.annotations ?? {};
  if (annotations[CanaryAnnotation] !== 'true') return 0;
  const weight = Number.parseInt(annotations[CanaryWeightAnnotation] ?? '0', 10);
  const total = Number.parseInt(annotations[CanaryWeightTotalAnnotation] ?? '100', 10);
  if (!(weight > 0) || !(total > 0)) return 0;
  return clampShare(weight / total);
}

/** The first Service backend of an Ingress (rules first, then the default backend). */
export function ingressBackend(
  ingress: IngressLike | undefined,
): { service: string; port: string } | undefined {
  const backends = [
    ...(ingress?.spec?.rules ?? []).flatMap((rule) => (rule.http?.paths ?? []).map((path) => path.backend)),
    ingress?.spec?.defaultBackend,
  ];
  for (const backend of backends) {
    const service = backend?.service;
    if (!service?.name) continue;
    const port =
      service.port?.number !== undefined ? String(service.port.number) : (service.port?.name ?? '80');
    return { service: service.name, port };
  }
  return undefined;
}

/**
 * Share of an HTTPRoute's traffic that goes to the canary: in the first rule that sends
 * to the stable Service, every other Service backendRef is the canary's (the controller
 * names the canary Service, so the simulator need not guess it). A backendRef without a
 * weight counts 1, the API's default.
 */
export function gatewayCanaryShare(route: HTTPRouteLike | undefined, stableService: string): number {
  for (const rule of route?.spec?.rules ?? []) {
    const refs = (rule.backendRefs ?? []).filter((ref) => ref.kind === undefined || ref.kind === 'Service');
    if (!refs.some((ref) => ref.name === stableService)) continue;
    const weightOf = (ref: { weight?: number }) => ref.weight ?? 1;
    const total = refs.reduce((sum, ref) => sum + weightOf(ref), 0);
    if (total <= 0) return 0;
    const canary = refs
      .filter((ref) => ref.name !== stableService)
      .reduce((sum, ref) => sum + weightOf(ref), 0);
    return clampShare(canary / total);
  }
  return 0;
}

/** Ready pods of a Deployment, as a Service's endpoints would count them. */
export function readyReplicas(deployment: Deployment | undefined): number {
  return Math.max(0, deployment?.status?.readyReplicas ?? 0);
}

/**
 * Share of a Service's traffic the canary pods get when stable and canary pods sit
 * behind the same Service: kube-proxy spreads connections evenly over ready endpoints.
 */
export function replicaCanaryShare(stable: Deployment | undefined, canary: Deployment | undefined): number {
  const stableReady = readyReplicas(stable);
  const canaryReady = readyReplicas(canary);
  if (stableReady + canaryReady === 0) return 0;
  return canaryReady / (stableReady + canaryReady);
}

/**
 * Share of a VirtualService's traffic copied to the canary (answers discarded): the
 * `mirror` to the canary subset of the route that takes the requests (as in
 * {@link istioCanaryShare}), `mirrorPercentage` of it (all when unset).
 */
export function istioMirrorShare(
  vs: VirtualServiceLike | undefined,
  stableService: string,
  routeNames?: readonly string[],
): number {
  for (const http of vs?.spec?.http ?? []) {
    if (routeNames?.length && !(http.name && routeNames.includes(http.name))) continue;
    if (http.match?.length && http.match.every((m) => m.headers && Object.keys(m.headers).length > 0))
      continue;
    if (!(http.route ?? []).some((r) => shortHost(r.destination?.host) === stableService)) continue;
    if (!http.mirror || http.mirror.subset !== CanarySubset) return 0;
    return clampShare((http.mirrorPercentage?.value ?? 100) / 100);
  }
  return 0;
}

/**
 * Share of an HTTPRoute's traffic copied to the canary: a RequestMirror filter to a
 * Service other than the stable one, on the first rule that sends to stable, `percent`
 * of it (all when unset).
 */
export function gatewayMirrorShare(route: HTTPRouteLike | undefined, stableService: string): number {
  for (const rule of route?.spec?.rules ?? []) {
    if (!(rule.backendRefs ?? []).some((ref) => ref.name === stableService)) continue;
    const mirror = (rule.filters ?? []).find(
      (f) => f.type === 'RequestMirror' && f.requestMirror?.backendRef?.name !== stableService,
    );
    return mirror ? clampShare((mirror.requestMirror?.percent ?? 100) / 100) : 0;
  }
  return 0;
}
