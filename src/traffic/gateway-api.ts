/**
 * Gateway API provider: weights on the backendRefs of an HTTPRoute
 * (`gateway.networking.k8s.io/v1`).
 *
 * The release's rules are those with a backendRef on the stable Service (core group,
 * kind Service, same namespace). Each gets two backendRefs: the stable one with weight
 * `100 - w` and a copy of it on the canary Service with weight `w` (same port, same
 * filters); every other rule, and every other field of a rule, is left as it was. A rule
 * that also sends traffic to a third backend is refused (`UnsupportedRoute`): splitting
 * it would change that backend's share.
 *
 * `reset` removes the canary backendRef (the canary Service is separate, so that is
 * 100% stable at once) and gives the stable one weight 1, the CRD's default, which is
 * what a user's lone backendRef carries after defaulting. `cleanup` has nothing left.
 *
 * `spec.rules` is an atomic list, so writes are guarded read-modify-writes (./update.ts).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../runtime/client.ts';
import { isNotFound } from '../runtime/client.ts';
import {
  GRPCRoute as GRPCRouteKind,
  HTTPRoute as HTTPRouteKind,
  TCPRoute as TCPRouteKind,
  type ResourceKind,
} from '../runtime/kinds.ts';
import {
  TrafficError,
  checkWeight,
  isTrafficError,
  readerOf,
  refuseUnsupported,
  type TrafficProvider,
  type TrafficProviderOptions,
  type TrafficTarget,
  type WeightChange,
} from './provider.ts';
import { guardedUpdate } from './update.ts';
import { PLAIN_HTTP_SERIES, type ProviderDefinition } from './capabilities.ts';
import { headerConditions, type RouteOptions } from './match.ts';
import type { TrafficProtocol } from '../api/canary-deployment.ts';

export const gatewayAPIProviderName = 'GatewayAPI';

/** HTTPBackendRef: only the fields we read or write are typed; the rest is kept. */
export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [field: string]: unknown;
}

export interface HTTPRouteRule {
  name?: string;
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

export interface HTTPRoute extends KubeObject {
  spec: { rules?: HTTPRouteRule[]; [field: string]: unknown };
}

/** The Services a route's release rules are split between. */
export interface BackendSelection {
  /** Namespace of the HTTPRoute (a backendRef without namespace is in it). */
  namespace: string;
  service: string;
  canaryService: string;
  /** What the route carries: a GRPCRoute rule without matches has no path to keep. @default 'HTTP' */
  protocol?: TrafficProtocol | undefined;
}

/** True when the backendRef names the Service `name` in the route's namespace. */
export function refersToService(ref: BackendRef, name: string, namespace: string): boolean {
  return (
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    ref.name === name &&
    (ref.namespace ?? namespace) === namespace
  );
}

/** True when the rule is one the release weights (it has a backendRef on the stable Service). */
export function isReleaseRule(rule: HTTPRouteRule, selection: BackendSelection): boolean {
  return (rule.backendRefs ?? []).some((ref) => refersToService(ref, selection.service, selection.namespace));
}

/**
 * The HTTPRoute with each release rule split `100 - canaryWeight` to the stable Service
 * and `canaryWeight` to the canary Service. Other rules are the same objects as before.
 * @throws TrafficError `NoRoutes`, `UnsupportedRoute`
 */
export function withBackendWeights(
  route: HTTPRoute,
  selection: BackendSelection,
  canaryWeight: number,
  routing: RouteOptions = {},
): HTTPRoute {
  const weighted = mapReleaseRules(withoutMatchRules(route, selection), selection, (stable) => [
    { ...stable, weight: 100 - canaryWeight },
    { ...stable, name: selection.canaryService, weight: canaryWeight },
  ]);
  return withRouting(weighted, selection, routing);
}

/**
 * The HTTPRoute with each release rule back to its stable backendRef alone, weight 1,
 * and no match rule nor mirror of the release.
 * @throws TrafficError `NoRoutes`, `UnsupportedRoute`
 */
export function withoutCanaryBackend(route: HTTPRoute, selection: BackendSelection): HTTPRoute {
  const plain = withRouting(withoutMatchRules(route, selection), selection, {});
  return mapReleaseRules(plain, selection, (stable) => [{ ...stable, weight: 1 }]);
}

/** The match the API server gives a rule without one: every path. */
const EVERY_PATH = { path: { type: 'PathPrefix', value: '/' } };

/** An HTTPRouteMatch: only the headers are read; the rest is kept. */
interface HTTPRouteMatch {
  headers?: { type?: string; name: string; value: string }[];
  [field: string]: unknown;
}

/** An HTTPRouteFilter: only a RequestMirror's backendRef is read. */
interface HTTPRouteFilter {
  type: string;
  requestMirror?: { backendRef?: BackendRef; percent?: number; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * True when the rule is one the release added for its request match: its only backends
 * are the canary Service (which is the release's, so no rule of the user's looks so).
 */
export function isMatchRule(rule: HTTPRouteRule, selection: BackendSelection): boolean {
  const refs = rule.backendRefs ?? [];
  return (
    refs.length > 0 && refs.every((ref) => refersToService(ref, selection.canaryService, selection.namespace))
  );
}

/** The HTTPRoute without the release's match rules. */
export function withoutMatchRules(route: HTTPRoute, selection: BackendSelection): HTTPRoute {
  const rules = route.spec.rules ?? [];
  if (!rules.some((r) => isMatchRule(r, selection))) return route;
  return { ...route, spec: { ...route.spec, rules: rules.filter((r) => !isMatchRule(r, selection)) } };
}

function isCanaryMirror(filter: HTTPRouteFilter, selection: BackendSelection): boolean {
  const ref = filter.requestMirror?.backendRef;
  return (
    filter.type === 'RequestMirror' &&
    ref !== undefined &&
    refersToService(ref, selection.canaryService, selection.namespace)
  );
}

/**
 * Each release rule (already weighted) with, after it, a rule of the same matches plus
 * the request match, whose only backend is the canary Service (the Gateway API prefers
 * the rule with more header matches, whatever the order), and with a RequestMirror
 * filter to the canary Service for `routing.mirror` percent; without them, the release's
 * match rules and mirror filters are gone.
 */
function withRouting(route: HTTPRoute, selection: BackendSelection, routing: RouteOptions): HTTPRoute {
  const conditions = headerConditions(routing.match ?? []);
  const rules: HTTPRouteRule[] = [];
  for (const rule of route.spec.rules ?? []) {
    if (!isReleaseRule(rule, selection)) {
      rules.push(rule);
      continue;
    }
    const stable = (rule.backendRefs ?? []).find((ref) =>
      refersToService(ref, selection.service, selection.namespace),
    )!;
    const filters = ((rule['filters'] as HTTPRouteFilter[] | undefined) ?? []).filter(
      (f) => !isCanaryMirror(f, selection),
    );
    if (routing.mirror) {
      filters.push({
        type: 'RequestMirror',
        requestMirror: {
          backendRef: {
            group: '',
            kind: 'Service',
            name: selection.canaryService,
            ...(stable.port !== undefined ? { port: stable.port } : {}),
          },
          percent: routing.mirror,
        },
      });
    }
    const { filters: _filters, ...plain } = rule;
    rules.push(filters.length > 0 ? { ...plain, filters } : plain);
    if (conditions.length > 0) {
      const userMatches = (rule['matches'] as HTTPRouteMatch[] | undefined) ?? [
        selection.protocol === 'GRPC' ? {} : EVERY_PATH,
      ];
      const { name: _name, filters: _f, ...rest } = rule;
      const kept = filters.filter((f) => f.type !== 'RequestMirror');
      rules.push({
        ...rest,
        ...(kept.length > 0 ? { filters: kept } : {}),
        matches: userMatches.flatMap((m: HTTPRouteMatch) =>
          conditions.map((c) => ({
            ...m,
            headers: [...(m.headers ?? []), { type: c.type, name: c.name, value: c.value }],
          })),
        ),
        backendRefs: [{ ...stable, name: selection.canaryService, weight: 1 }],
      });
    }
  }
  return { ...route, spec: { ...route.spec, rules } };
}

/**
 * The canary's share, in percent, of the release rules (weights are relative, so
 * `canary / (stable + canary)`); the highest when rules disagree; `undefined` when the
 * route has no release rule or all its weights are 0.
 */
export function backendWeightOf(route: HTTPRoute, selection: BackendSelection): number | undefined {
  let highest: number | undefined;
  for (const rule of route.spec.rules ?? []) {
    if (!isReleaseRule(rule, selection)) continue;
    let stable = 0;
    let canary = 0;
    for (const ref of rule.backendRefs ?? []) {
      // An unset weight is 1 (the CRD default, normally filled in by the API server).
      const weight = ref.weight ?? 1;
      if (refersToService(ref, selection.service, selection.namespace)) stable += weight;
      else if (refersToService(ref, selection.canaryService, selection.namespace)) canary += weight;
    }
    if (stable + canary === 0) continue;
    highest = Math.max(highest ?? 0, Math.round((canary * 100) / (stable + canary)));
  }
  return highest;
}

/** Creates the Gateway API provider. */
export function createGatewayAPIProvider(options: TrafficProviderOptions): TrafficProvider {
  const { client } = options;
  const read = readerOf(options);
  const conflictRetries = options.conflictRetries ?? 5;

  async function write(
    target: TrafficTarget,
    rewrite: (route: HTTPRoute) => HTTPRoute,
  ): Promise<{ route: HTTPRoute; changed: boolean }> {
    const { kind, name } = routeOf(target);
    try {
      const { object, changed } = await guardedUpdate<HTTPRoute>({
        client,
        provider: gatewayAPIProviderName,
        kind,
        namespace: target.namespace,
        name,
        conflictRetries,
        read,
        change: (route) => {
          const next = rewrite(route);
          return isDeepStrictEqual(next.spec.rules, route.spec.rules)
            ? undefined
            : { spec: { rules: next.spec.rules ?? [] } };
        },
      });
      return { route: object, changed };
    } catch (err) {
      if (isTrafficError(err, 'NotFound')) await refuseMissingKind(kind);
      throw err;
    }
  }

  /**
   * A route kind the cluster does not serve (TCPRoute is in the Gateway API's
   * experimental channel only) is refused for good, saying so; a missing route of a served
   * kind stays `NotFound` (the user may create it).
   */
  async function refuseMissingKind(kind: ResourceKind<HTTPRoute>): Promise<void> {
    const served = await client
      .raw<{ resources?: { name: string }[] }>('GET', `/apis/${kind.group}/${kind.version}`)
      .then((list) => (list.resources ?? []).some((r) => r.name === kind.plural))
      .catch((err: unknown) => !isNotFound(err));
    if (!served)
      throw new TrafficError(
        gatewayAPIProviderName,
        'InvalidTarget',
        `the cluster does not serve ${kind.kind} (${kind.group}/${kind.version}): install the Gateway API's ${kind.plural === 'tcproutes' ? 'experimental' : 'standard'} channel CRDs, or route another protocol`,
      );
  }

  /** Writes `rewrite`, then checks the stored object (the patch response) is what it makes. */
  async function writeChecked(
    target: TrafficTarget,
    rewrite: (route: HTTPRoute) => HTTPRoute,
    weight: number,
  ): Promise<WeightChange> {
    const { route, changed } = await write(target, rewrite);
    if (!isDeepStrictEqual(rewrite(route).spec.rules, route.spec.rules)) {
      throw new TrafficError(
        gatewayAPIProviderName,
        'ReadBackMismatch',
        `${routeOf(target).kind.kind} ${target.namespace}/${route.metadata.name} does not carry weight ${weight} after the write (read ${backendWeightOf(route, selectionOf(target))})`,
      );
    }
    return { changed, weight };
  }

  return {
    name: gatewayAPIProviderName,

    async prepare(target) {
      // Nothing to create: the canary Service is the workloads' job. Fail early, before
      // any traffic moves, if the route cannot be weighted.
      const { kind, name } = routeOf(target);
      const route = await read<HTTPRoute>(kind, target.namespace, name);
      if (!route) {
        await refuseMissingKind(kind);
        throw new TrafficError(
          gatewayAPIProviderName,
          'NotFound',
          `${kind.kind} ${target.namespace}/${name} not found`,
        );
      }
      withBackendWeights(route, selectionOf(target), 0);
    },

    async setWeight(target, canaryWeight, routing = {}) {
      checkWeight(gatewayAPIProviderName, canaryWeight);
      // A TCPRoute has neither matches on headers nor filters.
      const tcp = target.traffic.protocol === 'TCP';
      refuseUnsupported(gatewayAPIProviderName, routing, { match: !tcp, mirror: !tcp });
      const selection = selectionOf(target);
      return writeChecked(
        target,
        (route) => withBackendWeights(route, selection, canaryWeight, routing),
        canaryWeight,
      );
    },

    async readWeight(target) {
      const { kind, name } = routeOf(target);
      const route = await read<HTTPRoute>(kind, target.namespace, name);
      return route ? backendWeightOf(route, selectionOf(target)) : undefined;
    },

    async reset(target) {
      const selection = selectionOf(target);
      return writeChecked(target, (route) => withoutCanaryBackend(route, selection), 0);
    },

    async cleanup() {
      // `reset` already restored the route's plain shape.
    },
  };
}

/**
 * The route the release weights: by `traffic.protocol`, an HTTPRoute (HTTP), a GRPCRoute
 * (GRPC) or a TCPRoute (TCP); their rules share the `backendRefs` shape.
 */
export function routeOf(target: TrafficTarget): { kind: ResourceKind<HTTPRoute>; name: string } {
  const spec = target.traffic.gatewayAPI;
  const protocol = target.traffic.protocol ?? 'HTTP';
  const [kind, name, field]: [ResourceKind<HTTPRoute>, string | undefined, string] =
    protocol === 'GRPC'
      ? [GRPCRouteKind, spec?.grpcRoute, 'grpcRoute']
      : protocol === 'TCP'
        ? [TCPRouteKind, spec?.tcpRoute, 'tcpRoute']
        : [HTTPRouteKind, spec?.httpRoute, 'httpRoute'];
  if (!name)
    throw new TrafficError(
      gatewayAPIProviderName,
      'InvalidTarget',
      `spec.traffic.gatewayAPI.${field} is required with provider GatewayAPI and protocol ${protocol}`,
    );
  return { kind, name };
}

function selectionOf(target: TrafficTarget): BackendSelection {
  return {
    namespace: target.namespace,
    service: target.service.name,
    canaryService: target.canaryService,
    protocol: target.traffic.protocol,
  };
}

/**
 * Rewrites each release rule's backendRefs from its stable backendRef. Checks the route
 * has release rules and that they send traffic only to the stable and canary Services.
 */
function mapReleaseRules(
  route: HTTPRoute,
  selection: BackendSelection,
  rewrite: (stable: BackendRef) => BackendRef[],
): HTTPRoute {
  const rules = route.spec.rules ?? [];
  const name = `HTTPRoute ${route.metadata.namespace ?? selection.namespace}/${route.metadata.name ?? ''}`;
  let found = false;
  const next = rules.map((rule, index) => {
    if (!isReleaseRule(rule, selection)) return rule;
    found = true;
    const refs = rule.backendRefs ?? [];
    const foreign = refs.filter(
      (ref) =>
        !refersToService(ref, selection.service, selection.namespace) &&
        !refersToService(ref, selection.canaryService, selection.namespace),
    );
    if (foreign.length > 0) {
      const label = rule.name ? `rule '${rule.name}'` : `rule #${index + 1}`;
      throw new TrafficError(
        gatewayAPIProviderName,
        'UnsupportedRoute',
        `${name} ${label} also sends traffic to ${foreign.map((r) => r.name).join(', ')}; split it so the rule for ${selection.service} stands alone`,
      );
    }
    const stable = refs.find((ref) => refersToService(ref, selection.service, selection.namespace))!;
    return { ...rule, backendRefs: rewrite(stable) };
  });
  if (!found)
    throw new TrafficError(
      gatewayAPIProviderName,
      'NoRoutes',
      `${name} has no rule with a backendRef on Service ${selection.service}`,
    );
  return { ...route, spec: { ...route.spec, rules: next } };
}

/**
 * Gateway API: weights of the stable and canary Services' backendRefs in the HTTPRoute's
 * rules. Gateway implementations export no common series, so the analysis reads the
 * applications' own plain metrics.
 */
export const gatewayAPIProvider: ProviderDefinition = {
  name: gatewayAPIProviderName,
  capabilities: {
    settingsField: 'gatewayAPI',
    stableService: true,
    canaryService: true,
    stableSelectsCanary: false,
    podLabelSubsets: false,
    ownsReplicas: false,
    exactWeights: true,
    preview: true,
    requestMatch: true,
    mirror: true,
    protocols: ['HTTP', 'GRPC', 'TCP'],
  },
  metrics: PLAIN_HTTP_SERIES,
  create: createGatewayAPIProvider,
  objects: (record) => [
    record.gatewayAPI?.grpcRoute
      ? { kind: 'GRPCRoute', name: record.gatewayAPI.grpcRoute }
      : record.gatewayAPI?.tcpRoute
        ? { kind: 'TCPRoute', name: record.gatewayAPI.tcpRoute }
        : { kind: 'HTTPRoute', name: record.gatewayAPI?.httpRoute ?? '' },
    { kind: 'Service', name: `${record.service}-canary` },
  ],
};
