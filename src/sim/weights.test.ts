import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  gatewayMirrorShare,
  istioMirrorShare,
  gatewayCanaryShare,
  ingressBackend,
  istioCanaryShare,
  nginxCanaryShare,
  replicaCanaryShare,
  type VirtualServiceLike,
} from './weights.ts';

const vs = (
  routes: { host: string; subset?: string; weight?: number }[],
  name = 'primary',
): VirtualServiceLike => ({
  metadata: { name: 'app' },
  spec: { http: [{ name, route: routes.map(({ weight, ...destination }) => ({ destination, weight })) }] },
});

describe('istioCanaryShare', () => {
  it('reads the canary subset weight', () => {
    const share = istioCanaryShare(
      vs([
        { host: 'app', subset: 'stable', weight: 80 },
        { host: 'app', subset: 'canary', weight: 20 },
      ]),
      'app',
    );
    assert.equal(share, 0.2);
  });
  it('treats a lone unweighted stable destination as 0% canary', () => {
    assert.equal(istioCanaryShare(vs([{ host: 'app.ns.svc.cluster.local' }]), 'app'), 0);
  });
  it('counts a separate canary host', () => {
    assert.equal(
      istioCanaryShare(
        vs([
          { host: 'app', weight: 50 },
          { host: 'app-canary', weight: 50 },
        ]),
        'app',
      ),
      0.5,
    );
  });
  it('skips routes not named when names are given', () => {
    const object = vs([{ host: 'app', subset: 'canary', weight: 100 }], 'other');
    assert.equal(istioCanaryShare(object, 'app', ['primary']), 0);
    assert.equal(istioCanaryShare(object, 'app', ['other']), 1);
  });
  it('is 0 without a VirtualService', () => {
    assert.equal(istioCanaryShare(undefined, 'app'), 0);
  });
});

describe('nginxCanaryShare', () => {
  const ingress = (annotations: Record<string, string>) => ({
    metadata: { name: 'web-canary', annotations },
  });
  it('reads canary-weight out of 100', () => {
    assert.equal(
      nginxCanaryShare(
        ingress({
          'nginx.ingress.kubernetes.io/canary': 'true',
          'nginx.ingress.kubernetes.io/canary-weight': '30',
        }),
      ),
      0.3,
    );
  });
  it('honours canary-weight-total', () => {
    const share = nginxCanaryShare(
      ingress({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '1',
        'nginx.ingress.kubernetes.io/canary-weight-total': '1000',
      }),
    );
    assert.equal(share, 0.001);
  });
  it('is 0 unless canary is "true"', () => {
    assert.equal(nginxCanaryShare(ingress({ 'nginx.ingress.kubernetes.io/canary-weight': '30' })), 0);
    assert.equal(nginxCanaryShare(undefined), 0);
  });
});

describe('ingressBackend', () => {
  it('takes the first rule backend, port number or name', () => {
    const backend = ingressBackend({
      metadata: { name: 'web' },
      spec: {
        rules: [
          { http: { paths: [{ backend: { service: { name: 'web-canary', port: { number: 8080 } } } }] } },
        ],
      },
    });
    assert.deepEqual(backend, { service: 'web-canary', port: '8080' });
    assert.deepEqual(
      ingressBackend({
        metadata: {},
        spec: { defaultBackend: { service: { name: 'web', port: { name: 'http' } } } },
      }),
      { service: 'web', port: 'http' },
    );
  });
});

describe('gatewayCanaryShare', () => {
  const route = (refs: { name: string; weight?: number }[]) => ({
    metadata: { name: 'r' },
    spec: { rules: [{ backendRefs: refs }] },
  });
  it('divides the canary weight by the sum', () => {
    assert.equal(
      gatewayCanaryShare(
        route([
          { name: 'app', weight: 90 },
          { name: 'app-canary', weight: 10 },
        ]),
        'app',
      ),
      0.1,
    );
  });
  it('counts an unset weight as 1', () => {
    assert.equal(gatewayCanaryShare(route([{ name: 'app' }]), 'app'), 0);
    assert.equal(gatewayCanaryShare(route([{ name: 'app' }, { name: 'app-canary' }]), 'app'), 0.5);
  });
  it('ignores rules that do not send to the stable Service', () => {
    assert.equal(gatewayCanaryShare(route([{ name: 'other' }, { name: 'app-canary' }]), 'app'), 0);
  });
});

describe('replicaCanaryShare', () => {
  const deployment = (readyReplicas: number) => ({ metadata: {}, status: { readyReplicas } });
  it('is the canary share of ready pods', () => {
    assert.equal(replicaCanaryShare(deployment(3), deployment(1)), 0.25);
    assert.equal(replicaCanaryShare(deployment(3), undefined), 0);
    assert.equal(replicaCanaryShare(undefined, undefined), 0);
  });
});

describe('request match and mirror, as the data plane acts on them', () => {
  const weighted = [
    { destination: { host: 'myapp', subset: 'stable' }, weight: 100 },
    { destination: { host: 'myapp', subset: 'canary' }, weight: 0 },
  ];
  it('a route that needs a header takes none of the simulated requests (they carry none)', () => {
    const vs = {
      metadata: {},
      spec: {
        http: [
          {
            name: 'codedance-match-myapp-0',
            match: [{ headers: { 'x-canary': { exact: '1' } } }],
            route: [{ destination: { host: 'myapp', subset: 'canary' }, weight: 100 }],
          },
          { name: 'primary', route: weighted },
        ],
      },
    };
    assert.equal(istioCanaryShare(vs, 'myapp'), 0);
  });
  it('an Istio mirror to the canary subset copies mirrorPercentage of the traffic', () => {
    const route = { name: 'primary', route: weighted, mirror: { host: 'myapp', subset: 'canary' } };
    assert.equal(
      istioMirrorShare(
        { metadata: {}, spec: { http: [{ ...route, mirrorPercentage: { value: 40 } }] } },
        'myapp',
      ),
      0.4,
    );
    assert.equal(istioMirrorShare({ metadata: {}, spec: { http: [route] } }, 'myapp'), 1);
    assert.equal(
      istioMirrorShare({ metadata: {}, spec: { http: [{ name: 'primary', route: weighted }] } }, 'myapp'),
      0,
    );
  });
  it('a Gateway API RequestMirror filter to the canary Service copies its percent', () => {
    const rule = {
      backendRefs: [{ name: 'myapp', weight: 100 }],
      filters: [
        { type: 'RequestMirror', requestMirror: { backendRef: { name: 'myapp-canary' }, percent: 25 } },
      ],
    };
    assert.equal(gatewayMirrorShare({ metadata: {}, spec: { rules: [rule] } }, 'myapp'), 0.25);
    assert.equal(
      gatewayMirrorShare({ metadata: {}, spec: { rules: [{ backendRefs: rule.backendRefs }] } }, 'myapp'),
      0,
    );
  });
});
