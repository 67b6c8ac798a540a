/**
 * Istio on the real control plane, with the real Istio CRDs of the pinned `istio.io/api`: the shared
 * conformance suite, once with the user's DestinationRule and routes picked by host, once
 * with no DestinationRule (the provider makes and removes one) and routes picked by name.
 */
import assert from 'node:assert/strict';
import type { KubeClient } from '../../../src/runtime/client.ts';
import {
  DestinationRule as DestinationRuleKind,
  VirtualService as VirtualServiceKind,
} from '../../../src/runtime/kinds.ts';
import type { DestinationRule, IstioHttpRoute, VirtualService } from '../../../src/traffic/istio.ts';
import {
  conformanceTarget,
  mustGet,
  testTrafficProvider,
  versionOf,
  type ConformanceContext,
  type ProviderFixture,
} from './conformance.ts';

const billing: IstioHttpRoute = {
  name: 'billing',
  match: [{ uri: { prefix: '/billing' } }],
  route: [{ destination: { host: 'billing', port: { number: 8080 } } }],
};
const primary: IstioHttpRoute = {
  name: 'primary',
  match: [{ uri: { prefix: '/' } }],
  retries: { attempts: 3, perTryTimeout: '2s' },
  route: [{ destination: { host: 'myapp.NAMESPACE.svc.cluster.local', port: { number: 80 } } }],
};
/** A second route to the same host, not named in `traffic.istio.routes`: not the release's. */
const mirror: IstioHttpRoute = {
  name: 'internal',
  match: [{ headers: { 'x-internal': { exact: '1' } } }],
  route: [{ destination: { host: 'myapp', port: { number: 80 } } }],
};

function routeOf(vs: VirtualService, name: string): IstioHttpRoute {
  const route = vs.spec.http?.find((r) => r.name === name);
  assert.ok(route, `route ${name}`);
  return route;
}

async function fixture(
  ctx: ConformanceContext,
  options: { userDestinationRule: boolean; namedRoutes: boolean },
): Promise<ProviderFixture> {
  const { client, namespace } = ctx;
  const own = (route: IstioHttpRoute): IstioHttpRoute =>
    JSON.parse(JSON.stringify(route).replaceAll('NAMESPACE', namespace)) as IstioHttpRoute;
  const http = options.namedRoutes ? [billing, own(mirror), own(primary)] : [billing, own(primary)];
  await client.create<VirtualService>(VirtualServiceKind, {
    metadata: { name: 'myapp', namespace },
    spec: { hosts: ['myapp.example.com'], gateways: ['mesh'], http },
  });
  if (options.userDestinationRule) {
    await client.create<DestinationRule>(DestinationRuleKind, {
      metadata: { name: 'myapp-dr', namespace },
      spec: {
        host: 'myapp',
        subsets: [{ name: 'legacy', labels: { version: 'v0' } }],
        trafficPolicy: { loadBalancer: { simple: 'LEAST_REQUEST' } },
      },
    });
  }
  const drName = options.userDestinationRule ? 'myapp-dr' : 'myapp';
  const target = conformanceTarget(ctx, {
    provider: 'Istio',
    istio: {
      virtualService: 'myapp',
      ...(options.userDestinationRule ? { destinationRule: drName } : {}),
      ...(options.namedRoutes ? { routes: ['primary'] } : {}),
    },
  });
  const vs = () => mustGet<VirtualService>(client, VirtualServiceKind, namespace, 'myapp');
  const dr = () => client.get<DestinationRule>(DestinationRuleKind, namespace, drName);

  return {
    target,
    async observedWeight() {
      const destinations = routeOf(await vs(), 'primary').route ?? [];
      if (destinations.length === 1 && destinations[0]?.destination.subset === undefined) return 0;
      const weight = (subset: string) => destinations.find((d) => d.destination.subset === subset)?.weight;
      assert.equal(destinations.length, 2, 'two destinations: stable and canary');
      assert.equal((weight('stable') ?? 0) + (weight('canary') ?? 0), 100, 'weights add up to 100');
      for (const d of destinations) assert.equal(d.destination.port?.number, 80, 'port kept');
      // The subsets those destinations name must exist, with the pod labels of each version.
      const subsets = (await dr())?.spec.subsets ?? [];
      assert.deepEqual(subsets.find((s) => s.name === 'stable')?.labels, target.selectors.stable);
      assert.deepEqual(subsets.find((s) => s.name === 'canary')?.labels, target.selectors.canary);
      return weight('canary') ?? 0;
    },
    async foreign() {
      const current = await vs();
      const rule = await dr();
      const primaryRoute = routeOf(current, 'primary');
      return {
        hosts: current.spec.hosts,
        gateways: current.spec.gateways,
        others: current.spec.http?.filter((r) => r.name !== 'primary'),
        primaryMatch: primaryRoute.match,
        primaryRetries: primaryRoute.retries,
        otherSubsets: (rule?.spec.subsets ?? []).filter((s) => s.name !== 'stable' && s.name !== 'canary'),
        trafficPolicy: rule?.spec.trafficPolicy ?? null,
      };
    },
    async original() {
      const rule = await dr();
      return {
        http: (await vs()).spec.http,
        destinationRule: rule ? { host: rule.spec.host, subsets: rule.spec.subsets } : null,
      };
    },
    async versions() {
      return {
        virtualService: await versionOf(client, VirtualServiceKind, namespace, 'myapp'),
        destinationRule: await versionOf(client, DestinationRuleKind, namespace, drName),
      };
    },
    async observedRouting() {
      // A route whose every destination is the canary subset carries the match; the
      // headers beyond the primary route's own conditions are the match's.
      const current = await vs();
      const match: string[] = [];
      for (const route of current.spec.http ?? []) {
        const destinations = route.route ?? [];
        if (destinations.length === 0 || !destinations.every((d) => d.destination.subset === 'canary'))
          continue;
        for (const m of (route.match as { headers?: Record<string, Record<string, string>> }[] | undefined) ??
          [])
          for (const [name, value] of Object.entries(m.headers ?? {}))
            match.push(`header ${name}=${value.exact ?? `~${value.regex}`}`);
      }
      const primaryRoute = routeOf(current, 'primary');
      const mirrorTo = primaryRoute.mirror as { subset?: string } | undefined;
      const percent = (primaryRoute.mirrorPercentage as { value?: number } | undefined)?.value;
      return { match, mirror: mirrorTo?.subset === 'canary' ? (percent ?? 100) : undefined };
    },
    editForeign: () => editBillingRoute(client, namespace),
    missingTarget: () => ({ ...target, traffic: { provider: 'Istio', istio: { virtualService: 'absent' } } }),
    // Caps the canary destination of the last route (primary) at weight 5.
    tamper: {
      resource: { apiGroup: 'networking.istio.io', apiVersion: 'v1', resource: 'virtualservices' },
      condition: `has(object.spec.http) && has(object.spec.http[${http.length - 1}].route) && object.spec.http[${http.length - 1}].route.size() == 2 && object.spec.http[${http.length - 1}].route[1].weight > 5`,
      jsonPatch: `[JSONPatch{op: "replace", path: "/spec/http/${http.length - 1}/route/1/weight", value: 5}]`,
    },
  };
}

/** Another writer changes the billing route, guarded by resourceVersion as well. */
async function editBillingRoute(client: KubeClient, namespace: string): Promise<void> {
  const vs = await mustGet<VirtualService>(client, VirtualServiceKind, namespace, 'myapp');
  const http = (vs.spec.http ?? []).map((r) => (r.name === 'billing' ? { ...r, timeout: '7s' } : r));
  await client.patch(
    VirtualServiceKind,
    namespace,
    'myapp',
    { metadata: { resourceVersion: vs.metadata.resourceVersion }, spec: { http } },
    'merge',
  );
}

testTrafficProvider({
  name: 'Istio',
  variant: 'user DestinationRule, routes by host',
  setup: (ctx) => fixture(ctx, { userDestinationRule: true, namedRoutes: false }),
});

testTrafficProvider({
  name: 'Istio',
  variant: 'no DestinationRule, routes by name',
  setup: (ctx) => fixture(ctx, { userDestinationRule: false, namedRoutes: true }),
});

/**
 * Protocol TCP: the release's routes are the VirtualService's `tcp` routes (which have no
 * names: picked by their destination host); its `http` routes and other tcp routes stay.
 */
async function tcpFixture(ctx: ConformanceContext): Promise<ProviderFixture> {
  const { client, namespace } = ctx;
  const otherTcp = {
    match: [{ port: 5432 }],
    route: [{ destination: { host: 'billing', port: { number: 5432 } } }],
  };
  const appTcp = { match: [{ port: 80 }], route: [{ destination: { host: 'myapp', port: { number: 80 } } }] };
  await client.create<VirtualService>(VirtualServiceKind, {
    metadata: { name: 'myapp', namespace },
    spec: { hosts: ['myapp'], gateways: ['mesh'], http: [billing], tcp: [otherTcp, appTcp] },
  });
  const target = conformanceTarget(ctx, {
    provider: 'Istio',
    protocol: 'TCP',
    istio: { virtualService: 'myapp' },
  });
  const vs = () => mustGet<VirtualService>(client, VirtualServiceKind, namespace, 'myapp');
  const tcp = async () => (await vs()).spec['tcp'] as IstioHttpRoute[];
  return {
    target,
    async observedWeight() {
      const destinations = (await tcp())[1]?.route ?? [];
      if (destinations.length === 1 && destinations[0]?.destination.subset === undefined) return 0;
      assert.equal(destinations.length, 2, 'two destinations: stable and canary');
      const weight = (subset: string) =>
        destinations.find((d) => d.destination.subset === subset)?.weight ?? 0;
      assert.equal(weight('stable') + weight('canary'), 100, 'weights add up to 100');
      return weight('canary');
    },
    async foreign() {
      const current = await vs();
      return { hosts: current.spec.hosts, http: current.spec.http, otherTcp: (await tcp())[0] };
    },
    async original() {
      const dr = await client.get<DestinationRule>(DestinationRuleKind, namespace, 'myapp');
      return { tcp: await tcp(), destinationRule: dr ? dr.spec : null };
    },
    async versions() {
      return {
        virtualService: await versionOf(client, VirtualServiceKind, namespace, 'myapp'),
        destinationRule: await versionOf(client, DestinationRuleKind, namespace, 'myapp'),
      };
    },
    editForeign: () => editBillingRoute(client, namespace),
    missingTarget: () => ({
      ...target,
      traffic: { provider: 'Istio', protocol: 'TCP', istio: { virtualService: 'absent' } },
    }),
  };
}

testTrafficProvider({ name: 'Istio', variant: 'TCP, the tcp routes', setup: tcpFixture });
