import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEventRecorder, formatMicroTime, type KubeEvent } from './events.ts';
import { createFakeClient } from './testing/fake-client.ts';
import { fakeClock } from './clock.ts';
import { Event } from './kinds.ts';

test('repeats within the window fold into a series; later ones start a new Event', async () => {
  const client = createFakeClient();
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const recorder = createEventRecorder({ client, controller: 'canary', instance: 'host_abc', clock });
  const obj = {
    apiVersion: 'deploy.codedance.io/v1alpha1',
    kind: 'CanaryDeployment',
    metadata: { name: 'app', namespace: 'ns', uid: 'u1' },
  };
  await recorder.publish(obj, {
    type: 'Warning',
    reason: 'AnalysisFailed',
    note: 'error rate 5%',
    action: 'Analyze',
  });
  await clock.advance(1000);
  await Promise.all([
    recorder.publish(obj, {
      type: 'Warning',
      reason: 'AnalysisFailed',
      note: 'error rate 5%',
      action: 'Analyze',
    }),
    recorder.publish(obj, {
      type: 'Warning',
      reason: 'AnalysisFailed',
      note: 'error rate 5%',
      action: 'Analyze',
    }),
  ]);
  let events = client.objects<KubeEvent>(Event);
  assert.equal(events.length, 1);
  const [event] = events;
  assert.equal(event!.reportingController, 'codedance.io/canary');
  assert.equal(event!.reportingInstance, 'host_abc');
  assert.equal(event!.regarding.kind, 'CanaryDeployment');
  assert.equal(event!.eventTime, '2026-01-01T00:00:00.000000Z');
  assert.deepEqual(event!.series, { count: 3, lastObservedTime: formatMicroTime(clock.now()) });

  await recorder.publish(obj, { type: 'Normal', reason: 'WeightChanged', note: '10%', action: 'SetWeight' });
  await clock.advance(7 * 60_000);
  await recorder.publish(obj, {
    type: 'Warning',
    reason: 'AnalysisFailed',
    note: 'error rate 5%',
    action: 'Analyze',
  });
  events = client.objects<KubeEvent>(Event);
  assert.equal(events.length, 3, 'a different event and a repeat after the window are new objects');
});

test('publishing never throws', async () => {
  const client = createFakeClient();
  client.intercept('create', () => {
    throw new Error('forbidden');
  });
  const recorder = createEventRecorder({ client, controller: 'x', instance: 'i' });
  await recorder.publish({ metadata: { name: 'a', namespace: 'n' } }, { reason: 'Created' });
});
