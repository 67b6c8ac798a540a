import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hostMatches,
  weightOf,
  withReleaseSubsets,
  withWeights,
  withoutReleaseSubsets,
  withoutSubsets,
  type DestinationRule,
  type RouteSelection,
  type VirtualService,
} from './istio.ts';
import { isTrafficError } from './provider.ts';

const selection: RouteSelection = { service: 'myapp', namespace: 'prod' };

function vs(http: VirtualService['spec']['http']): VirtualService {
  return { metadata: { name: 'myapp', namespace: 'prod' }, spec: { hosts: ['myapp.example.com'], http } };
}

const primary = {
  name: 'primary',
  match: [{ uri: { prefix: '/' } }],
  retries: { attempts: 3 },
  route: [{ destination: { host: 'myapp.prod.svc.cluster.local', port: { number: 80 } } }],
};
const other = { name: 'other', route: [{ destination: { host: 'billing' } }] };

test('hostMatches accepts the short, namespaced and fully qualified forms only', () => {
  for (const host of [
    'myapp',
    'myapp.prod',
    'myapp.prod.svc',
    'myapp.prod.svc.cluster.local',
    'myapp.prod.svc.corp.local',
  ]) {
    assert.equal(hostMatches(host, selection), true, host);
  }
  for (const host of ['myapp2', 'myapp.staging', 'myapp.prod.svcx', 'other.prod.svc.cluster.local']) {
    assert.equal(hostMatches(host, selection), false, host);
  }
});

test('withWeights splits routes on the service and keeps every other route and field', () => {
  const before = vs([other, primary]);
  const after = withWeights(before, selection, 10);
  assert.equal(after.spec.http?.[0], other, 'other route is the same object');
  assert.deepEqual(after.spec.http?.[1], {
    ...primary,
    route: [
      {
        destination: { host: 'myapp.prod.svc.cluster.local', port: { number: 80 }, subset: 'stable' },
        weight: 90,
      },
      {
        destination: { host: 'myapp.prod.svc.cluster.local', port: { number: 80 }, subset: 'canary' },
        weight: 10,
      },
    ],
  });
  assert.equal(after.spec.hosts, before.spec.hosts);
  assert.deepEqual(before.spec.http?.[1], primary, 'input not mutated');
  assert.equal(weightOf(after, selection), 10);
});

test('withWeights is idempotent and moves 0 -> 50 -> 100', () => {
  let current = withWeights(vs([primary]), selection, 0);
  assert.equal(weightOf(current, selection), 0);
  assert.deepEqual(withWeights(current, selection, 0), current);
  current = withWeights(current, selection, 50);
  assert.equal(weightOf(current, selection), 50);
  current = withWeights(current, selection, 100);
  assert.equal(weightOf(current, selection), 100);
  assert.deepEqual(
    current.spec.http?.[0]?.route?.map((d) => [d.destination.subset, d.weight]),
    [
      ['stable', 0],
      ['canary', 100],
    ],
  );
});

test('named routes: only those are weighted, even if others point at the service', () => {
  const secondary = { ...primary, name: 'secondary' };
  const after = withWeights(vs([primary, secondary]), { ...selection, routes: ['secondary'] }, 30);
  assert.equal(after.spec.http?.[0], primary);
  assert.equal(weightOf(after, { ...selection, routes: ['secondary'] }), 30);
});

test('a named route that does not exist is NoRoutes; no route on the host is NoRoutes', () => {
  assert.throws(
    () => withWeights(vs([primary]), { ...selection, routes: ['missing'] }, 10),
    (err) => isTrafficError(err, 'NoRoutes'),
  );
  assert.throws(
    () => withWeights(vs([other]), selection, 10),
    (err) => isTrafficError(err, 'NoRoutes'),
  );
});

test('a route that also sends traffic to another host is refused, not rewritten', () => {
  const mixed = {
    name: 'mixed',
    route: [
      { destination: { host: 'myapp' }, weight: 80 },
      { destination: { host: 'legacy' }, weight: 20 },
    ],
  };
  assert.throws(
    () => withWeights(vs([mixed]), selection, 10),
    (err) => isTrafficError(err, 'UnsupportedRoute'),
  );
});

test('withoutSubsets restores the plain destination, keeping port and route fields', () => {
  const weighted = withWeights(vs([other, primary]), selection, 40);
  const plain = withoutSubsets(weighted, selection);
  assert.deepEqual(plain.spec.http, [other, primary]);
  assert.equal(weightOf(plain, selection), 0);
});

test('weightOf: highest share when routes disagree; undefined without release routes', () => {
  const a = withWeights(vs([primary]), selection, 20).spec.http![0]!;
  const b = withWeights(vs([{ ...primary, name: 'b' }]), selection, 60).spec.http![0]!;
  assert.equal(weightOf(vs([a, b]), selection), 60);
  assert.equal(weightOf(vs([other]), selection), undefined);
  assert.equal(
    weightOf(vs([{ name: 'c', route: [{ destination: { host: 'myapp', subset: 'canary' } }] }]), selection),
    100,
  );
});

test('withReleaseSubsets sets stable and canary and keeps other subsets and fields', () => {
  const labels = {
    stable: { app: 'myapp', 'deploy.codedance.io/role': 'stable' },
    canary: { app: 'myapp', 'deploy.codedance.io/role': 'canary' },
  };
  const v1 = { name: 'v1', labels: { version: 'v1' } };
  const stale = {
    name: 'stable',
    labels: { old: 'x' },
    trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } },
  };
  const subsets = withReleaseSubsets([v1, stale], labels);
  assert.deepEqual(subsets, [
    v1,
    { name: 'stable', labels: labels.stable, trafficPolicy: stale.trafficPolicy },
    { name: 'canary', labels: labels.canary },
  ]);
  assert.deepEqual(withReleaseSubsets(subsets, labels), subsets, 'idempotent');
  assert.deepEqual(withoutReleaseSubsets(subsets), [v1]);
  assert.deepEqual(
    withReleaseSubsets(undefined, labels).map((s) => s.name),
    ['stable', 'canary'],
  );
});

test('reset with the stable pods unknown (target Deployment gone) keeps the stable subset; with none to keep it refuses', async () => {
  const { createFakeClient } = await import('../runtime/testing/fake-client.ts');
  const { createIstioProvider } = await import('./istio.ts');
  const kinds = await import('../runtime/kinds.ts');
  const client = createFakeClient();
  const target = {
    namespace: 'prod',
    owner: { name: 'myapp', uid: 'u1' },
    service: { name: 'myapp', port: 80 },
    canaryService: 'myapp-canary',
    stableDeployment: 'myapp',
    canaryDeployment: 'myapp-canary',
    traffic: { provider: 'Istio' as const, istio: { virtualService: 'myapp' } },
    selectors: { stable: {}, canary: { 'deploy.codedance.io/role': 'canary' } },
  };
  const provider = createIstioProvider({ client });
  await client.create(kinds.VirtualService, withWeights(vs([primary]), selection, 20));
  await assert.rejects(
    provider.reset(target),
    (err: unknown) => isTrafficError(err, 'NotFound'),
    'no stable subset to keep: refused',
  );
  const stable = { 'pod-template-hash': 'abc' };
  await client.create<DestinationRule>(kinds.DestinationRule, {
    metadata: { name: 'myapp', namespace: 'prod' },
    spec: {
      host: 'myapp',
      subsets: [
        { name: 'stable', labels: stable },
        { name: 'canary', labels: target.selectors.canary },
      ],
    },
  });
  assert.deepEqual(await provider.reset(target), { changed: true, weight: 0 });
  const dr = client.objects<DestinationRule>(kinds.DestinationRule)[0];
  assert.deepEqual(
    dr?.spec.subsets?.find((s) => s.name === 'stable')?.labels,
    stable,
    'the stable subset keeps its labels',
  );
});

test('a match adds a route before each release route, same conditions plus the header, all to canary', () => {
  const match = [{ header: { name: 'X-Canary', exact: 'yes' } }, { cookie: { name: 'canary' } }];
  const after = withWeights(vs([other, primary]), selection, 10, { match });
  const http = after.spec.http ?? [];
  assert.equal(http.length, 3);
  assert.equal(http[0], other);
  assert.deepEqual(http[1], {
    name: 'codedance-match-myapp-0',
    retries: { attempts: 3 },
    match: [
      { uri: { prefix: '/' }, headers: { 'x-canary': { exact: 'yes' } } },
      { uri: { prefix: '/' }, headers: { cookie: { regex: '^(.*?;\\s*)?canary=always(;.*)?$' } } },
    ],
    route: [
      {
        destination: { host: 'myapp.prod.svc.cluster.local', port: { number: 80 }, subset: 'canary' },
        weight: 100,
      },
    ],
  });
  assert.equal(http[2]?.name, 'primary');
  assert.equal(weightOf(after, selection), 10, 'the match route is not the weight');
  // Same again: nothing changes; without the match the route goes.
  assert.deepEqual(withWeights(after, selection, 10, { match }), after);
  assert.deepEqual(withWeights(after, selection, 10), withWeights(vs([other, primary]), selection, 10));
  assert.deepEqual(withoutSubsets(after, selection), vs([other, primary]));
});

test('a match route of a named-route release keeps the release to its named routes', () => {
  const named = { ...selection, routes: ['primary'] };
  const after = withWeights(vs([primary]), named, 0, { match: [{ header: { name: 'a', regex: 'b.*' } }] });
  assert.equal(after.spec.http?.length, 2);
  assert.equal(weightOf(after, named), 0);
  assert.deepEqual(withWeights(after, named, 30).spec.http?.length, 1);
});

test('a mirror sends a share of the release routes to the canary subset, and goes with the step', () => {
  const after = withWeights(vs([primary]), selection, 0, { mirror: 50 });
  const route = after.spec.http?.[0];
  assert.deepEqual(route?.['mirror'], {
    host: 'myapp.prod.svc.cluster.local',
    port: { number: 80 },
    subset: 'canary',
  });
  assert.deepEqual(route?.['mirrorPercentage'], { value: 50 });
  assert.equal(weightOf(after, selection), 0);
  const next = withWeights(after, selection, 10);
  assert.equal(next.spec.http?.[0]?.['mirror'], undefined);
  assert.equal(next.spec.http?.[0]?.['mirrorPercentage'], undefined);
});

test("the user's own mirror is kept, and a release mirror on that route is refused", () => {
  const mirrored = { ...primary, mirror: { host: 'shadow' } };
  assert.deepEqual(withWeights(vs([mirrored]), selection, 10).spec.http?.[0]?.['mirror'], { host: 'shadow' });
  assert.throws(
    () => withWeights(vs([mirrored]), selection, 0, { mirror: 10 }),
    (err) => isTrafficError(err, 'UnsupportedRoute'),
  );
});

test('protocol TCP weights the tcp routes and leaves the http ones alone', async () => {
  const { createIstioProvider, routeSection } = await import('./istio.ts');
  const { createFakeClient } = await import('../runtime/testing/fake-client.ts');
  const { VirtualService: VirtualServiceKind } = await import('../runtime/kinds.ts');
  const client = createFakeClient();
  const http = [{ name: 'web', route: [{ destination: { host: 'myapp' } }] }];
  await client.create<VirtualService>(VirtualServiceKind, {
    metadata: { name: 'myapp', namespace: 'prod' },
    spec: {
      hosts: ['myapp'],
      http,
      tcp: [{ match: [{ port: 5432 }], route: [{ destination: { host: 'myapp' } }] }],
    },
  });
  const target = {
    namespace: 'prod',
    owner: { name: 'cd', uid: 'u' },
    service: { name: 'myapp', port: 5432 },
    canaryService: 'myapp-canary',
    stableDeployment: 'myapp',
    canaryDeployment: 'myapp-canary',
    traffic: { provider: 'Istio' as const, protocol: 'TCP' as const, istio: { virtualService: 'myapp' } },
    selectors: { stable: { hash: 'a' }, canary: { role: 'canary' } },
  };
  assert.equal(routeSection(target), 'tcp');
  const provider = createIstioProvider({ client });
  assert.deepEqual(await provider.setWeight(target, 30), { changed: true, weight: 30 });
  const vs = await client.get<VirtualService>(VirtualServiceKind, 'prod', 'myapp');
  const spec = vs?.spec as { http: unknown; tcp: { route: { weight?: number }[] }[] };
  assert.deepEqual(spec.http, http, 'http routes untouched');
  assert.deepEqual(
    spec.tcp[0]?.route.map((d) => d.weight),
    [70, 30],
  );
  assert.equal(await provider.readWeight(target), 30);
  await assert.rejects(provider.setWeight(target, 0, { mirror: 10 }), (err) =>
    isTrafficError(err, 'InvalidTarget'),
  );
});
