import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan, planSteps, strategies, validateStrategy, type PlannedStep } from './index.ts';
import { StrategyTypes } from '../api/canary-deployment.ts';

const weights = (steps: PlannedStep[]) => steps.map((s) => s.weight);

test('every strategy type has a planner under its own name', () => {
  for (const type of StrategyTypes) assert.equal(strategies[type].name, type);
});

test('unset strategy is Linear with 1m pauses', () => {
  const steps = planSteps(undefined);
  assert.deepEqual(weights(steps), [5, 10, 25, 50, 75, 100]);
  for (const step of steps)
    assert.deepEqual({ ...step, weight: 0 }, { weight: 0, pauseMs: 60_000, requiresApproval: false });
  assert.deepEqual(planSteps({}), steps);
});

test('Linear and Exponential ladders use stepPause', () => {
  const linear = planSteps({ type: 'Linear', stepPause: '10s' });
  assert.deepEqual(weights(linear), [5, 10, 25, 50, 75, 100]);
  assert.ok(linear.every((s) => s.pauseMs === 10_000 && !s.requiresApproval));
  const exp = planSteps({ type: 'Exponential', stepPause: '0s' });
  assert.deepEqual(weights(exp), [1, 5, 10, 25, 50, 100]);
  assert.ok(exp.every((s) => s.pauseMs === 0 && !s.requiresApproval));
});

test('Manual waits for approval at every step of the Linear ladder', () => {
  const steps = planSteps({ type: 'Manual', stepPause: '10s' });
  assert.deepEqual(weights(steps), [5, 10, 25, 50, 75, 100]);
  assert.ok(steps.every((s) => s.pauseMs === undefined && s.requiresApproval));
});

test('the seed sample: custom steps replace the ladder and keep their pauses', () => {
  const steps = planSteps({
    type: 'Linear',
    steps: [
      { weight: 10, pause: '5m' },
      { weight: 50, pause: '10m' },
      { weight: 100, pause: '0s' },
    ],
  });
  assert.deepEqual(steps, [
    { weight: 10, pauseMs: 300_000, requiresApproval: false },
    { weight: 50, pauseMs: 600_000, requiresApproval: false },
    { weight: 100, pauseMs: 0, requiresApproval: false },
  ]);
});

test('a custom step without pause waits until promoted; stepPause does not apply to it', () => {
  const steps = planSteps({
    type: 'Exponential',
    stepPause: '1s',
    steps: [{ weight: 20 }, { weight: 100, pause: '1s' }],
  });
  assert.deepEqual(steps, [
    { weight: 20, pauseMs: undefined, requiresApproval: true },
    { weight: 100, pauseMs: 1000, requiresApproval: false },
  ]);
});

test('Manual custom steps keep their pause as a minimum hold and still need approval', () => {
  const steps = planSteps({ type: 'Manual', steps: [{ weight: 30, pause: '30s' }, { weight: 100 }] });
  assert.deepEqual(steps, [
    { weight: 30, pauseMs: 30_000, requiresApproval: true },
    { weight: 100, pauseMs: undefined, requiresApproval: true },
  ]);
});

test('an unreadable pause never advances on its own', () => {
  const steps = planSteps({
    steps: [
      { weight: 10, pause: 'soon' },
      { weight: 20, pause: '-1s' },
    ],
  });
  assert.ok(steps.every((s) => s.pauseMs === undefined && s.requiresApproval));
  assert.equal(planSteps({ stepPause: 'bogus' })[0]?.pauseMs, 60_000);
});

test('plan tells canary from blue-green', () => {
  const canary = plan({ type: 'Exponential' });
  assert.equal(canary.kind, 'canary');
  if (canary.kind === 'canary') assert.equal(canary.strategy, 'Exponential');
  assert.deepEqual(plan({ type: 'BlueGreen' }), {
    kind: 'blueGreen',
    previewPauseMs: 30_000,
    autoPromote: true,
    scaleDownDelayMs: 30_000,
  });
  assert.deepEqual(
    plan({ type: 'BlueGreen', blueGreen: { previewPause: '2m', autoPromote: false, scaleDownDelay: '0s' } }),
    {
      kind: 'blueGreen',
      previewPauseMs: 120_000,
      autoPromote: false,
      scaleDownDelayMs: 0,
    },
  );
});

test('planSteps of BlueGreen: the observed preview at 0, then the switch held for the scale-down delay', () => {
  assert.deepEqual(
    planSteps({ type: 'BlueGreen', blueGreen: { previewPause: '1m', scaleDownDelay: '2m' } }),
    [
      { weight: 0, pauseMs: 60_000, requiresApproval: false },
      { weight: 100, pauseMs: 120_000, requiresApproval: false },
    ],
  );
  assert.deepEqual(planSteps({ type: 'BlueGreen', blueGreen: { autoPromote: false } }), [
    { weight: 0, pauseMs: undefined, requiresApproval: true },
    { weight: 100, pauseMs: 30_000, requiresApproval: false },
  ]);
});

test('plans are fresh values: mutating one does not change the next', () => {
  const first = planSteps({ type: 'Linear' });
  first[0]!.weight = 99;
  assert.equal(planSteps({ type: 'Linear' })[0]?.weight, 5);
});

test('validateStrategy reports problems as values', () => {
  assert.deepEqual(validateStrategy(undefined), []);
  assert.deepEqual(
    validateStrategy({
      type: 'Linear',
      steps: [
        { weight: 10, pause: '5m' },
        { weight: 100, pause: '0s' },
      ],
    }),
    [],
  );
  const problems = validateStrategy({
    type: 'BlueGreen',
    stepPause: 'x',
    steps: [{ weight: 101, pause: 'later' }],
    blueGreen: { previewPause: '-1s' },
  });
  assert.deepEqual(
    problems.map((p) => p.field),
    [
      'strategy.stepPause',
      'strategy.blueGreen.previewPause',
      'strategy.steps[0].pause',
      'strategy.steps[0].weight',
      'strategy.steps',
    ],
  );
  assert.deepEqual(
    validateStrategy({ type: 'Linear', blueGreen: {} }).map((p) => p.field),
    ['strategy.blueGreen'],
  );
});
