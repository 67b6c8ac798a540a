import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canaryIngress,
  canaryIngressWeight,
  matchAnnotations,
  sameCanaryIngress,
  type Ingress,
} from './nginx.ts';
import { isTrafficError } from './provider.ts';

const stable: Ingress = {
  metadata: {
    name: 'web',
    namespace: 'prod',
    annotations: {
      'nginx.ingress.kubernetes.io/rewrite-target': '/',
      'nginx.ingress.kubernetes.io/canary-by-header': 'x-old',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    },
  },
  spec: {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['shop.example.com'], secretName: 'tls' }],
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'myapp', port: { number: 80 } } } },
            {
              path: '/billing',
              pathType: 'Prefix',
              backend: { service: { name: 'billing', port: { number: 80 } } },
            },
          ],
        },
      },
      {
        host: 'admin.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'admin', port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  },
};

const input = {
  service: 'myapp',
  canaryService: 'myapp-canary',
  canaryWeight: 10,
  labels: { 'deploy.codedance.io/canary': 'release' },
  ownerReferences: [
    {
      apiVersion: 'deploy.codedance.io/v1alpha1',
      kind: 'CanaryDeployment',
      name: 'release',
      uid: 'u1',
      controller: true,
    },
  ],
};

test('canaryIngress keeps only the paths to the stable Service, pointed at the canary', () => {
  const canary = canaryIngress(stable, input);
  assert.equal(canary.metadata.name, 'web-canary');
  assert.equal(canary.metadata.namespace, 'prod');
  assert.deepEqual(canary.spec, {
    ingressClassName: 'nginx',
    tls: stable.spec?.tls,
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'myapp-canary', port: { number: 80 } } },
            },
          ],
        },
      },
    ],
  });
  assert.deepEqual(canary.metadata.annotations, {
    'nginx.ingress.kubernetes.io/rewrite-target': '/',
    'nginx.ingress.kubernetes.io/canary': 'true',
    'nginx.ingress.kubernetes.io/canary-weight': '10',
  });
  assert.deepEqual(canary.metadata.ownerReferences, input.ownerReferences);
  assert.equal(canaryIngressWeight(canary), 10);
  assert.equal(stable.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.name, 'myapp', 'input not mutated');
});

test('a default backend on the stable Service is carried over', () => {
  const onlyDefault: Ingress = {
    metadata: { name: 'web', namespace: 'prod' },
    spec: { defaultBackend: { service: { name: 'myapp', port: { number: 8080 } } } },
  };
  assert.deepEqual(canaryIngress(onlyDefault, input).spec, {
    defaultBackend: { service: { name: 'myapp-canary', port: { number: 8080 } } },
  });
});

test('an Ingress with no path to the stable Service is NoRoutes', () => {
  assert.throws(
    () => canaryIngress(stable, { ...input, service: 'nothing' }),
    (err) => isTrafficError(err, 'NoRoutes'),
  );
});

test('canaryIngressWeight reads canary, canary-weight and canary-weight-total', () => {
  const withAnnotations = (annotations: Record<string, string>): Ingress => ({ metadata: { annotations } });
  assert.equal(canaryIngressWeight(undefined), 0);
  assert.equal(
    canaryIngressWeight(withAnnotations({ 'nginx.ingress.kubernetes.io/canary-weight': '50' })),
    0,
  );
  assert.equal(
    canaryIngressWeight(
      withAnnotations({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '50',
      }),
    ),
    50,
  );
  assert.equal(
    canaryIngressWeight(
      withAnnotations({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '250',
        'nginx.ingress.kubernetes.io/canary-weight-total': '1000',
      }),
    ),
    25,
  );
});

test('sameCanaryIngress: equal when only server fields differ; not when the weight does', () => {
  const wanted = canaryIngress(stable, input);
  const stored: Ingress = {
    ...wanted,
    metadata: {
      ...wanted.metadata,
      uid: 'x',
      resourceVersion: '7',
      labels: { ...wanted.metadata.labels, extra: 'y' },
    },
  };
  assert.equal(sameCanaryIngress(stored, wanted), true);
  assert.equal(sameCanaryIngress(stored, canaryIngress(stable, { ...input, canaryWeight: 50 })), false);
});

test('a match becomes the canary-by-header / -value / -pattern and canary-by-cookie annotations', () => {
  assert.deepEqual(
    matchAnnotations([{ header: { name: 'x-canary', exact: 'yes' } }, { cookie: { name: 'canary' } }]),
    {
      'nginx.ingress.kubernetes.io/canary-by-header': 'x-canary',
      'nginx.ingress.kubernetes.io/canary-by-header-value': 'yes',
      'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary',
    },
  );
  assert.deepEqual(matchAnnotations([{ header: { name: 'user-agent', regex: '.*Firefox.*' } }]), {
    'nginx.ingress.kubernetes.io/canary-by-header': 'user-agent',
    'nginx.ingress.kubernetes.io/canary-by-header-pattern': '.*Firefox.*',
  });
  const ing = canaryIngress(stable, { ...input, canaryWeight: 0, match: [{ cookie: { name: 'c' } }] });
  assert.equal(ing.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-by-cookie'], 'c');
  assert.equal(canaryIngressWeight(ing), 0);
});

test('what ingress-nginx cannot match is refused: two headers, a cookie value other than always', () => {
  for (const match of [
    [{ header: { name: 'a', exact: '1' } }, { header: { name: 'b', exact: '2' } }],
    [{ cookie: { name: 'c', value: 'yes' } }],
  ]) {
    assert.throws(
      () => matchAnnotations(match),
      (err) => isTrafficError(err, 'InvalidTarget') && /at most one header/.test(err.message),
    );
  }
});
