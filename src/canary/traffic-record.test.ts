import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../api/canary-deployment.ts';
import { trafficChange, trafficRecordOf, trafficSpecOf } from './traffic-record.ts';

const base: CanaryDeploymentSpec = { targetDeployment: 'app', canaryVersion: 'app:v2' };

test('the record names the provider, the stable Service and the objects each provider touches', () => {
  assert.deepEqual(trafficRecordOf(base), {
    provider: 'Replicas',
    service: 'app',
    objects: [
      { kind: 'Deployment', name: 'app' },
      { kind: 'Deployment', name: 'app-canary' },
    ],
  });
  assert.deepEqual(
    trafficRecordOf({
      ...base,
      service: { name: 'web' },
      traffic: { provider: 'Nginx', nginx: { ingress: 'shop' } },
    }).objects,
    [
      { kind: 'Ingress', name: 'shop' },
      { kind: 'Ingress', name: 'shop-canary' },
      { kind: 'Service', name: 'web-canary' },
    ],
  );
  const istio = trafficRecordOf({
    ...base,
    traffic: { provider: 'Istio', istio: { virtualService: 'vs', destinationRule: 'dr', routes: ['a'] } },
  });
  assert.deepEqual(istio.objects, [
    { kind: 'VirtualService', name: 'vs' },
    { kind: 'DestinationRule', name: 'dr' },
  ]);
  assert.deepEqual(trafficSpecOf(istio), {
    provider: 'Istio',
    istio: { virtualService: 'vs', destinationRule: 'dr', routes: ['a'] },
  });
  assert.deepEqual(
    trafficRecordOf({ ...base, traffic: { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'r' } } }).objects,
    [
      { kind: 'HTTPRoute', name: 'r' },
      { kind: 'Service', name: 'app-canary' },
    ],
  );
});

test('trafficChange says what changed, and nothing for the same settings', () => {
  const istio = (over: object = {}) =>
    trafficRecordOf({ ...base, traffic: { provider: 'Istio', istio: { virtualService: 'vs', ...over } } });
  assert.equal(trafficChange(istio(), istio()), undefined);
  assert.equal(
    trafficChange(istio({ routes: ['b', 'a'] }), istio({ routes: ['a', 'b'] })),
    undefined,
    'route order does not matter',
  );
  assert.equal(
    trafficChange(istio({ destinationRule: 'vs' }), istio()),
    undefined,
    'the default DestinationRule is the VirtualService',
  );
  assert.match(
    trafficChange(istio(), trafficRecordOf(base)) ?? '',
    /traffic.provider changed from Istio to Replicas/,
  );
  assert.match(
    trafficChange(istio(), istio({ virtualService: 'other' })) ?? '',
    /traffic.istio.virtualService changed from vs to other/,
  );
  assert.match(
    trafficChange(istio(), istio({ routes: ['a'] })) ?? '',
    /traffic.istio.routes changed from \(unset\) to a/,
  );
  assert.match(
    trafficChange(
      trafficRecordOf({ ...base, service: { name: 'app' } }),
      trafficRecordOf({ ...base, targetDeployment: 'api', service: { name: 'app' } }),
    ) ?? '',
    /traffic objects changed from Deployment app, Deployment app-canary to Deployment api/,
  );
  // A record without objects (hand-written) is compared on the rest only.
  const { objects: _objects, ...bare } = istio();
  assert.equal(trafficChange(bare, istio()), undefined);
});
