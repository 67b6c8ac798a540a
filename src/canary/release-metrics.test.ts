import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { registerReleaseMetrics } from './release-metrics.ts';

function release(
  name: string,
  status: NonNullable<CanaryDeployment['status']>,
  uid = name,
): CanaryDeployment {
  return {
    apiVersion: 'deploy.codedance.io/v1alpha1',
    kind: 'CanaryDeployment',
    metadata: { name, namespace: 'shop', uid },
    spec: { targetDeployment: name, canaryVersion: `${name}:v2` },
    status,
  } as CanaryDeployment;
}

test('gauges follow the releases; a rollback is counted once, by reason, and only if it ended after the start', async () => {
  const start = new Date('2026-01-01T10:00:00Z');
  let releases: CanaryDeployment[] = [
    release('cart', {
      phase: 'Progressing',
      currentWeight: 30,
      currentStepIndex: 1,
      totalSteps: 3,
      startedAt: '2026-01-01T10:00:00Z',
      releaseVersion: 'v2',
      analysis: { last: { time: '2026-01-01T10:01:00Z', metrics: [], decision: 'Continue', score: 92 } },
    }),
    release('old', {
      phase: 'Failed',
      reason: 'MetricsFailed',
      startedAt: '2026-01-01T09:00:00Z',
      completedAt: '2026-01-01T09:30:00Z',
      releaseVersion: 'v1',
    }),
  ];
  const registry = new Registry();
  registerReleaseMetrics(registry, () => releases, { startedAt: start });
  let text = await registry.metrics();
  assert.match(text, /codedance_release_phase\{namespace="shop",name="cart",phase="Progressing"\} 1/);
  assert.match(text, /codedance_release_weight_percent\{namespace="shop",name="cart"\} 30/);
  assert.match(text, /codedance_release_step\{namespace="shop",name="cart"\} 1/);
  assert.match(text, /codedance_release_analysis_score\{namespace="shop",name="cart"\} 92/);
  assert.doesNotMatch(
    text,
    /codedance_release_rollbacks_total\{/,
    'a rollback from before this process is not counted again',
  );

  releases = [
    release('cart', {
      phase: 'Failed',
      reason: 'PodCrash',
      currentWeight: 0,
      startedAt: '2026-01-01T10:00:00Z',
      completedAt: '2026-01-01T10:02:00Z',
      releaseVersion: 'v2',
    }),
  ];
  text = await registry.metrics();
  text = await registry.metrics();
  assert.match(
    text,
    /codedance_release_rollbacks_total\{namespace="shop",reason="PodCrash"\} 1\n/,
    'counted once over two scrapes',
  );
  assert.match(text, /codedance_release_phase\{namespace="shop",name="cart",phase="Failed"\} 1/);
  assert.doesNotMatch(text, /phase="Progressing"/, 'one phase series per release');
  assert.match(text, /codedance_release_duration_seconds_sum\{phase="Failed"\} 120/);
  assert.match(text, /codedance_release_elapsed_seconds\{namespace="shop",name="cart"\} 120/);
  assert.doesNotMatch(text, /name="old"/, 'a deleted release leaves no gauge');
});
