/**
 * Istio provider: weights on the VirtualService's HTTP routes, between the DestinationRule
 * subsets `stable` and `canary` of the stable Service's host.
 *
 * Which routes are the release's: those named in `traffic.istio.routes`, or by default
 * every HTTP route with a destination on the Service's host (`svc`, `svc.ns`,
 * `svc.ns.svc`, `svc.ns.svc.<cluster domain>`). Every other route, and every other field of
 * a route (match, retries, headers...), is left as it was. A route of the release that
 * also sends traffic to another host cannot be split without changing that host's share,
 * so it is refused (`UnsupportedRoute`) rather than guessed at.
 *
 * Order of writes: subsets exist before a route names them (`setWeight` makes sure of
 * them first, as `prepare` does), and routes stop naming them before they go (`cleanup`),
 * because Envoy answers 503 for a destination whose subset is unknown.
 *
 * The DestinationRule named by `traffic.istio.destinationRule` (default: the
 * VirtualService's name) gets subsets `stable` and `canary` with the target's pod
 * selectors (the canary controller gives the stable pods' `pod-template-hash`, so no
 * label is ever added to the user's pods); other subsets are kept. An empty stable
 * selector keeps the stable subset's labels (a reset after the target Deployment went),
 * or is refused (`NotFound`, retried) when there are none: a subset without labels would
 * select the canary pods too. If it does not exist, `prepare` creates it, owned
 * by the CanaryDeployment, and `cleanup` deletes it again.
 *
 * Every write to the user's objects is a guarded read-modify-write (see ./update.ts for
 * why not server-side apply); the DestinationRule the provider makes is created. The
 * route rewriting is done by the pure functions exported below.
 */
import { isDeepStrictEqual } from 'node:util';
import { isConflict, type KubeObject } from '../runtime/client.ts';
import {
  DestinationRule as DestinationRuleKind,
  VirtualService as VirtualServiceKind,
} from '../runtime/kinds.ts';
import { OwnerLabel } from '../api/names.ts';
import {
  TrafficError,
  checkWeight,
  readerOf,
  ownerReference,
  refuseUnsupported,
  type TrafficProvider,
  type TrafficProviderOptions,
  type TrafficTarget,
  type WeightChange,
} from './provider.ts';
import { guardedUpdate } from './update.ts';
import type { ProviderDefinition } from './capabilities.ts';
import { headerConditions, type RouteOptions } from './match.ts';

export const istioProviderName = 'Istio';

/** Names of the DestinationRule subsets the provider writes. */
export const StableSubset = 'stable';
export const CanarySubset = 'canary';

/** `networking.istio.io/v1` Destination: only the fields we read or write are typed. */
export interface IstioDestination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

/** One weighted destination of an HTTP route. */
export interface IstioRouteDestination {
  destination: IstioDestination;
  weight?: number;
  headers?: unknown;
}

/** One entry of `spec.http`; fields we never touch are kept as they are. */
export interface IstioHttpRoute {
  name?: string;
  route?: IstioRouteDestination[];
  [field: string]: unknown;
}

export interface VirtualService extends KubeObject {
  spec: { hosts?: string[]; http?: IstioHttpRoute[]; [field: string]: unknown };
}

export interface DestinationRuleSubset {
  name: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

export interface DestinationRule extends KubeObject {
  spec: { host?: string; subsets?: DestinationRuleSubset[]; [field: string]: unknown };
}

/** Which routes of a VirtualService belong to the release. */
export interface RouteSelection {
  /** The stable Service's name. */
  service: string;
  /** Namespace of the VirtualService (short hosts are resolved in it). */
  namespace: string;
  /** Route names from `traffic.istio.routes`; unset: every route with a destination on the service. */
  routes?: string[];
}

/** True when an Istio host names the Service (short, namespaced or fully qualified). */
export function hostMatches(host: string, selection: RouteSelection): boolean {
  const { service, namespace } = selection;
  return (
    host === service ||
    host === `${service}.${namespace}` ||
    host === `${service}.${namespace}.svc` ||
    host.startsWith(`${service}.${namespace}.svc.`)
  );
}

/** True when the route is one the release weights. */
export function isReleaseRoute(route: IstioHttpRoute, selection: RouteSelection): boolean {
  if (selection.routes) return route.name !== undefined && selection.routes.includes(route.name);
  return (route.route ?? []).some((d) => hostMatches(d.destination.host, selection));
}

/**
 * The VirtualService with every release route split `100 - canaryWeight` to subset
 * `stable` and `canaryWeight` to subset `canary` of the Service's host. Other routes are
 * the same objects as before. Both destinations stay at weights 0 and 100, so the route
 * keeps the shape Istio validates and `weightOf` can read.
 * @throws TrafficError `NoRoutes`, `UnsupportedRoute`
 */
export function withWeights(
  vs: VirtualService,
  selection: RouteSelection,
  canaryWeight: number,
  routing: RouteOptions = {},
): VirtualService {
  const weighted = mapReleaseRoutes(withoutMatchRoutes(vs, selection), selection, (_route, template) => [
    {
      ...template,
      destination: { ...template.destination, subset: StableSubset },
      weight: 100 - canaryWeight,
    },
    { ...template, destination: { ...template.destination, subset: CanarySubset }, weight: canaryWeight },
  ]);
  return withRouting(weighted, selection, routing);
}

/** Prefix of the names of the routes a release adds for its request match, per stable Service. */
export function matchRoutePrefix(selection: RouteSelection): string {
  return `codedance-match-${selection.service}-`;
}

/** True when the route is one the release added to send matching requests to the canary. */
export function isMatchRoute(route: IstioHttpRoute, selection: RouteSelection): boolean {
  return route.name?.startsWith(matchRoutePrefix(selection)) ?? false;
}

/** The VirtualService without the release's match routes. */
export function withoutMatchRoutes(vs: VirtualService, selection: RouteSelection): VirtualService {
  const http = vs.spec.http ?? [];
  if (!http.some((r) => isMatchRoute(r, selection))) return vs;
  return { ...vs, spec: { ...vs.spec, http: http.filter((r) => !isMatchRoute(r, selection)) } };
}

/** True when the route mirrors to the canary subset of the Service (the release's mirror). */
function mirrorsToCanary(route: IstioHttpRoute, selection: RouteSelection): boolean {
  const mirror = route['mirror'] as IstioDestination | undefined;
  return mirror !== undefined && hostMatches(mirror.host, selection) && mirror.subset === CanarySubset;
}

/**
 * Each release route (already weighted) with, before it, a route of the same conditions
 * plus the match sending to subset `canary` only (Envoy takes the first route that
 * matches), and with `mirror` to subset `canary` for `routing.mirror` percent; without
 * them, the release's match routes and mirrors are gone. A mirror of the user's own is
 * kept, and refused when the release would need that place.
 * @throws TrafficError `UnsupportedRoute`
 */
function withRouting(vs: VirtualService, selection: RouteSelection, routing: RouteOptions): VirtualService {
  const conditions = headerConditions(routing.match ?? []);
  const http: IstioHttpRoute[] = [];
  let index = 0;
  for (const route of vs.spec.http ?? []) {
    if (!isReleaseRoute(route, selection)) {
      http.push(route);
      continue;
    }
    const template = (route.route ?? []).find((d) => hostMatches(d.destination.host, selection))!;
    const { mirror: _mirror, mirrorPercentage: _percentage, ...plain } = route;
    const ours = mirrorsToCanary(route, selection);
    if (routing.mirror && route['mirror'] !== undefined && !ours) {
      throw new TrafficError(
        istioProviderName,
        'UnsupportedRoute',
        `VirtualService ${vs.metadata.namespace ?? selection.namespace}/${vs.metadata.name ?? ''} route '${route.name ?? index}' already mirrors to ${(route['mirror'] as IstioDestination).host}; a route has one mirror`,
      );
    }
    if (conditions.length > 0) {
      const userMatches = (route['match'] as IstioMatchRequest[] | undefined) ?? [{}];
      const { name: _name, ...rest } = plain;
      http.push({
        name: `${matchRoutePrefix(selection)}${index++}`,
        ...rest,
        match: userMatches.flatMap((m) =>
          conditions.map((c) => ({
            ...m,
            headers: {
              ...(m.headers ?? {}),
              [c.name]: c.type === 'Exact' ? { exact: c.value } : { regex: c.value },
            },
          })),
        ),
        route: [{ ...template, destination: { ...template.destination, subset: CanarySubset }, weight: 100 }],
      });
    }
    if (routing.mirror) {
      http.push({
        ...plain,
        mirror: { ...template.destination, subset: CanarySubset },
        mirrorPercentage: { value: routing.mirror },
      });
    } else {
      http.push(ours ? plain : route);
    }
  }
  return { ...vs, spec: { ...vs.spec, http } };
}

/** An HTTPMatchRequest: only the headers are read; the rest is kept. */
interface IstioMatchRequest {
  headers?: Record<string, unknown>;
  [field: string]: unknown;
}

/**
 * The VirtualService with every release route back to one destination, the Service's
 * host without subset and without weight: the plain shape from before the release.
 * @throws TrafficError `NoRoutes`, `UnsupportedRoute`
 */
export function withoutSubsets(vs: VirtualService, selection: RouteSelection): VirtualService {
  const plain = withRouting(withoutMatchRoutes(vs, selection), selection, {});
  return mapReleaseRoutes(plain, selection, (_route, template) => {
    const { subset: _subset, ...destination } = template.destination;
    const { weight: _weight, ...rest } = template;
    return [{ ...rest, destination }];
  });
}

/**
 * The canary's share in the release routes: the weight on subset `canary` (100 for a
 * lone unweighted canary destination). The highest share when routes disagree;
 * `undefined` when the VirtualService has no release route.
 */
export function weightOf(vs: VirtualService, selection: RouteSelection): number | undefined {
  let highest: number | undefined;
  for (const route of vs.spec.http ?? []) {
    if (!isReleaseRoute(route, selection) || isMatchRoute(route, selection)) continue;
    const destinations = route.route ?? [];
    let canary = 0;
    for (const d of destinations) {
      if (!hostMatches(d.destination.host, selection) || d.destination.subset !== CanarySubset) continue;
      canary += d.weight ?? (destinations.length === 1 ? 100 : 0);
    }
    highest = Math.max(highest ?? 0, canary);
  }
  return highest;
}

/**
 * The subsets with `stable` and `canary` set to the given pod labels: existing entries
 * are updated in place (keeping their other fields, e.g. a trafficPolicy), missing ones
 * appended; every other subset is kept as it is.
 */
export function withReleaseSubsets(
  subsets: DestinationRuleSubset[] | undefined,
  labels: { stable: Record<string, string>; canary: Record<string, string> },
): DestinationRuleSubset[] {
  const wanted: Record<string, Record<string, string>> = {
    [StableSubset]: labels.stable,
    [CanarySubset]: labels.canary,
  };
  const result = (subsets ?? []).map((s) => (s.name in wanted ? { ...s, labels: { ...wanted[s.name] } } : s));
  for (const name of [StableSubset, CanarySubset]) {
    if (!result.some((s) => s.name === name)) result.push({ name, labels: { ...wanted[name] } });
  }
  return result;
}

/** The subsets without `stable` and `canary`. */
export function withoutReleaseSubsets(subsets: DestinationRuleSubset[] | undefined): DestinationRuleSubset[] {
  return (subsets ?? []).filter((s) => s.name !== StableSubset && s.name !== CanarySubset);
}

/** Creates the Istio provider. */
export function createIstioProvider(options: TrafficProviderOptions): TrafficProvider {
  const { client } = options;
  const read = readerOf(options);
  const conflictRetries = options.conflictRetries ?? 5;

  async function writeRoutes(
    target: TrafficTarget,
    rewrite: (vs: VirtualService) => VirtualService,
    current?: VirtualService,
  ): Promise<{ vs: VirtualService; changed: boolean }> {
    const { virtualService } = istioSpec(target);
    const { object, changed } = await guardedUpdate<VirtualService>({
      client,
      provider: istioProviderName,
      kind: VirtualServiceKind,
      namespace: target.namespace,
      name: virtualService,
      conflictRetries,
      read,
      ...(current ? { current } : {}),
      change: (stored) => {
        const vs = routesView(stored, target);
        const next = rewrite(vs);
        return isDeepStrictEqual(next.spec.http, vs.spec.http)
          ? undefined
          : { spec: { [routeSection(target)]: next.spec.http ?? [] } };
      },
    });
    return { vs: routesView(object, target), changed };
  }

  /**
   * Subsets `stable` and `canary` on the DestinationRule (made if missing). Part of every
   * setWeight too, so a route never names a subset that is gone (Envoy would answer 503).
   * Returns whether it wrote.
   */
  async function ensureSubsets(
    target: TrafficTarget,
    preRead?: Promise<DestinationRule | undefined>,
  ): Promise<boolean> {
    const spec = istioSpec(target);
    const name = spec.destinationRule ?? spec.virtualService;
    const unknown = Object.keys(target.selectors.stable).length === 0;
    const existing = await (preRead ?? read<DestinationRule>(DestinationRuleKind, target.namespace, name));
    /**
     * The subsets' labels. Stable pods not known now (the target Deployment deleted
     * mid-release, so traffic must go back before anything else): the stable subset
     * keeps the labels it was given; with none to keep, refuse, since a subset without
     * labels selects every endpoint of the host, canary pods included.
     */
    const labelsFor = (dr: DestinationRule | undefined): TrafficTarget['selectors'] => {
      if (!unknown) return target.selectors;
      const kept = dr?.spec.subsets?.find((s) => s.name === StableSubset)?.labels;
      if (kept && Object.keys(kept).length > 0) return { stable: kept, canary: target.selectors.canary };
      throw new TrafficError(
        istioProviderName,
        'NotFound',
        `the stable pods of Deployment ${target.namespace}/${target.stableDeployment} cannot be told apart yet (it has no ReplicaSet with pods): the stable subset waits for them`,
      );
    };
    if (!existing) {
      const labels = labelsFor(undefined);
      // No DestinationRule yet: make one that only holds our subsets, owned by the
      // release so it goes with it (and `cleanup` deletes it earlier). A create, not an
      // apply: if the user's appeared meanwhile (or the read was stale), an apply would
      // replace its subsets; a create fails with 409 and we edit theirs below.
      try {
        await client.create<DestinationRule>(DestinationRuleKind, {
          metadata: {
            name,
            namespace: target.namespace,
            labels: { [OwnerLabel]: target.owner.name },
            ownerReferences: [ownerReference(target)],
          },
          spec: { host: target.service.name, subsets: withReleaseSubsets([], labels) },
        });
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    const { changed } = await guardedUpdate<DestinationRule>({
      client,
      provider: istioProviderName,
      kind: DestinationRuleKind,
      namespace: target.namespace,
      name,
      conflictRetries,
      // Starts from what was just read; after a lost create race, reads the API server.
      ...(existing ? { current: existing } : {}),
      change: (dr) => {
        const subsets = withReleaseSubsets(dr.spec.subsets, labelsFor(dr));
        return isDeepStrictEqual(subsets, dr.spec.subsets) ? undefined : { spec: { subsets } };
      },
    });
    return changed;
  }

  async function setWeight(
    target: TrafficTarget,
    canaryWeight: number,
    routing: RouteOptions = {},
  ): Promise<WeightChange> {
    checkWeight(istioProviderName, canaryWeight);
    // A TCP connection has no header to match and no request to copy.
    const tcp = routeSection(target) === 'tcp';
    refuseUnsupported(istioProviderName, routing, { match: !tcp, mirror: !tcp });
    const selection = routeSelection(target);
    const spec = istioSpec(target);
    const name = spec.virtualService;
    // Both reads at once: a step's first weight waits for one read, not two.
    const drRead = read<DestinationRule>(DestinationRuleKind, target.namespace, spec.destinationRule ?? name);
    drRead.catch(() => undefined); // awaited below, unless the VirtualService is refused first
    const first = await read<VirtualService>(VirtualServiceKind, target.namespace, name);
    if (!first)
      throw new TrafficError(
        istioProviderName,
        'NotFound',
        `VirtualService ${target.namespace}/${name} not found`,
      );
    // Rewrite once before anything is written, so a VirtualService we cannot weight
    // (no route of ours, a mixed route) leaves the DestinationRule alone too.
    withWeights(routesView(first, target), selection, canaryWeight, routing);
    const subsetsChanged = await ensureSubsets(target, drRead);
    const { vs, changed } = await writeRoutes(
      target,
      (current) => withWeights(current, selection, canaryWeight, routing),
      first,
    );
    // The patch response is the object as stored (after admission), so it is our read-back.
    const expected = withWeights(vs, selection, canaryWeight, routing);
    if (!isDeepStrictEqual(expected.spec.http, vs.spec.http)) {
      throw new TrafficError(
        istioProviderName,
        'ReadBackMismatch',
        `VirtualService ${target.namespace}/${vs.metadata.name} does not carry weight ${canaryWeight} after the write (read ${weightOf(vs, selection)})`,
      );
    }
    return { changed: changed || subsetsChanged, weight: canaryWeight };
  }

  return {
    name: istioProviderName,

    async prepare(target) {
      await ensureSubsets(target);
    },

    setWeight,

    async readWeight(target) {
      const vs = await read<VirtualService>(
        VirtualServiceKind,
        target.namespace,
        istioSpec(target).virtualService,
      );
      return vs ? weightOf(routesView(vs, target), routeSelection(target)) : undefined;
    },

    async reset(target) {
      // Subset `stable` at 100, not the bare host: canary pods may still be behind the Service.
      return setWeight(target, 0);
    },

    async cleanup(target) {
      const spec = istioSpec(target);
      const selection = routeSelection(target);
      await writeRoutes(target, (vs) => withoutSubsets(vs, selection));
      const name = spec.destinationRule ?? spec.virtualService;
      const dr = await read<DestinationRule>(DestinationRuleKind, target.namespace, name);
      if (!dr) return;
      if (dr.metadata.ownerReferences?.some((ref) => ref.uid === target.owner.uid)) {
        await client.delete(DestinationRuleKind, target.namespace, name, {
          preconditions: { uid: dr.metadata.uid },
        });
        return;
      }
      await guardedUpdate<DestinationRule>({
        client,
        provider: istioProviderName,
        kind: DestinationRuleKind,
        namespace: target.namespace,
        name,
        conflictRetries,
        read,
        change: (current) => {
          const subsets = withoutReleaseSubsets(current.spec.subsets);
          return subsets.length === (current.spec.subsets ?? []).length ? undefined : { spec: { subsets } };
        },
      });
    },
  };
}

function istioSpec(target: TrafficTarget): NonNullable<TrafficTarget['traffic']['istio']> {
  const spec = target.traffic.istio;
  if (!spec)
    throw new TrafficError(
      istioProviderName,
      'InvalidTarget',
      'spec.traffic.istio.virtualService is required with provider Istio',
    );
  return spec;
}

/**
 * The VirtualService section the release's routes are in: `tcp` for protocol TCP, else
 * `http` (gRPC is routed as HTTP/2 by the `http` routes).
 */
export function routeSection(target: TrafficTarget): 'http' | 'tcp' {
  return target.traffic.protocol === 'TCP' ? 'tcp' : 'http';
}

/**
 * `vs` with its routes of the release's section as `spec.http`, so one set of pure
 * functions weights both (a `tcp` route has the same `route: [{destination, weight}]`).
 */
function routesView(vs: VirtualService, target: TrafficTarget): VirtualService {
  if (routeSection(target) === 'http') return vs;
  const tcp = vs.spec['tcp'] as IstioHttpRoute[] | undefined;
  const { tcp: _tcp, http: _http, ...rest } = vs.spec;
  return { ...vs, spec: { ...rest, ...(tcp ? { http: tcp } : {}) } };
}

function routeSelection(target: TrafficTarget): RouteSelection {
  const routes = target.traffic.istio?.routes;
  return {
    service: target.service.name,
    namespace: target.namespace,
    ...(routes && routes.length > 0 ? { routes } : {}),
  };
}

/**
 * Rewrites each release route's destinations with `rewrite(route, template)`, where
 * `template` is its current destination on the Service's host (the `stable` one if it
 * has one). Checks the release has routes and that they only send traffic to that host.
 */
function mapReleaseRoutes(
  vs: VirtualService,
  selection: RouteSelection,
  rewrite: (route: IstioHttpRoute, template: IstioRouteDestination) => IstioRouteDestination[],
): VirtualService {
  const http = vs.spec.http ?? [];
  const name = `VirtualService ${vs.metadata.namespace ?? selection.namespace}/${vs.metadata.name ?? ''}`;
  const missing = (selection.routes ?? []).filter((r) => !http.some((route) => route.name === r));
  if (missing.length > 0)
    throw new TrafficError(
      istioProviderName,
      'NoRoutes',
      `${name} has no HTTP route named ${missing.join(', ')}`,
    );
  let found = false;
  const next = http.map((route) => {
    if (!isReleaseRoute(route, selection)) return route;
    found = true;
    const destinations = route.route ?? [];
    const own = destinations.filter((d) => hostMatches(d.destination.host, selection));
    const label = route.name ? `route '${route.name}'` : `route #${http.indexOf(route) + 1}`;
    if (own.length === 0) {
      throw new TrafficError(
        istioProviderName,
        'UnsupportedRoute',
        `${name} ${label} has no destination on host ${selection.service}`,
      );
    }
    if (own.length !== destinations.length) {
      throw new TrafficError(
        istioProviderName,
        'UnsupportedRoute',
        `${name} ${label} also sends traffic to other hosts; split it so the route to ${selection.service} stands alone`,
      );
    }
    const template = own.find((d) => d.destination.subset === StableSubset) ?? own[0]!;
    return { ...route, route: rewrite(route, template) };
  });
  if (!found)
    throw new TrafficError(
      istioProviderName,
      'NoRoutes',
      `${name} has no HTTP route to host ${selection.service}`,
    );
  return { ...vs, spec: { ...vs.spec, http: next } };
}

/**
 * Istio: weights between the `stable` and `canary` subsets of the stable host in the
 * VirtualService's routes; the stable Service keeps selecting every pod, and the subsets
 * tell the versions apart by pod labels.
 */
export const istioProvider: ProviderDefinition = {
  name: istioProviderName,
  capabilities: {
    settingsField: 'istio',
    stableService: true,
    canaryService: false,
    stableSelectsCanary: true,
    podLabelSubsets: true,
    ownsReplicas: false,
    exactWeights: true,
    preview: true,
    requestMatch: true,
    mirror: true,
    protocols: ['HTTP', 'GRPC', 'TCP'],
  },
  // The destination proxy reports the workload (Deployment) that served the request;
  // `reporter="destination"` avoids counting each request twice.
  metrics: {
    requests: 'istio_requests_total',
    statusLabel: 'response_code',
    histogram: 'istio_request_duration_milliseconds_bucket',
    toMs: 1,
    canary: [
      { label: 'reporter', op: '=', value: { literal: 'destination' } },
      { label: 'destination_workload_namespace', op: '=', value: { of: 'namespace' } },
      { label: 'destination_workload', op: '=', value: { of: 'canaryWorkload' } },
    ],
    stable: { label: 'destination_workload', op: '=', value: { of: 'stableWorkload' } },
    // The same series; Istio's proxies also record the gRPC status of gRPC requests.
    grpc: {
      requests: 'istio_requests_total',
      statusLabel: 'grpc_response_status',
      ok: '0',
      histogram: 'istio_request_duration_milliseconds_bucket',
      toMs: 1,
    },
  },
  create: createIstioProvider,
  objects: (record) => {
    const vs = record.istio?.virtualService ?? '';
    return [
      { kind: 'VirtualService', name: vs },
      { kind: 'DestinationRule', name: record.istio?.destinationRule ?? vs },
    ];
  },
};
