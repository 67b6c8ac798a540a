import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
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
