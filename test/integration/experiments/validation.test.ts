/**
 * The schema of issue 14 on the real API server: an A/B experiment with comparisons and
 * webhook gates is accepted (with its defaults), and each mistake a user could make in
 * those blocks is refused on its field with a message that says what to do. Sent with
 * `dryRun=All` (nothing stored); the CRDs come from the run's install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeApiError, resourcePath, type KubeObject } from '../../../src/runtime/client.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { releaseEnv } from '../canary/support.ts';

const good: CanaryDeploymentSpec = {
  targetDeployment: 'reco',
  canaryVersion: 'reco:v2',
  strategy: { type: 'Experiment', experiment: { weight: 10, duration: '30m' } },
  metrics: {
    compare: {
      errorRate: { maxIncrease: 0.5 },
      latency: { p99: { maxRatio: 1.1 } },
      custom: [
        {
          name: 'conversionRate',
          query: 'sum(rate(conv{version="{{version}}"}[{{window}}]))',
          minRatio: 0.98,
        },
      ],
    },
  },
  webhooks: [
    { name: 'smoke', type: 'PreRollout', url: 'https://ci.example.com/smoke' },
    { name: 'approve', type: 'ConfirmPromotion', url: 'https://ci.example.com/approve' },
  ],
};

test('experiments, comparisons and gates: accepted when right, refused on the field when wrong', {
  timeout: 120_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  const send = (spec: CanaryDeploymentSpec) =>
    admin.raw<CanaryDeployment>('POST', `${resourcePath(CanaryDeploymentKind, ns)}?dryRun=All`, {
      apiVersion: 'deploy.codedance.io/v1alpha1',
      kind: 'CanaryDeployment',
      metadata: { name: 'reco', namespace: ns },
      spec,
    } as KubeObject);

  const served = await send(good);
  assert.equal(served.spec.webhooks?.[0]?.timeout, '10s', 'gate timeout defaulted');
  assert.equal(served.spec.webhooks?.[0]?.retries, 2, 'gate retries defaulted');

  const refused = async (spec: CanaryDeploymentSpec, field: string, says: string) => {
    let error: unknown;
    try {
      await send(spec);
    } catch (err) {
      error = err;
    }
    assert.ok(
      error instanceof KubeApiError && error.statusCode === 422,
      `accepted; expected a refusal on ${field}`,
    );
    const causes = error.status?.details?.causes ?? [];
    assert.ok(
      causes.some((c) => c.field === field && (c.message ?? '').includes(says)),
      `no cause on ${field} saying "${says}": ${JSON.stringify(causes)}`,
    );
  };
  await refused(
    { ...good, strategy: { type: 'Experiment' } },
    'spec.strategy.experiment',
    'strategy.experiment is required',
  );
  await refused(
    {
      ...good,
      strategy: { type: 'Experiment', experiment: { weight: 10, duration: '30m' }, steps: [{ weight: 10 }] },
    },
    'spec.strategy.steps',
    'cannot be used with type Experiment',
  );
  await refused(
    { ...good, strategy: { type: 'Linear', experiment: { weight: 10, duration: '30m' } } },
    'spec.strategy.experiment',
    'only used when strategy.type is Experiment',
  );
  await refused(
    { ...good, strategy: { type: 'Experiment', experiment: { weight: 10, duration: 'a while' } } },
    'spec.strategy.experiment.duration',
    'must be a duration',
  );
  await refused(
    { ...good, metrics: { compare: { errorRate: { maxIncrease: 0.5, maxRatio: 2 } } } },
    'spec.metrics.compare.errorRate',
    'exactly one of maxIncrease',
  );
  await refused(
    {
      ...good,
      metrics: { compare: { custom: [{ name: 'c', query: 'sum(rate(conv[5m]))', minRatio: 0.9 }] } },
    },
    'spec.metrics.compare.custom[0].query',
    'must select a side',
  );
  await refused(
    { ...good, webhooks: [{ name: 'smoke', type: 'PreRollout' }] },
    'spec.webhooks[0].url',
    'url or webhooks[].secretRef is required',
  );
  await refused(
    { ...good, webhooks: [{ name: 'smoke', type: 'Rollout', url: 'https://x.example.com', timeout: '2m' }] },
    'spec.webhooks[0].timeout',
    'at most 30s',
  );
});
