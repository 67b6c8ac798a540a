import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CanaryDeployment,
  CanaryDeploymentSpec,
  CanaryDeploymentStatus,
} from '../api/canary-deployment.ts';
import type { GateResult } from '../api/experiments.ts';
import { callGate, GATE_HEADER, resolveGate } from '../notify/gate.ts';
import { startReceiver } from '../notify/receiver.test-support.ts';
import { SIGNATURE_HEADER, webhookSignature } from '../notify/webhook.ts';
import { withGates } from './analysis.ts';
import { gatePayload } from './gates.ts';
import { transition, type Observations } from './phases.ts';
import { releaseSettings } from './settings.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const base: CanaryDeploymentSpec = {
  targetDeployment: 'app',
  canaryVersion: 'app:v2',
  strategy: { steps: [{ weight: 20, pause: '1s' }] },
  traffic: { provider: 'Istio', istio: { virtualService: 'app' } },
  analysis: { interval: '2s', failureThreshold: 2 },
};

function settings(webhooks: CanaryDeploymentSpec['webhooks']) {
  const result = releaseSettings({ ...base, webhooks });
  assert.ok(result.ok);
  return result.settings;
}

function obs(now: number, extra: Partial<Observations> = {}): Observations {
  return {
    now,
    generation: 1,
    stable: { image: 'app:v1', rolledOut: true, replicas: 2 },
    canary: { image: 'app:v2', ready: true },
    pods: { healthy: true },
    ...extra,
  };
}

const answer = (type: 'PreRollout' | 'ConfirmPromotion', passed: boolean): Observations['gate'] => ({
  type,
  results: [
    {
      name: 'g',
      type,
      passed,
      time: new Date(T0).toISOString(),
      message: passed ? 'HTTP 200' : 'HTTP 500: down',
    },
  ],
});

test('pre-rollout gates hold the first weight until they pass', () => {
  const s = settings([{ name: 'g', type: 'PreRollout', url: 'https://example.com/g' }]);
  let status = transition(s, undefined, obs(T0, { canary: undefined })).status;
  let tr = transition(s, status, obs(T0));
  assert.equal(tr.status.phase, 'Initializing');
  assert.equal(tr.status.gates?.awaiting, 'PreRollout');
  assert.equal(tr.status.gates?.state, 'Waiting');
  assert.ok(!tr.effects.some((e) => e.type === 'setWeight'), 'no weight before the gate');
  status = tr.status;
  tr = transition(s, status, obs(T0 + 100, { gate: answer('PreRollout', true) }));
  assert.equal(tr.status.phase, 'Progressing');
  assert.equal(tr.status.gates?.preRolloutPassed, true);
  assert.ok(tr.effects.some((e) => e.type === 'setWeight' && e.weight === 20));
});

test('pre-rollout failures count like failed analyses and roll back at the threshold', () => {
  const s = settings([{ name: 'g', type: 'PreRollout', url: 'https://example.com/g' }]);
  let status: CanaryDeploymentStatus = transition(
    s,
    transition(s, undefined, obs(T0, { canary: undefined })).status,
    obs(T0),
  ).status;
  let tr = transition(s, status, obs(T0 + 100, { gate: answer('PreRollout', false) }));
  assert.equal(tr.status.phase, 'Initializing');
  assert.equal(tr.status.gates?.failures, 1);
  assert.equal(tr.status.gates?.nextAt, new Date(T0 + 2_100).toISOString(), 'asked again an interval later');
  assert.ok(tr.effects.some((e) => e.type === 'event' && e.reason === 'GateFailed'));
  status = tr.status;
  tr = transition(s, status, obs(T0 + 2_200, { gate: answer('PreRollout', false) }));
  assert.equal(tr.status.phase, 'Failed');
  assert.equal(tr.status.reason, 'PreRolloutGateFailed');
  assert.match(tr.status.message ?? '', /g: HTTP 500: down/);
  assert.equal(tr.effects[0]?.type, 'resetTraffic');
});

test('with the Replicas provider, pre-rollout gates keep the canary at no replicas', () => {
  const result = releaseSettings({
    ...base,
    traffic: {},
    webhooks: [{ name: 'g', type: 'PreRollout', url: 'https://example.com/g' }],
  });
  assert.ok(result.ok);
  const tr = transition(result.settings, undefined, obs(T0, { canary: undefined }));
  assert.equal(tr.status.phase, 'Initializing');
  assert.deepEqual(tr.effects[0], { type: 'ensureCanary', image: 'app:v2' });
});

test('promotion waits for the confirm-promotion gate, with one Event, and goes on its yes', () => {
  const s = settings([{ name: 'g', type: 'ConfirmPromotion', url: 'https://example.com/g' }]);
  let status = transition(s, transition(s, undefined, obs(T0, { canary: undefined })).status, obs(T0)).status;
  let tr = transition(s, status, obs(T0 + 1_000));
  assert.equal(tr.status.reason, 'WaitingForConfirmation');
  assert.equal(tr.status.gates?.state, 'Waiting');
  assert.equal(tr.status.currentStepIndex, 0);
  assert.ok(tr.effects.some((e) => e.type === 'event' && e.reason === 'WaitingForConfirmation'));
  status = tr.status;
  tr = transition(s, status, obs(T0 + 1_100, { gate: answer('ConfirmPromotion', false) }));
  assert.equal(tr.status.reason, 'WaitingForConfirmation');
  assert.ok(!tr.effects.some((e) => e.type === 'event'), 'a no while waiting is no new Event');
  status = tr.status;
  tr = transition(s, status, obs(T0 + 3_200, { gate: answer('ConfirmPromotion', true) }));
  assert.equal(tr.status.reason, 'Promoting');
  assert.ok(tr.effects.some((e) => e.type === 'event' && e.reason === 'PromotionConfirmed'));
});

test('a failing rollout gate fails the analysis round, named in its run', () => {
  const round = withGates(
    {
      outcome: 'healthy',
      run: {
        time: 'x',
        metrics: [{ name: 'successRate', value: 100, passed: true }],
        decision: 'Continue',
        score: 100,
      },
      problems: [],
      queries: {},
    },
    [
      { name: 'load-test', type: 'Rollout', passed: false, time: 'x', message: 'timed out after 100ms' },
    ] satisfies GateResult[],
  );
  assert.equal(round.outcome, 'failed');
  assert.equal(round.run.decision, 'Rollback');
  assert.equal(round.run.metrics[0]?.name, 'webhook/load-test');
  assert.match(round.run.message ?? '', /rollout gate failed: load-test: timed out/);
});

test('a gate call is signed like the Webhook notification, retried on 5xx, a firm no on 4xx', async (t) => {
  let calls = 0;
  const receiver = await startReceiver(() =>
    ++calls < 2 ? { status: 503, body: 'busy' } : { status: 200, body: 'go' },
  );
  t.after(() => receiver.close());
  const cd: CanaryDeployment = {
    metadata: { name: 'app', namespace: 'shop' },
    spec: base,
    status: { phase: 'Progressing', currentStepIndex: 0, totalSteps: 1, currentWeight: 20 },
  };
  const gate = {
    name: 'smoke',
    type: 'PreRollout' as const,
    url: `${receiver.url}/gate`,
    metadata: { suite: 'smoke' },
  };
  const resolved = await resolveGate({ get: async () => undefined }, 'shop', gate, { allowInternal: true });
  assert.ok('call' in resolved);
  const payload = gatePayload(cd, gate, new Date(T0));
  const result = await callGate({ ...resolved.call, secret: 'k' }, payload);
  assert.deepEqual(result, { passed: true, attempts: 2, message: 'HTTP 200: go' });
  const last = receiver.requests.at(-1);
  assert.equal(last?.headers[GATE_HEADER], 'PreRollout');
  assert.equal(last?.headers[SIGNATURE_HEADER], webhookSignature(last?.body ?? '', 'k'));
  assert.deepEqual(JSON.parse(last?.body ?? '{}'), {
    type: 'PreRollout',
    name: 'smoke',
    release: { namespace: 'shop', name: 'app' },
    version: 'app:v2',
    phase: 'Progressing',
    step: 1,
    totalSteps: 1,
    weight: 20,
    metadata: { suite: 'smoke' },
    time: new Date(T0).toISOString(),
  });

  const no = await startReceiver(() => ({ status: 403, body: 'not yet' }));
  t.after(() => no.close());
  const refused = await callGate({ url: no.url, timeoutMs: 1000, retries: 3 }, payload);
  assert.deepEqual(refused, { passed: false, attempts: 1, message: 'HTTP 403: not yet' });
});

test('the notification URL policy applies to gates', async () => {
  const refused = await resolveGate({ get: async () => undefined }, 'shop', {
    name: 'g',
    type: 'Rollout',
    url: 'http://127.0.0.1:9/x',
  });
  assert.ok('error' in refused);
  assert.match(refused.error, /webhook gate URLs to cluster-internal addresses are refused/);
});
