/**
 * Gateway API on the real control plane, with the real v1.6 standard-channel CRDs (so
 * the API server's defaulting and CEL validation of backendRefs apply to every write).
 */
import assert from 'node:assert/strict';
import type { KubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { ensureTcpRouteCrd } from '../../support/controller.ts';
import type { BackendRef, HTTPRoute, HTTPRouteRule } from '../../../src/traffic/gateway-api.ts';
import { conformanceTarget, mustGet, testTrafficProvider, versionOf } from './conformance.ts';

const billingRule: HTTPRouteRule = {
  name: 'billing',
  matches: [{ path: { type: 'PathPrefix', value: '/billing' } }],
  backendRefs: [{ name: 'billing', port: 8080 }],
};
const appRule: HTTPRouteRule = {
  name: 'app',
  matches: [{ path: { type: 'PathPrefix', value: '/' } }],
  filters: [
    { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-shop', value: '1' }] } },
  ],
  backendRefs: [{ name: 'myapp', port: 80 }],
};

function ruleOf(route: HTTPRoute, name: string): HTTPRouteRule {
  const rule = route.spec.rules?.find((r) => r.name === name);
  assert.ok(rule, `rule ${name}`);
  return rule;
}

async function editBillingRule(
  client: KubeClient,
  namespace: string,
  kind: kinds.ResourceKind,
): Promise<void> {
  const route = await mustGet<HTTPRoute>(client, kind, namespace, 'web');
  const rules = route.spec.rules ?? [];
  // A TCPRoute has one rule: the other writer edits its parentRefs instead.
  const spec = rules.some((r) => r.name === 'billing')
    ? {
        rules: rules.map((r) =>
          r.name === 'billing' ? { ...r, backendRefs: [{ ...r.backendRefs?.[0], port: 8081 }] } : r,
        ),
      }
    : { parentRefs: [{ name: 'shop-gateway', sectionName: 'tcp' }] };
  await client.patch(
    kind,
    namespace,
    'web',
    { metadata: { resourceVersion: route.metadata.resourceVersion }, spec },
    'merge',
  );
}

/** The route kind of each protocol, its settings field, and the user's rules in it. */
const routes: Record<
  'HTTP' | 'GRPC' | 'TCP',
  {
    kind: kinds.ResourceKind;
    field: 'httpRoute' | 'grpcRoute' | 'tcpRoute';
    rules: HTTPRouteRule[];
    hostnames: boolean;
  }
> = {
  HTTP: { kind: kinds.HTTPRoute, field: 'httpRoute', rules: [billingRule, appRule], hostnames: true },
  GRPC: {
    kind: kinds.GRPCRoute,
    field: 'grpcRoute',
    rules: [
      {
        name: 'billing',
        matches: [{ method: { service: 'shop.Billing' } }],
        backendRefs: [{ name: 'billing', port: 8080 }],
      },
      { name: 'app', filters: appRule.filters, backendRefs: [{ name: 'myapp', port: 80 }] },
    ],
    hostnames: true,
  },
  TCP: {
    kind: kinds.TCPRoute,
    field: 'tcpRoute',
    // A TCPRoute holds one rule (maxItems 1).
    rules: [{ name: 'app', backendRefs: [{ name: 'myapp', port: 80 }] }],
    hostnames: false,
  },
};

for (const protocol of ['HTTP', 'GRPC', 'TCP'] as const) {
  const { kind: routeKind, field, rules, hostnames } = routes[protocol];
  testTrafficProvider({
    name: 'GatewayAPI',
    ...(protocol === 'HTTP' ? {} : { variant: `${protocol}, a ${routeKind.kind}` }),
    async setup(ctx) {
      const { client, namespace } = ctx;
      // TCPRoute is in the experimental channel, which npm test does not install.
      if (protocol === 'TCP') await ensureTcpRouteCrd(client);
      await client.create<HTTPRoute>(routeKind, {
        metadata: { name: 'web', namespace },
        spec: {
          parentRefs: [{ name: 'shop-gateway' }],
          ...(hostnames ? { hostnames: ['shop.example.com'] } : {}),
          rules: structuredClone(rules),
        },
      });
      const target = conformanceTarget(ctx, {
        provider: 'GatewayAPI',
        ...(protocol === 'HTTP' ? {} : { protocol }),
        gatewayAPI: { [field]: 'web' },
      });
      const route = () => mustGet<HTTPRoute>(client, routeKind, namespace, 'web');
      return {
        target,
        async observedWeight() {
          const refs = ruleOf(await route(), 'app').backendRefs ?? [];
          const byName = (name: string): BackendRef | undefined => refs.find((r) => r.name === name);
          for (const ref of refs) assert.equal(ref.port, 80, 'port kept');
          const stable = byName('myapp')?.weight ?? 0;
          const canary = byName('myapp-canary')?.weight ?? 0;
          if (refs.length === 1) return 0;
          assert.equal(refs.length, 2);
          assert.equal(stable + canary, 100);
          assert.deepEqual(
            byName('myapp-canary')?.filters,
            byName('myapp')?.filters,
            'canary backendRef gets the same filters',
          );
          return canary;
        },
        async foreign() {
          const current = await route();
          const app = ruleOf(current, 'app');
          return {
            parentRefs: current.spec.parentRefs,
            hostnames: current.spec.hostnames,
            billing: current.spec.rules?.find((r) => r.name === 'billing') ?? null,
            appMatches: app.matches,
            appFilters: app.filters,
          };
        },
        async original() {
          return (await route()).spec.rules;
        },
        async observedRouting() {
          // A rule whose only backend is the canary Service carries the match.
          const current = await route();
          const match: string[] = [];
          for (const rule of current.spec.rules ?? []) {
            const refs = rule.backendRefs ?? [];
            if (refs.length === 0 || !refs.every((r) => r.name === 'myapp-canary')) continue;
            for (const m of (rule.matches as {
              headers?: { type?: string; name: string; value: string }[];
            }[]) ?? [])
              for (const h of m.headers ?? [])
                match.push(`header ${h.name}=${h.type === 'RegularExpression' ? '~' : ''}${h.value}`);
          }
          const filters =
            (ruleOf(current, 'app').filters as
              | { type: string; requestMirror?: { backendRef?: { name?: string }; percent?: number } }[]
              | undefined) ?? [];
          const mirror = filters.find(
            (f) => f.type === 'RequestMirror' && f.requestMirror?.backendRef?.name === 'myapp-canary',
          );
          return { match, mirror: mirror ? (mirror.requestMirror?.percent ?? 100) : undefined };
        },
        async versions() {
          return { route: await versionOf(client, routeKind, namespace, 'web') };
        },
        editForeign: () => editBillingRule(client, namespace, routeKind),
        missingTarget: () => ({
          ...target,
          traffic: { ...target.traffic, gatewayAPI: { [field]: 'absent' } },
        }),
        // Caps the canary backendRef of the app rule at weight 5.
        tamper: {
          resource: {
            apiGroup: 'gateway.networking.k8s.io',
            apiVersion: routeKind.version,
            resource: routeKind.plural,
          },
          condition: `object.spec.rules.size() == ${rules.length} && object.spec.rules[${rules.length - 1}].backendRefs.size() == 2 && object.spec.rules[${rules.length - 1}].backendRefs[1].weight > 5`,
          jsonPatch: `[JSONPatch{op: "replace", path: "/spec/rules/${rules.length - 1}/backendRefs/1/weight", value: 5}]`,
        },
      };
    },
  });
}
