import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendWeightOf, withBackendWeights, withoutCanaryBackend, type HTTPRoute } from './gateway-api.ts';
import { isTrafficError } from './provider.ts';

const selection = { namespace: 'prod', service: 'myapp', canaryService: 'myapp-canary' };

const appRule = {
  matches: [{ path: { type: 'PathPrefix', value: '/' } }],
  backendRefs: [
    {
      group: '',
      kind: 'Service',
      name: 'myapp',
      port: 80,
      weight: 1,
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } },
      ],
    },
  ],
};
const otherRule = {
  matches: [{ path: { type: 'PathPrefix', value: '/billing' } }],
  backendRefs: [{ group: '', kind: 'Service', name: 'billing', port: 80, weight: 1 }],
};

function route(rules: HTTPRoute['spec']['rules']): HTTPRoute {
  return {
    metadata: { name: 'web', namespace: 'prod' },
    spec: { parentRefs: [{ name: 'gw' }], hostnames: ['shop.example.com'], rules },
  };
}

test('withBackendWeights splits the rules on the stable Service and keeps the others', () => {
  const after = withBackendWeights(route([otherRule, appRule]), selection, 10);
  assert.equal(after.spec.rules?.[0], otherRule);
  assert.deepEqual(after.spec.rules?.[1], {
    ...appRule,
    backendRefs: [
      { ...appRule.backendRefs[0], weight: 90 },
      { ...appRule.backendRefs[0], name: 'myapp-canary', weight: 10 },
    ],
  });
  assert.deepEqual(after.spec.parentRefs, [{ name: 'gw' }]);
  assert.equal(backendWeightOf(after, selection), 10);
});

test('0 -> 50 -> 100 and idempotent; reset drops the canary backendRef', () => {
  let current = withBackendWeights(route([appRule]), selection, 0);
  assert.equal(backendWeightOf(current, selection), 0);
  assert.deepEqual(withBackendWeights(current, selection, 0), current);
  current = withBackendWeights(current, selection, 50);
  assert.equal(backendWeightOf(current, selection), 50);
  current = withBackendWeights(current, selection, 100);
  assert.equal(backendWeightOf(current, selection), 100);
  assert.deepEqual(
    current.spec.rules?.[0]?.backendRefs?.map((r) => [r.name, r.weight]),
    [
      ['myapp', 0],
      ['myapp-canary', 100],
    ],
  );
  assert.deepEqual(withoutCanaryBackend(current, selection).spec.rules, [appRule]);
});

test('backendRefs without group, kind or namespace, or with our namespace, count as the Service', () => {
  const bare = { backendRefs: [{ name: 'myapp', port: 80 }] };
  const explicit = { backendRefs: [{ name: 'myapp', namespace: 'prod', port: 80 }] };
  assert.equal(backendWeightOf(withBackendWeights(route([bare]), selection, 25), selection), 25);
  assert.equal(backendWeightOf(withBackendWeights(route([explicit]), selection, 25), selection), 25);
  const elsewhere = { backendRefs: [{ name: 'myapp', namespace: 'staging', port: 80 }] };
  assert.throws(
    () => withBackendWeights(route([elsewhere]), selection, 25),
    (err) => isTrafficError(err, 'NoRoutes'),
  );
});

test('a rule that also sends traffic to another backend is refused', () => {
  const mixed = {
    backendRefs: [
      { name: 'myapp', port: 80, weight: 80 },
      { name: 'legacy', port: 80, weight: 20 },
    ],
  };
  assert.throws(
    () => withBackendWeights(route([mixed]), selection, 10),
    (err) => isTrafficError(err, 'UnsupportedRoute'),
  );
});

test('backendWeightOf: relative weights, highest share, undefined without release rules', () => {
  const relative = {
    backendRefs: [
      { name: 'myapp', port: 80, weight: 3 },
      { name: 'myapp-canary', port: 80, weight: 1 },
    ],
  };
  const other = {
    backendRefs: [
      { name: 'myapp', port: 80, weight: 1 },
      { name: 'myapp-canary', port: 80, weight: 1 },
    ],
  };
  assert.equal(backendWeightOf(route([relative]), selection), 25);
  assert.equal(backendWeightOf(route([relative, other]), selection), 50);
  assert.equal(backendWeightOf(route([otherRule]), selection), undefined);
});

test('a match adds a rule after each release rule: its matches plus the header, only the canary backend', () => {
  const match = [{ header: { name: 'X-Canary', exact: 'yes' } }];
  const after = withBackendWeights(route([otherRule, appRule]), selection, 0, { match });
  const rules = after.spec.rules ?? [];
  assert.equal(rules.length, 3);
  assert.equal(rules[0], otherRule);
  assert.deepEqual(rules[2], {
    matches: [
      {
        path: { type: 'PathPrefix', value: '/' },
        headers: [{ type: 'Exact', name: 'x-canary', value: 'yes' }],
      },
    ],
    backendRefs: [{ ...appRule.backendRefs[0], name: 'myapp-canary', weight: 1 }],
  });
  assert.equal(backendWeightOf(after, selection), 0, 'the match rule is not the weight');
  assert.deepEqual(withBackendWeights(after, selection, 0, { match }), after, 'written once');
  assert.deepEqual(
    withBackendWeights(after, selection, 20),
    withBackendWeights(route([otherRule, appRule]), selection, 20),
  );
  assert.deepEqual(
    withoutCanaryBackend(after, selection),
    withoutCanaryBackend(route([otherRule, appRule]), selection),
  );
});

test('a rule without matches is matched on every path plus the header', () => {
  const { matches: _m, ...bare } = appRule;
  const after = withBackendWeights(route([bare]), selection, 10, { match: [{ cookie: { name: 'c' } }] });
  assert.deepEqual(after.spec.rules?.[1]?.['matches'], [
    {
      path: { type: 'PathPrefix', value: '/' },
      headers: [{ type: 'RegularExpression', name: 'cookie', value: '^(.*?;\\s*)?c=always(;.*)?$' }],
    },
  ]);
});

test('a mirror is a RequestMirror filter to the canary Service with its percent, gone with the step', () => {
  const after = withBackendWeights(route([appRule]), selection, 0, { mirror: 40 });
  assert.deepEqual(after.spec.rules?.[0]?.['filters'], [
    {
      type: 'RequestMirror',
      requestMirror: {
        backendRef: { group: '', kind: 'Service', name: 'myapp-canary', port: 80 },
        percent: 40,
      },
    },
  ]);
  assert.equal(withBackendWeights(after, selection, 10).spec.rules?.[0]?.['filters'], undefined);
  assert.equal(withoutCanaryBackend(after, selection).spec.rules?.[0]?.['filters'], undefined);
});

test('a TCP release on a cluster that does not serve TCPRoute is stopped, saying what to install', async () => {
  const { createGatewayAPIProvider } = await import('./gateway-api.ts');
  const { createFakeClient } = await import('../runtime/testing/fake-client.ts');
  const provider = createGatewayAPIProvider({ client: createFakeClient() });
  const target = {
    namespace: 'prod',
    owner: { name: 'cd', uid: 'u' },
    service: { name: 'myapp', port: 5432 },
    canaryService: 'myapp-canary',
    stableDeployment: 'myapp',
    canaryDeployment: 'myapp-canary',
    traffic: { provider: 'GatewayAPI' as const, protocol: 'TCP' as const, gatewayAPI: { tcpRoute: 'db' } },
    selectors: { stable: {}, canary: {} },
  };
  for (const call of [() => provider.prepare(target), () => provider.setWeight(target, 10)]) {
    await assert.rejects(
      call(),
      (err) =>
        isTrafficError(err, 'InvalidTarget') &&
        /does not serve TCPRoute \(gateway\.networking\.k8s\.io\/v1\): install the Gateway API's experimental channel/.test(
          err.message,
        ),
    );
  }
  await assert.rejects(provider.setWeight(target, 0, { mirror: 10 }), (err) =>
    isTrafficError(err, 'InvalidTarget'),
  );
});
