/**
 * Seed 003, scenario 4 on the real control plane, real Prometheus and the simulator: an
 * A/B test of a new recommendation model. 10% of the traffic goes to the canary for the
 * experiment's duration; the simulator gives each version its own conversions per
 * impression; at the end the conversion rates of both sides over the whole experiment
 * decide: a canary that converts worse is rolled back, one that converts as well is
 * promoted. The timings are printed (diagnostics), never asserted.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import {
  createApp,
  createRelease,
  createVirtualService,
  getDeployment,
  getRelease,
  imageOf,
  releaseEnv,
  startScrapedSimulator,
  waitFor,
  waitPhase,
} from '../canary/support.ts';

interface KubeEvent extends KubeObject {
  reason?: string;
  note?: string;
}

/** Conversions per impression of one side, over the query's window. */
const conversionRate =
  'sum(rate(business_events_total{namespace="{{namespace}}", app="{{target}}", version="{{version}}", event="conversions"}[{{window}}]))' +
  ' / sum(rate(business_events_total{namespace="{{namespace}}", app="{{target}}", version="{{version}}", event="impressions"}[{{window}}]))';

function experiment(): CanaryDeploymentSpec {
  return {
    targetDeployment: 'reco',
    canaryVersion: 'reco:model-v2',
    strategy: { type: 'Experiment', experiment: { weight: 10, duration: '40s' } },
    traffic: { provider: 'Istio', istio: { virtualService: 'reco' } },
    // Only the end decides here: guards before it would need failureThreshold failures in a row.
    analysis: { interval: '5s', window: '20s', failureThreshold: 100, inconclusiveLimit: 100 },
    metrics: {
      compare: {
        errorRate: { maxIncrease: 1 },
        // The exact counting of the simulator keeps equal models within a rounding of each other.
        custom: [{ name: 'conversionRate', query: conversionRate, minRatio: 0.95 }],
      },
    },
  };
}

async function abTest(t: TestContext, canaryConversions: number) {
  const { admin, ns } = await releaseEnv(t);
  await createApp(admin, ns, 'reco', { replicas: 2 });
  await createVirtualService(admin, ns, 'reco');
  const sim = await startScrapedSimulator(t, ns, 200);
  sim.setProfile({ namespace: ns, name: 'reco', business: { impressions: 1, conversions: 0.1 } });
  sim.setProfile({
    namespace: ns,
    name: 'reco',
    version: 'canary',
    business: { conversions: canaryConversions },
  });
  const started = Date.now();
  await createRelease(admin, ns, 'reco', experiment());
  const split = await waitFor(
    async () => {
      const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'reco');
      return vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight === 10
        ? Date.now()
        : undefined;
    },
    { describe: '10% of the traffic on the canary', timeoutMs: 60_000 },
  );
  t.diagnostic(`create to 10% split: ${split - started} ms`);
  return { admin, ns, started, split };
}

async function reasons(
  admin: Awaited<ReturnType<typeof releaseEnv>>['admin'],
  ns: string,
): Promise<string[]> {
  return (await admin.list<KubeEvent>(kinds.Event, { namespace: ns })).items.map((e) => e.reason ?? '');
}

test('A/B test: a model that converts worse than stable is rolled back at the end of the experiment', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, split } = await abTest(t, 0.05);
  const failed = await waitPhase(admin, ns, 'reco', 'Failed', 150_000);
  t.diagnostic(`10% split to rolled back: ${Date.now() - split} ms (experiment 40s)`);
  assert.equal(failed.status?.reason, 'ExperimentFailed', failed.status?.message ?? '');
  const last = failed.status?.analysis?.last;
  assert.equal(last?.decision, 'Rollback');
  const conversion = last?.metrics.find((m) => m.name === 'conversionRate');
  assert.ok(
    conversion?.value !== undefined && conversion.stableValue !== undefined,
    JSON.stringify(last?.metrics),
  );
  assert.ok(
    conversion.value < conversion.stableValue * 0.95,
    `canary ${conversion.value} vs stable ${conversion.stableValue}`,
  );
  assert.equal(conversion.passed, false);
  // Judged over the whole experiment, after its deadline.
  assert.ok(
    Date.parse(last?.time ?? '') >=
      Date.parse(failed.status?.history?.find((h) => h.event === 'StepReached')?.time ?? '') + 40_000,
  );
  assert.ok((await reasons(admin, ns)).includes('ExperimentFailed'));
  const vs = await admin.get<VirtualService>(kinds.VirtualService, ns, 'reco');
  assert.equal(
    vs?.spec.http?.[0]?.route?.find((d) => d.destination.subset === 'canary')?.weight ?? 0,
    0,
    'no traffic on the canary',
  );
  assert.equal(imageOf(await getDeployment(admin, ns, 'reco')), 'reco:v1');
});

test('A/B test: a model that converts as well as stable is promoted at the end of the experiment', {
  timeout: 240_000,
}, async (t) => {
  const { admin, ns, split } = await abTest(t, 0.1);
  const judged = await waitFor(
    async () => {
      const cd = await getRelease(admin, ns, 'reco');
      return cd?.status?.reason === 'Promoting' ||
        cd?.status?.phase === 'Completed' ||
        cd?.status?.phase === 'Failed'
        ? cd
        : undefined;
    },
    { describe: 'the experiment judged', timeoutMs: 150_000 },
  );
  t.diagnostic(`10% split to judged: ${Date.now() - split} ms (experiment 40s)`);
  assert.notEqual(judged.status?.phase, 'Failed', judged.status?.message ?? '');
  const done = await waitPhase(admin, ns, 'reco', 'Completed', 120_000);
  t.diagnostic(`10% split to Completed: ${Date.now() - split} ms`);
  const last = done.status?.analysis?.last;
  assert.equal(last?.decision, 'Continue');
  const conversion = last?.metrics.find((m) => m.name === 'conversionRate');
  assert.ok(
    conversion?.value !== undefined && conversion.stableValue !== undefined && conversion.passed === true,
    JSON.stringify(last?.metrics),
  );
  assert.ok((await reasons(admin, ns)).includes('ExperimentPassed'));
  assert.equal(imageOf(await getDeployment(admin, ns, 'reco')), 'reco:model-v2');
});
