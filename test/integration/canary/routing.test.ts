/**
 * Routing by request and mirroring (issue 14.1, 14.4) on the real control plane, a real
 * Prometheus and the traffic simulator:
 * - a mirrored canary that fails is judged on the mirrored copies and rolled back
 *   without ever taking a real request (its weight stays 0 the whole time);
 * - a step with a header match writes the match route beside the weight, says so in
 *   status, and the next step without one removes it;
 * - the Replicas provider refuses a match at admission, saying why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kinds from '../../../src/runtime/kinds.ts';
import { CommandAnnotation, type CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  sampleSteps,
  startScrapedSimulator,
  waitFor,
  waitPhase,
} from './support.ts';

const analysis: CanaryDeploymentSpec['analysis'] = {
  interval: '1s',
  window: '10s',
  successThreshold: 1,
  failureThreshold: 2,
  inconclusiveLimit: 30,
};

/** The weight on subset `canary` of route `primary`, and whether any route mirrors to the canary. */
async function primaryRoute(
  admin: Parameters<typeof createApp>[0],
  ns: string,
): Promise<{ weight: number; mirror: number | undefined; matchRoutes: number }> {
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  const http = vs?.spec.http ?? [];
  const primary = http.find((r) => r.name === 'primary');
  const mirror = primary?.['mirror'] as { subset?: string } | undefined;
  return {
    weight: primary?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0,
    mirror:
      mirror?.subset === 'canary'
        ? ((primary?.['mirrorPercentage'] as { value?: number } | undefined)?.value ?? 100)
        : undefined,
    matchRoutes: http.filter((r) => r.name !== 'primary').length,
  };
}

test('a mirrored canary that fails is rolled back before it takes any real request', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  const sim = await startScrapedSimulator(t, ns, 200);
  sim.setProfile({ namespace: ns, name: 'myapp', version: 'canary', errorRate: 0.5 });
  const sampler = sampleSteps(admin, ns, 'myapp', () => primaryRoute(admin, ns), 100);
  const started = Date.now();
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 0, mirror: 100, pause: '10m' },
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
    analysis,
    metrics: { errorRate: { threshold: 5 } },
  });
  await waitFor(async () => (await primaryRoute(admin, ns)).mirror === 100, {
    describe: 'the VirtualService mirrors all traffic to the canary subset',
    timeoutMs: 60_000,
  });
  const mirroredAt = Date.now();
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', 150_000);
  t.diagnostic(
    `mirror written ${mirroredAt - started} ms after create; rolled back ${Date.now() - mirroredAt} ms after the mirror`,
  );
  const samples = await sampler.stop();
  assert.equal(failed.status?.reason, 'MetricsFailed');
  const judged = failed.status?.analysis?.last?.metrics.find((m) => m.name.toLowerCase().includes('error'));
  assert.ok(
    typeof judged?.value === 'number' && judged.value > 5,
    `judged on the mirrored requests: ${JSON.stringify(judged)}`,
  );
  assert.ok(samples.length > 0, 'the routes were sampled');
  assert.ok(
    samples.every((s) => s.seen.weight === 0),
    `the canary never had a real request's share (weights seen: ${[...new Set(samples.map((s) => s.seen.weight))].join(',')})`,
  );
  const after = await primaryRoute(admin, ns);
  assert.deepEqual(after, { weight: 0, mirror: undefined, matchRoutes: 0 }, 'rollback removes the mirror');
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1');
});

test('a header match step writes its route beside the weight; the next step removes it', {
  timeout: 180_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createVirtualService(admin, ns, 'myapp');
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      // The first step has no pause: it waits for a promote.
      steps: [
        { weight: 0, match: [{ header: { name: 'x-canary', exact: 'insider' } }] },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  });
  const held = await waitFor(
    async () => {
      const route = await primaryRoute(admin, ns);
      const cd = await getRelease(admin, ns, 'myapp');
      // Once the canary is available, the message says what the step sends to it.
      return route.matchRoutes === 1 && /^step 1\/2: 0% \+ header/.test(cd?.status?.message ?? '')
        ? cd
        : undefined;
    },
    { describe: 'step 1 with its match route, said in status', timeoutMs: 90_000 },
  );
  assert.match(
    held.status?.message ?? '',
    /^step 1\/2: 0% \+ header x-canary: "insider" to myapp:v2, waiting for approval/,
  );
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp');
  const matchRoute = vs?.spec.http?.[0];
  assert.deepEqual(matchRoute?.['match'], [{ headers: { 'x-canary': { exact: 'insider' } } }]);
  assert.deepEqual(
    matchRoute?.route?.map((d) => [d.destination.subset, d.weight]),
    [['canary', 100]],
  );
  assert.equal((await primaryRoute(admin, ns)).weight, 0, 'no weight beside the match');
  await admin.patch(
    CanaryDeploymentKind,
    ns,
    'myapp',
    { metadata: { annotations: { [CommandAnnotation]: 'promote:t1' } } },
    'merge',
  );
  await waitPhase(admin, ns, 'myapp', 'Completed', 120_000);
  assert.deepEqual(await primaryRoute(admin, ns), { weight: 0, mirror: undefined, matchRoutes: 0 });
});

test('the Replicas provider refuses a match at admission, saying why', async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await assert.rejects(
    createRelease(admin, ns, 'myapp', {
      targetDeployment: 'myapp',
      canaryVersion: 'myapp:v2',
      strategy: { steps: [{ weight: 0, match: [{ cookie: { name: 'canary' } }], pause: '1m' }] },
    }),
    (err: Error) =>
      /strategy\.steps\[\]\.match needs traffic\.provider Istio, Nginx or GatewayAPI: with Replicas the stable Service sends each request to any pod/.test(
        err.message,
      ),
  );
});
