import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficProviders } from '../api/canary-deployment.ts';
import { MIRROR_PROVIDERS, PROTOCOL_PROVIDERS, REQUEST_MATCH_PROVIDERS } from '../api/routing.ts';
import {
  DEFAULT_PROVIDER,
  capabilitiesOf,
  orList,
  providerDefinition,
  providerDefinitions,
  providersRouting,
  providersThat,
  trafficProvider,
} from './index.ts';
import { createFakeClient } from '../runtime/testing/fake-client.ts';

test('every provider the API accepts has a definition under its own name', () => {
  assert.deepEqual(Object.keys(providerDefinitions).sort(), [...TrafficProviders].sort());
  for (const name of TrafficProviders) {
    assert.equal(providerDefinition(name).name, name);
    assert.equal(trafficProvider(name, { client: createFakeClient() }).name, name, `${name} makes itself`);
  }
});

test('an unset provider is the default, Replicas', () => {
  assert.equal(DEFAULT_PROVIDER, 'Replicas');
  assert.equal(providerDefinition(undefined).name, 'Replicas');
  assert.equal(capabilitiesOf(undefined), capabilitiesOf('Replicas'));
});

test('capabilities answer the questions the canary controller asks', () => {
  assert.deepEqual(providersThat('ownsReplicas'), ['Replicas']);
  assert.deepEqual(providersThat('preview'), ['Istio', 'Nginx', 'GatewayAPI']);
  assert.deepEqual(providersThat('canaryService'), ['Nginx', 'GatewayAPI']);
  assert.deepEqual(providersThat('podLabelSubsets'), ['Istio']);
  assert.deepEqual(providersThat('stableSelectsCanary'), ['Replicas', 'Istio']);
  assert.deepEqual(providersThat('stableService'), ['Istio', 'Nginx', 'GatewayAPI']);
  assert.ok(
    !providersThat('exactWeights').includes('Replicas'),
    'a replica ratio is not the weight asked for',
  );
  assert.equal(capabilitiesOf('Replicas').requestMatch, false, 'no router, no request matching');
});

test('a provider that splits the stable Service never also needs a canary Service', () => {
  for (const name of TrafficProviders) {
    const caps = capabilitiesOf(name);
    assert.ok(!(caps.stableSelectsCanary && caps.canaryService), name);
    // Subsets of the stable host only make sense when the stable Service reaches canary pods.
    if (caps.podLabelSubsets) assert.ok(caps.stableSelectsCanary, name);
    assert.ok(caps.protocols.includes('HTTP'), `${name} routes HTTP`);
  }
});

test('each routing provider names its settings block; its record lists the objects it touches', () => {
  assert.equal(capabilitiesOf('Replicas').settingsField, undefined);
  assert.equal(capabilitiesOf('Istio').settingsField, 'istio');
  assert.equal(capabilitiesOf('Nginx').settingsField, 'nginx');
  assert.equal(capabilitiesOf('GatewayAPI').settingsField, 'gatewayAPI');
  assert.deepEqual(
    providerDefinition('Nginx').objects(
      { provider: 'Nginx', service: 'web', nginx: { ingress: 'web' } },
      'myapp',
    ),
    [
      { kind: 'Ingress', name: 'web' },
      { kind: 'Ingress', name: 'web-canary' },
      { kind: 'Service', name: 'web-canary' },
    ],
  );
  assert.deepEqual(
    providerDefinition('Replicas').objects({ provider: 'Replicas', service: 'web' }, 'myapp'),
    [
      { kind: 'Deployment', name: 'myapp' },
      { kind: 'Deployment', name: 'myapp-canary' },
    ],
  );
});

test('every provider tells stable from canary by one label of its series', () => {
  for (const name of TrafficProviders) {
    const m = providerDefinition(name).metrics;
    const swapped = m.canary.filter((x) => x.label === m.stable.label);
    assert.equal(swapped.length, 1, `${name}: the stable matcher replaces exactly one canary matcher`);
    assert.notDeepEqual(swapped[0], m.stable, `${name}: stable and canary select different series`);
  }
});

test('orList words a list of providers for a message', () => {
  assert.equal(orList(['Istio']), 'Istio');
  assert.equal(orList(['Istio', 'Nginx', 'GatewayAPI']), 'Istio, Nginx or GatewayAPI');
  assert.equal(orList([]), '(none)');
});

test("the API's admission rules name exactly the providers that declare match and mirror", () => {
  assert.deepEqual(providersThat('requestMatch'), [...REQUEST_MATCH_PROVIDERS]);
  assert.deepEqual(providersThat('mirror'), [...MIRROR_PROVIDERS]);
});

test('a provider lacking a capability the user can ask for says why', () => {
  for (const capability of ['requestMatch', 'mirror', 'preview'] as const) {
    for (const name of TrafficProviders) {
      if (capabilitiesOf(name)[capability]) continue;
      assert.ok(providerDefinition(name).lacks?.[capability], `${name} says why it lacks ${capability}`);
    }
  }
});

test("the API's protocol rules name exactly the providers that route each protocol", () => {
  for (const protocol of ['HTTP', 'GRPC', 'TCP'] as const)
    assert.deepEqual(providersRouting(protocol), [...PROTOCOL_PROVIDERS[protocol]], protocol);
});
