/**
 * Gateway API on the real control plane, with the real v1.6 standard-channel CRDs (so
 * the API server's defaulting and CEL validation of backendRefs apply to every write).
 */
import assert from 'node:assert/strict';
import type { KubeClient } from '../../../src/runtime/client.ts';
import { HTTPRoute as HTTPRouteKind } from '../../../src/runtime/kinds.ts';
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

async function editBillingRule(client: KubeClient, namespace: string): Promise<void> {
  const route = await mustGet<HTTPRoute>(client, HTTPRouteKind, namespace, 'web');
  const rules = (route.spec.rules ?? []).map((r) =>
    r.name === 'billing' ? { ...r, timeouts: { request: '7s' } } : r,
  );
  await client.patch(
    HTTPRouteKind,
    namespace,
    'web',
    { metadata: { resourceVersion: route.metadata.resourceVersion }, spec: { rules } },
    'merge',
  );
}

testTrafficProvider({
  name: 'GatewayAPI',
  async setup(ctx) {
    const { client, namespace } = ctx;
    await client.create<HTTPRoute>(HTTPRouteKind, {
      metadata: { name: 'web', namespace },
      spec: {
        parentRefs: [{ name: 'shop-gateway' }],
        hostnames: ['shop.example.com'],
        rules: [billingRule, appRule],
      },
    });
    const target = conformanceTarget(ctx, { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } });
    const route = () => mustGet<HTTPRoute>(client, HTTPRouteKind, namespace, 'web');
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
          billing: ruleOf(current, 'billing'),
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
        return { httpRoute: await versionOf(client, HTTPRouteKind, namespace, 'web') };
      },
      editForeign: () => editBillingRule(client, namespace),
      missingTarget: () => ({
        ...target,
        traffic: { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'absent' } },
      }),
      // Caps the canary backendRef of the app rule at weight 5.
      tamper: {
        resource: { apiGroup: 'gateway.networking.k8s.io', apiVersion: 'v1', resource: 'httproutes' },
        condition: `object.spec.rules.size() == 2 && object.spec.rules[1].backendRefs.size() == 2 && object.spec.rules[1].backendRefs[1].weight > 5`,
        jsonPatch: `[JSONPatch{op: "replace", path: "/spec/rules/1/backendRefs/1/weight", value: 5}]`,
      },
    };
  },
});
