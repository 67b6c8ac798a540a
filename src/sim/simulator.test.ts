/**
 * The simulator end to end over a fake cluster (static lists, silent watches): the
 * HTTP routes, the split by weight in the exported counters, and profile changes.
 * The same behaviour on the real control plane is in test/integration/sim/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, ObjectList, WatchEvent } from '../runtime/client.ts';
import type { ResourceKind } from '../runtime/kinds.ts';
import type { WatcherClient } from '../runtime/watcher.ts';
import { startSimulator, type Simulator } from './simulator.ts';

function fakeClient(objects: Record<string, KubeObject[]>): WatcherClient {
  return {
    async list<T extends KubeObject>(kind: ResourceKind<T>) {
      return {
        metadata: { resourceVersion: '1' },
        items: (objects[kind.plural] ?? []) as T[],
      } satisfies ObjectList<T>;
    },
    async *watch<T extends KubeObject>(
      _kind: ResourceKind<T>,
      _options: unknown,
      signal?: AbortSignal,
    ): AsyncIterable<WatchEvent<T>> {
      // A watch that stays open and quiet until the informer stops.
      await new Promise<void>((resolve) =>
        signal?.addEventListener('abort', () => resolve(), { once: true }),
      );
    },
  };
}

/** Sum of a metric's samples whose label text contains every fragment. */
function total(metrics: string, name: string, ...fragments: string[]): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && fragments.every((f) => line.includes(f)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const waitFor = async (check: () => Promise<boolean>, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('simulator', () => {
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({
      client: fakeClient({
        canarydeployments: [
          {
            metadata: { namespace: 'ns', name: 'release' },
            spec: {
              targetDeployment: 'web',
              canaryVersion: 'web:v2',
              traffic: { provider: 'Istio', istio: { virtualService: 'web' } },
            },
          } as KubeObject,
        ],
        deployments: [
          { metadata: { namespace: 'ns', name: 'web' }, status: { readyReplicas: 2 } } as KubeObject,
        ],
        virtualservices: [
          {
            metadata: { namespace: 'ns', name: 'web' },
            spec: {
              http: [
                {
                  route: [
                    { destination: { host: 'web', subset: 'stable' }, weight: 80 },
                    { destination: { host: 'web', subset: 'canary' }, weight: 20 },
                  ],
                },
              ],
            },
          } as KubeObject,
        ],
      }),
      rps: 2000,
      tickMs: 20,
      seed: 1,
    });
  });
  after(() => sim.stop());

  it('splits requests by the VirtualService weights', async () => {
    let metrics = '';
    await waitFor(async () => {
      metrics = await (await fetch(`${sim.url}/metrics`)).text();
      return total(metrics, 'istio_requests_total') >= 2000;
    });
    const all = total(metrics, 'istio_requests_total');
    const canary = total(metrics, 'istio_requests_total', 'destination_workload="web-canary"');
    assert.ok(Math.abs(canary / all - 0.2) < 0.01, `canary share ${canary / all}`);
    assert.equal(
      total(metrics, 'http_requests_total', 'app="web"'),
      all,
      'plain metrics count the same requests',
    );
    assert.equal(
      total(metrics, 'nginx_ingress_controller_requests'),
      0,
      'no nginx family for an Istio release',
    );
    assert.match(
      metrics,
      /istio_request_duration_milliseconds_bucket\{.*destination_workload="web-canary".*le="\+Inf"\}/,
    );
    assert.match(metrics, /codedance_sim_canary_weight_percent\{namespace="ns",name="release"\} 20/);
  });

  it('takes a profile over HTTP and fails the canary as told', async () => {
    const response = await fetch(`${sim.url}/profiles`, {
      method: 'POST',
      body: JSON.stringify({ namespace: 'ns', name: 'web', version: 'canary', errorRate: 0.5 }),
    });
    assert.equal(response.status, 200);
    const before = await (await fetch(`${sim.url}/metrics`)).text();
    const failedBefore = total(before, 'http_requests_total', 'version="canary"', 'status="500"');
    const allBefore = total(before, 'http_requests_total', 'version="canary"');
    let after = '';
    await waitFor(async () => {
      after = await (await fetch(`${sim.url}/metrics`)).text();
      return total(after, 'http_requests_total', 'version="canary"') - allBefore >= 500;
    });
    const rate =
      (total(after, 'http_requests_total', 'version="canary"', 'status="500"') - failedBefore) /
      (total(after, 'http_requests_total', 'version="canary"') - allBefore);
    assert.ok(Math.abs(rate - 0.5) < 0.1, `canary error rate ${rate}`);
    const stableFailures =
      total(after, 'http_requests_total', 'version="stable"', 'status="500"') /
      total(after, 'http_requests_total', 'version="stable"');
    assert.ok(stableFailures < 0.01, `stable error rate ${stableFailures}`);
  });

  it('answers a bad profile with 400 and the reason', async () => {
    const response = await fetch(`${sim.url}/profiles`, {
      method: 'POST',
      body: JSON.stringify({ namespace: 'ns', name: 'web', errorRate: 7 }),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'errorRate must be a number from 0 to 1' });
  });

  it('refuses a bad profile from the library too', () => {
    assert.throws(
      () => sim.setProfile({ namespace: 'ns', name: 'web', errorRate: -1 }),
      /setProfile: errorRate must be a number from 0 to 1/,
    );
  });

  it('fails to start on a port in use', async () => {
    await assert.rejects(startSimulator({ client: fakeClient({}), port: sim.port }), /EADDRINUSE/);
  });

  it('lists its targets', async () => {
    const targets = (await (await fetch(`${sim.url}/targets`)).json()) as {
      key: string;
      canaryShare: number;
    }[];
    assert.deepEqual(
      targets.map((t) => [t.key, t.canaryShare]),
      [['ns/release', 0.2]],
    );
  });
});

describe('simulator over many namespaces', () => {
  it('watches the whole cluster and keeps to the namespaces asked for', async () => {
    const release = (namespace: string) =>
      ({
        metadata: { namespace, name: 'release' },
        spec: { targetDeployment: 'web', canaryVersion: 'web:v2' },
      }) as KubeObject;
    const web = (namespace: string) =>
      ({ metadata: { namespace, name: 'web' }, status: { readyReplicas: 1 } }) as KubeObject;
    const namespaces = Array.from({ length: 9 }, (_, i) => `ns${i}`);
    const sim = await startSimulator({
      client: fakeClient({
        canarydeployments: [release('ns0'), release('elsewhere')],
        deployments: [web('ns0'), web('elsewhere')],
      }),
      namespaces,
      tickMs: 20,
    });
    try {
      await waitFor(async () => sim.targets().length > 0);
      assert.deepEqual(
        sim.targets().map((t) => t.key),
        ['ns0/release'],
      );
    } finally {
      await sim.stop();
    }
  });
});
