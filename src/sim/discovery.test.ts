import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { describeTargets, SimulateLabel, type ClusterView } from './discovery.ts';
import type { HTTPRouteLike, IngressLike, VirtualServiceLike } from './weights.ts';
import type { Deployment } from '../runtime/core-types.ts';

function view(objects: {
  canaries?: CanaryDeployment[];
  deployments?: Deployment[];
  virtualServices?: VirtualServiceLike[];
  ingresses?: IngressLike[];
  httpRoutes?: HTTPRouteLike[];
}): ClusterView {
  const find =
    <T extends { metadata: { namespace?: string; name?: string } }>(list: T[] | undefined) =>
    (namespace: string, name: string) =>
      list?.find((o) => o.metadata.namespace === namespace && o.metadata.name === name);
  return {
    canaryDeployments: () => objects.canaries ?? [],
    deployments: () => objects.deployments ?? [],
    deployment: find(objects.deployments),
    virtualService: find(objects.virtualServices),
    ingress: find(objects.ingresses),
    httpRoute: find(objects.httpRoutes),
  };
}

const deployment = (name: string, readyReplicas: number, labels?: Record<string, string>): Deployment => ({
  metadata: { namespace: 'ns', name, labels },
  status: { readyReplicas },
});
const canary = (traffic?: CanaryDeployment['spec']['traffic']): CanaryDeployment => ({
  metadata: { namespace: 'ns', name: 'release' },
  spec: { targetDeployment: 'web', canaryVersion: 'web:v2', traffic },
});

describe('describeTargets', () => {
  it('weights the Replicas provider by ready pods', () => {
    const [target] = describeTargets(
      view({ canaries: [canary()], deployments: [deployment('web', 3), deployment('web-canary', 1)] }),
    );
    assert.equal(target?.provider, 'Replicas');
    assert.equal(target?.canaryShare, 0.25);
    assert.equal(target?.serving, true);
    assert.equal(target?.canaryWorkload, 'web-canary');
    assert.deepEqual(target?.versionLabels, { stable: 'stable', canary: 'canary' });
  });

  it("labels plain metrics with the pods' version, keeping the canary's series its own", () => {
    const labelled = (name: string, version: string): Deployment => ({
      ...deployment(name, 1),
      spec: { template: { metadata: { labels: { version } } } },
    });
    const distinct = describeTargets(
      view({ canaries: [canary()], deployments: [labelled('web', 'v1'), labelled('web-canary', 'v2')] }),
    );
    assert.deepEqual(distinct[0]?.versionLabels, { stable: 'v1', canary: 'v2' });
    // Canary pods inherit the stable template's labels: the same value would merge the two.
    const inherited = describeTargets(
      view({ canaries: [canary()], deployments: [labelled('web', 'v1'), labelled('web-canary', 'v1')] }),
    );
    assert.deepEqual(inherited[0]?.versionLabels, { stable: 'stable', canary: 'v1' });
  });

  it('does not serve without ready pods or without the target', () => {
    assert.equal(
      describeTargets(view({ canaries: [canary()], deployments: [deployment('web', 0)] }))[0]?.serving,
      false,
    );
    assert.equal(describeTargets(view({ canaries: [canary({ provider: 'Istio' })] }))[0]?.serving, false);
  });

  it('reads the VirtualService named by an Istio release', () => {
    const vs: VirtualServiceLike = {
      metadata: { namespace: 'ns', name: 'web-vs' },
      spec: {
        http: [
          {
            route: [
              { destination: { host: 'web', subset: 'stable' }, weight: 70 },
              { destination: { host: 'web', subset: 'canary' }, weight: 30 },
            ],
          },
        ],
      },
    };
    const [target] = describeTargets(
      view({
        canaries: [canary({ provider: 'Istio', istio: { virtualService: 'web-vs' } })],
        deployments: [deployment('web', 2)],
        virtualServices: [vs],
      }),
    );
    assert.equal(target?.canaryShare, 0.3);
  });

  it("reads a routed service's weights from its VirtualService's hosts (a peer's release)", () => {
    const vs: VirtualServiceLike = {
      metadata: { namespace: 'ns', name: 'web' },
      spec: {
        http: [
          {
            route: [
              { destination: { host: 'web-primary' }, weight: 90 },
              { destination: { host: 'web-canary' }, weight: 10 },
            ],
          },
        ],
      },
    };
    const routed = {
      namespace: 'ns',
      name: 'web',
      virtualService: 'web',
      stableHost: 'web-primary',
      stableWorkload: 'web-primary',
      canaryWorkload: 'web',
    };
    const targets = describeTargets(
      view({
        deployments: [deployment('web-primary', 2, { [SimulateLabel]: 'true' })],
        virtualServices: [vs],
      }),
      [routed],
    );
    // The labelled stable Deployment is the routed service's, not a second target.
    assert.equal(targets.length, 1);
    assert.equal(targets[0]?.canaryShare, 0.1);
    assert.equal(targets[0]?.target, 'web-primary');
    assert.equal(targets[0]?.canaryWorkload, 'web');
    assert.equal(targets[0]?.serving, true);
    assert.equal(describeTargets(view({}), [routed])[0]?.canaryShare, 0);
  });

  it('reads the canary Ingress and its upstream for an Nginx release', () => {
    const canaryIngress: IngressLike = {
      metadata: {
        namespace: 'ns',
        name: 'web-ing-canary',
        annotations: {
          'nginx.ingress.kubernetes.io/canary': 'true',
          'nginx.ingress.kubernetes.io/canary-weight': '40',
        },
      },
      spec: {
        rules: [
          { http: { paths: [{ backend: { service: { name: 'web-canary', port: { number: 8080 } } } }] } },
        ],
      },
    };
    const [target] = describeTargets(
      view({
        canaries: [canary({ provider: 'Nginx', nginx: { ingress: 'web-ing' } })],
        deployments: [deployment('web', 2)],
        ingresses: [canaryIngress],
      }),
    );
    assert.equal(target?.canaryShare, 0.4);
    assert.deepEqual(target?.nginx, {
      ingress: 'web-ing',
      canaryIngress: 'web-ing-canary',
      canaryUpstream: 'ns-web-canary-8080',
    });
  });

  it('reads the HTTPRoute of a Gateway API release', () => {
    const route: HTTPRouteLike = {
      metadata: { namespace: 'ns', name: 'web-route' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'web', weight: 75 },
              { name: 'web-canary', weight: 25 },
            ],
          },
        ],
      },
    };
    const [target] = describeTargets(
      view({
        canaries: [canary({ provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web-route' } })],
        deployments: [deployment('web', 2)],
        httpRoutes: [route],
      }),
    );
    assert.equal(target?.canaryShare, 0.25);
  });

  it('simulates a labelled Deployment unless a CanaryDeployment targets it', () => {
    const labelled = [
      deployment('web', 2, { [SimulateLabel]: 'true' }),
      deployment('api', 1, { [SimulateLabel]: 'true' }),
    ];
    const alone = describeTargets(view({ deployments: labelled }));
    assert.deepEqual(alone.map((t) => t.key).sort(), ['ns/api', 'ns/web']);
    const withRelease = describeTargets(view({ canaries: [canary()], deployments: labelled }));
    assert.deepEqual(withRelease.map((t) => t.key).sort(), ['ns/api', 'ns/release']);
  });
});
