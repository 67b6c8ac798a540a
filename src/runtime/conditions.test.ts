import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  setCondition,
  mergeConditions,
  getCondition,
  isConditionTrue,
  formatTime,
  removeCondition,
} from './conditions.ts';

const t1 = new Date('2026-01-01T00:00:00.500Z');
const t2 = new Date('2026-01-01T00:05:00Z');

test('lastTransitionTime changes only when the status changes', () => {
  let list = setCondition(
    undefined,
    { type: 'Ready', status: 'False', reason: 'Starting', observedGeneration: 1 },
    t1,
  );
  assert.deepEqual(list, [
    {
      type: 'Ready',
      status: 'False',
      reason: 'Starting',
      lastTransitionTime: '2026-01-01T00:00:00Z',
      observedGeneration: 1,
    },
  ]);
  list = setCondition(
    list,
    { type: 'Ready', status: 'False', reason: 'StillStarting', message: 'm', observedGeneration: 2 },
    t2,
  );
  assert.equal(list[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(list[0]!.reason, 'StillStarting');
  assert.equal(list[0]!.observedGeneration, 2);
  list = setCondition(list, { type: 'Ready', status: 'True', reason: 'Running' }, t2);
  assert.equal(list[0]!.lastTransitionTime, '2026-01-01T00:05:00Z');
  assert.equal(list[0]!.message, undefined, 'a condition is replaced, not merged');
  assert.ok(isConditionTrue(list, 'Ready'));
});

test('several conditions keep their order; the input is not changed', () => {
  const before = Object.freeze([{ type: 'A', status: 'True' as const, lastTransitionTime: 'x' }]);
  const list = mergeConditions(
    before,
    [
      { type: 'B', status: 'False' },
      { type: 'A', status: 'True', reason: 'Same' },
    ],
    t1,
  );
  assert.deepEqual(
    list.map((c) => c.type),
    ['A', 'B'],
  );
  assert.equal(getCondition(list, 'A')!.lastTransitionTime, 'x');
  assert.equal(before[0]!.lastTransitionTime, 'x');
  assert.deepEqual(
    removeCondition(list, 'A').map((c) => c.type),
    ['B'],
  );
  assert.equal(formatTime(t1), '2026-01-01T00:00:00Z');
});
