import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLeaderElector, resolveLeaderElectionTiming, type LeaseObject } from './leader-election.ts';
import { createFakeClient } from './testing/fake-client.ts';
import { fakeClock } from './clock.ts';
import { Lease } from './kinds.ts';

function candidate(
  client: ReturnType<typeof createFakeClient>,
  clock: ReturnType<typeof fakeClock>,
  identity: string,
) {
  const state = { leading: false, lost: false };
  const elector = createLeaderElector({
    client,
    clock,
    namespace: 'ns',
    name: 'lease',
    identity,
    onStartedLeading: () => (state.leading = true),
    onStoppedLeading: () => (state.lost = true),
  });
  return { elector, state };
}

const holder = (client: ReturnType<typeof createFakeClient>) =>
  client.objects<LeaseObject>(Lease)[0]?.spec?.holderIdentity;

test('one leader; a standby takes over only after the lease expires on its own clock', async () => {
  const client = createFakeClient();
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const a = candidate(client, clock, 'a');
  const b = candidate(client, clock, 'b');
  const stopA = new AbortController();
  const stopB = new AbortController();
  void a.elector.run(stopA.signal);
  await clock.advance(10);
  void b.elector.run(stopB.signal);
  await clock.advance(5000);
  assert.equal(a.state.leading, true);
  assert.equal(b.state.leading, false);
  assert.equal(holder(client), 'a');
  // a dies without a word (kill -9): its renewals stop.
  stopA.abort();
  await clock.advance(12_000);
  assert.equal(b.state.leading, false, 'not before the lease duration has passed');
  await clock.advance(6_000);
  assert.equal(b.state.leading, true);
  assert.equal(holder(client), 'b');
  assert.equal(client.objects<LeaseObject>(Lease)[0]!.spec!.leaseTransitions, 1);
  stopB.abort();
});

test('release hands over at once', async () => {
  const client = createFakeClient();
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const a = candidate(client, clock, 'a');
  const b = candidate(client, clock, 'b');
  const stop = new AbortController();
  void a.elector.run(stop.signal);
  await clock.advance(10);
  void b.elector.run(stop.signal);
  await clock.advance(3000);
  await a.elector.release();
  assert.equal(holder(client), null);
  assert.equal(client.objects<LeaseObject>(Lease)[0]!.spec!.leaseDurationSeconds, 1);
  await clock.advance(2500);
  assert.equal(b.state.leading, true);
  assert.equal(a.state.lost, false, 'releasing is not losing');
  stop.abort();
});

test('a leader that cannot renew within the deadline loses the lease', async () => {
  const client = createFakeClient();
  const clock = fakeClock(Date.parse('2026-01-01T00:00:00Z'));
  const a = candidate(client, clock, 'a');
  const stop = new AbortController();
  void a.elector.run(stop.signal);
  await clock.advance(100);
  assert.equal(a.state.leading, true);
  client.intercept('get', () => {
    throw new Error('apiserver unreachable');
  });
  await clock.advance(9_000);
  assert.equal(a.state.lost, false);
  await clock.advance(6_000);
  assert.equal(a.state.lost, true);
  stop.abort();
});

test('timing defaults and checks', () => {
  assert.deepEqual(resolveLeaderElectionTiming({}), {
    leaseDurationMs: 15000,
    renewDeadlineMs: 10000,
    retryPeriodMs: 2000,
    apiTimeoutMs: 5000,
  });
  assert.throws(
    () => resolveLeaderElectionTiming({ leaseDurationMs: 5000 }),
    /leaseDuration > renewDeadline/,
  );
});
