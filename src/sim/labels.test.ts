import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { httpLabels, istioLabels, nginxLabels } from './labels.ts';
import type { SimTarget } from './target.ts';

const target: SimTarget = {
  key: 'shop/web',
  namespace: 'shop',
  name: 'web',
  target: 'web',
  canaryWorkload: 'web-canary',
  service: 'web',
  provider: 'Nginx',
  canaryShare: 0.2,
  serving: true,
  versionLabels: { stable: 'stable', canary: 'canary' },
  nginx: { ingress: 'web', canaryIngress: 'web-canary', canaryUpstream: 'shop-web-canary-80' },
};

describe('labels', () => {
  it('names the Istio destination workload per version', () => {
    assert.equal(istioLabels(target, 'stable', '200').destination_workload, 'web');
    const canary = istioLabels(target, 'canary', '500');
    assert.equal(canary.destination_workload, 'web-canary');
    assert.equal(canary.reporter, 'destination');
    assert.equal(canary.destination_workload_namespace, 'shop');
    assert.equal(canary.destination_service, 'web.shop.svc.cluster.local');
    assert.equal(canary.response_code, '500');
  });

  it('reports both nginx versions under the main Ingress, canary only on the canary upstream', () => {
    assert.deepEqual(nginxLabels(target, 'stable', '200'), {
      namespace: 'shop',
      ingress: 'web',
      service: 'web',
      canary: '',
      status: '200',
      method: 'GET',
      path: '/',
    });
    const canary = nginxLabels(target, 'canary', '200');
    assert.equal(canary.ingress, 'web');
    assert.equal(canary.canary, 'shop-web-canary-80');
  });

  it('labels plain metrics with app and version', () => {
    assert.deepEqual(httpLabels(target, 'canary', '500'), {
      namespace: 'shop',
      app: 'web',
      version: 'canary',
      status: '500',
    });
  });
});
