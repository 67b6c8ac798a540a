import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { prometheusAllowList } from '../analysis/allowed.ts';
import { acceptedCondition, refusals } from './admission.ts';

const policy = { prometheus: prometheusAllowList('http://prometheus:9090') };

function release(spec: Partial<CanaryDeployment['spec']>): CanaryDeployment {
  return {
    metadata: { name: 'app', namespace: 'ns' },
    spec: { targetDeployment: 'app', canaryVersion: 'app:v2', ...spec },
  };
}

test('a release with allowed addresses is Accepted', () => {
  const found = refusals(
    release({
      metrics: { provider: { address: 'http://prometheus:9090/' } },
      notifications: [{ type: 'Slack', url: 'https://hooks.slack.com/x' }],
    }),
    policy,
  );
  assert.deepEqual(found, []);
  assert.deepEqual(acceptedCondition(found, 3), {
    type: 'Accepted',
    status: 'True',
    reason: 'Accepted',
    message: 'every address in the spec is allowed',
    observedGeneration: 3,
  });
});

test('a Prometheus off the list blocks; an internal notification URL is refused without blocking', () => {
  const cd = release({
    metrics: { provider: { address: 'http://other:9090' } },
    notifications: [
      { type: 'Slack', url: 'https://hooks.slack.com/x' },
      { name: 'meta', type: 'Webhook', url: 'http://169.254.169.254/' },
    ],
  });
  const found = refusals(cd, policy);
  assert.deepEqual(
    found.map((r) => [r.field, r.reason, r.blocks]),
    [
      ['spec.metrics.provider.address', 'PrometheusNotAllowed', true],
      ['spec.notifications[1].url', 'NotificationURLRefused', false],
    ],
  );
  const condition = acceptedCondition(found, 1);
  assert.equal(condition.status, 'False');
  assert.equal(condition.reason, 'PrometheusNotAllowed');
  assert.match(
    condition.message ?? '',
    /spec\.metrics\.provider\.address: .*; spec\.notifications\[1\]\.url: meta: 169\.254\.169\.254 is a link-local address/,
  );
  assert.deepEqual(
    refusals(cd, { ...policy, allowInternalNotificationUrls: true }).map((r) => r.reason),
    ['PrometheusNotAllowed'],
  );
});
