import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { GroupTurnAnnotation } from '../api/names.ts';
import { failureLimitOf, memberOf, planGroup, type Member, type MemberState } from './plan.ts';

const m = (name: string, state: MemberState, extra: Partial<Member> = {}): Member => ({
  name,
  state,
  paused: false,
  ...extra,
});

function fleet(counts: Partial<Record<MemberState, number>>): Member[] {
  const out: Member[] = [];
  for (const state of ['completed', 'failed', 'running', 'waiting'] as const)
    for (let i = 0; i < (counts[state] ?? 0); i++)
      out.push(m(`${state}-${String(i).padStart(2, '0')}`, state));
  return out;
}

test('turns go to waiting members in name order, up to maxConcurrent running', () => {
  const plan = planGroup({ maxConcurrent: 5 }, fleet({ running: 3, waiting: 10 }));
  assert.deepEqual(plan.start, ['waiting-00', 'waiting-01']);
  assert.equal(plan.phase, 'Progressing');
  assert.deepEqual(plan.counts, { total: 13, waiting: 10, running: 3, paused: 0, completed: 0, failed: 0 });
  assert.deepEqual(planGroup({}, fleet({ waiting: 50 })).start.length, 5, 'default: 5 at once');
  assert.deepEqual(planGroup({ maxConcurrent: 2 }, fleet({ running: 4, waiting: 1 })).start, []);
});

test('the failure limit stops new starts; the running finish; then the group failed', () => {
  const members = fleet({ failed: 3, running: 2, waiting: 5, completed: 4 });
  const first = members.findIndex((x) => x.name === 'failed-00');
  members[first] = { ...m('failed-00', 'failed'), reason: 'MetricsFailed', message: 'rolled back' };
  const halted = planGroup({ maxConcurrent: 5, failureLimit: 3 }, members);
  assert.deepEqual(halted.start, []);
  assert.equal(halted.halted, true);
  assert.equal(halted.phase, 'Progressing');
  assert.equal(halted.reason, 'FailureLimitReached');
  assert.deepEqual(halted.failed[0], { name: 'failed-00', reason: 'MetricsFailed', message: 'rolled back' });
  const ended = planGroup({ failureLimit: 3 }, fleet({ failed: 3, waiting: 5, completed: 6 }));
  assert.equal(ended.phase, 'Failed');
  assert.equal(ended.reason, 'FailureLimitReached');
  // Under the limit, failures do not stop the others.
  assert.equal(planGroup({ failureLimit: 4 }, members).start.length, 3);
});

test('a failure ratio counts against all members; the lower limit wins', () => {
  assert.equal(failureLimitOf({ failureRatio: 0.1 }, 50), 5);
  assert.equal(failureLimitOf({ failureRatio: 0.1, failureLimit: 3 }, 50), 3);
  assert.equal(failureLimitOf({ failureRatio: 0.01 }, 5), 1);
  assert.equal(failureLimitOf({}, 5), undefined);
});

test('completed, failed without limit, paused, aborted, empty', () => {
  assert.equal(planGroup({}, fleet({ completed: 3 })).phase, 'Completed');
  const mixed = planGroup({}, fleet({ completed: 3, failed: 1 }));
  assert.equal(mixed.phase, 'Failed');
  assert.equal(mixed.reason, 'MembersFailed');
  const paused = planGroup({ paused: true }, fleet({ running: 1, waiting: 3 }));
  assert.deepEqual(paused.start, []);
  assert.equal(paused.phase, 'Paused');
  const aborting = planGroup({ aborted: true }, fleet({ running: 2, waiting: 3, completed: 1 }));
  assert.deepEqual(aborting.abort.length, 5);
  assert.equal(aborting.phase, 'Progressing');
  assert.equal(planGroup({ aborted: true }, fleet({ failed: 5, completed: 1 })).phase, 'Failed');
  assert.equal(planGroup({}, []).reason, 'NoMembers');
});

test('a member is judged on the version it carries now', () => {
  const cd = (status: CanaryDeployment['status'], turn?: string): CanaryDeployment => ({
    metadata: { name: 'a', annotations: turn ? { [GroupTurnAnnotation]: turn } : {} },
    spec: { targetDeployment: 'a', canaryVersion: 'a:v2' },
    status,
  });
  assert.equal(memberOf(cd({ phase: 'Completed', releaseVersion: 'a:v2' })).state, 'completed');
  assert.equal(
    memberOf(cd({ phase: 'Failed', releaseVersion: 'a:v2', reason: 'PodCrashLoop' })).reason,
    'PodCrashLoop',
  );
  assert.equal(memberOf(cd({ phase: 'Completed', releaseVersion: 'a:v1' }, 'waiting')).state, 'waiting');
  assert.equal(memberOf(cd({ reason: 'WaitingForGroup' }, 'waiting')).state, 'waiting');
  assert.equal(
    memberOf(cd({ reason: 'WaitingForGroup' }, 'go')).state,
    'running',
    'its turn came: it holds a slot',
  );
  assert.equal(memberOf(cd({ phase: 'Paused', releaseVersion: 'a:v2' }, 'go')).paused, true);
  assert.equal(memberOf(cd(undefined)).state, 'running', 'not a held member: runs as any release');
});
