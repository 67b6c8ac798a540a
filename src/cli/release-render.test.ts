import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { age, renderList, renderStatus } from './release-render.ts';
import { refusal } from '../canary/commands.ts';

const now = Date.parse('2026-01-01T01:00:00Z');

function cd(status: CanaryDeployment['status'], paused = false): CanaryDeployment {
  return {
    metadata: { name: 'myapp', namespace: 'prod', creationTimestamp: '2026-01-01T00:55:00Z' },
    spec: {
      targetDeployment: 'myapp',
      canaryVersion: 'myapp:v2',
      paused,
      strategy: {
        type: 'Linear',
        steps: [
          { weight: 10, pause: '5m' },
          { weight: 50, pause: '10m' },
          { weight: 100, pause: '0s' },
        ],
      },
    },
    status,
  };
}

test('get shows phase, step, weight and age', () => {
  const out = renderList([cd({ phase: 'Progressing', stepLabel: '2/3', currentWeight: 50 })], now, false);
  const [header, row] = out.split('\n');
  assert.match(header ?? '', /^NAME\s+PHASE\s+STEP\s+WEIGHT\s+STRATEGY\s+VERSION\s+AGE$/);
  assert.match(row ?? '', /^myapp\s+Progressing\s+2\/3\s+50%\s+Linear\s+myapp:v2\s+5m$/);
  assert.match(renderList([cd(undefined)], now, true).split('\n')[1] ?? '', /^prod\s+myapp\s+Pending/);
  assert.equal(age('2026-01-01T00:00:00Z', now), '60m');
});

test('status draws the ladder with the live weight on the current step', () => {
  const out = renderStatus(
    cd({
      phase: 'Progressing',
      currentStepIndex: 1,
      totalSteps: 3,
      stepLabel: '2/3',
      currentWeight: 50,
      pauseUntil: '2026-01-01T01:04:00Z',
      stableRevision: 'myapp:v1',
    }),
    now,
  );
  assert.match(out, /✓ {2}1 {3}10% {2}pause 5m/);
  assert.match(out, /▶ {2}2 {3}50% {2}pause 10m {2}← 50% live, 4m left/);
  assert.match(out, / {3}3 {2}100% {2}pause 0s/);
  assert.match(out, /stable myapp:v1/);
});

test('wrong states are refused with a reason', () => {
  assert.match(refusal('promote', cd({ phase: 'Completed' }), false) ?? '', /Completed: nothing to promote/);
  assert.match(refusal('retry', cd({ phase: 'Progressing' }), false) ?? '', /only a Failed release/);
  assert.match(refusal('resume', cd({ phase: 'Progressing' }), false) ?? '', /not paused/);
  assert.equal(refusal('resume', cd({ phase: 'Progressing' }, true), false), undefined);
  assert.equal(refusal('abort', cd({ phase: 'Paused' }), false), undefined);
  assert.equal(refusal('retry', cd({ phase: 'Failed' }), false), undefined);
});

test('status shows the cost running up to now for an active release', () => {
  const out = renderStatus(
    cd({
      phase: 'Progressing',
      currentStepIndex: 0,
      currentWeight: 10,
      startedAt: '2026-01-01T00:30:00Z',
      stableReplicas: 10,
      traffic: { provider: 'Replicas', service: 'myapp' },
      history: [
        { time: '2026-01-01T00:30:00Z', event: 'Started', weight: 0, step: 0 },
        { time: '2026-01-01T00:30:00Z', event: 'StepReached', weight: 10, step: 0 },
      ],
      // Stored at the last entry; the view counts on to now (30 minutes at 1 canary pod).
      cost: {
        asOf: '2026-01-01T00:30:00Z',
        seconds: 0,
        canaryPodSeconds: 0,
        extraPodSeconds: 0,
        cpuCoreSeconds: 0,
        memoryGiBSeconds: 0,
        canaryTrafficPercent: 0,
        podRequests: { cpuCores: 2, memoryGiB: 4 },
        steps: [],
      },
    }),
    now,
  );
  assert.match(
    out,
    /cost: canary 0.5 pod-h \(extra 0 pod-h\), requested 1 CPU core-h and 2 GiB-h, canary served 10% of traffic over 30m of release time/,
  );
});
