/**
 * Step planning: from a `spec.strategy` to a {@link Plan}, as a pure function.
 *
 * The registry maps each `StrategyType` to its planner; adding a strategy is one
 * file and one line here. Everything is plain data in, plain data out: no clock,
 * no I/O, so the reconciler can re-plan on every reconcile and get the same answer.
 */
import type { StrategySpec, StrategyType } from '../api/canary-deployment.ts';
import { blueGreen } from './blue-green.ts';
import { parseDuration } from './duration.ts';
import { experiment } from './experiment.ts';
import { exponential } from './exponential.ts';
import { linear } from './linear.ts';
import { manual } from './manual.ts';
import type { Plan, PlannedStep, Strategy } from './plan.ts';

export type { Plan, PlannedStep, Strategy } from './plan.ts';
export { DEFAULT_STEP_PAUSE } from './plan.ts';
export { parseDuration, durationOr, formatDuration } from './duration.ts';
export { LINEAR, LINEAR_WEIGHTS } from './linear.ts';
export { EXPONENTIAL, EXPONENTIAL_WEIGHTS } from './exponential.ts';
export { MANUAL } from './manual.ts';
export { BLUE_GREEN, BLUE_GREEN_DEFAULTS } from './blue-green.ts';
export { EXPERIMENT, experimentStep } from './experiment.ts';

/** Every strategy, by the name users write in `spec.strategy.type`. */
export const strategies: Readonly<Record<StrategyType, Strategy>> = {
  Linear: linear(),
  Exponential: exponential(),
  Manual: manual(),
  BlueGreen: blueGreen(),
  Experiment: experiment(),
};

/** Strategy used when `spec.strategy` or its `type` is unset. Mirrors the API default. */
export const DEFAULT_STRATEGY: StrategyType = 'Linear';

/** The plan of `strategy` (@default Linear with a 1m pause per step when unset). */
export function plan(strategy: StrategySpec | undefined): Plan {
  const spec = strategy ?? {};
  return strategies[spec.type ?? DEFAULT_STRATEGY].plan(spec);
}

/**
 * The steps of `strategy` as one ladder, for BlueGreen too, so the controller and
 * every view of a release walk the same rungs.
 *
 * BlueGreen becomes two rungs: weight 0 while the preview is observed (its pause, or
 * an approval when `autoPromote` is false), then weight 100 (the switch) held for the
 * scale-down delay before the old version goes. Callers that need BlueGreen's own
 * fields use {@link plan}.
 */
export function planSteps(strategy: StrategySpec | undefined): PlannedStep[] {
  const p = plan(strategy);
  if (p.kind === 'canary') return p.steps;
  return [
    { weight: 0, pauseMs: p.autoPromote ? p.previewPauseMs : undefined, requiresApproval: !p.autoPromote },
    { weight: 100, pauseMs: p.scaleDownDelayMs, requiresApproval: false },
  ];
}

/** A problem in a strategy spec the API schema cannot catch, with the field it is in. */
export interface StrategyProblem {
  field: string;
  message: string;
}

/**
 * What is wrong with `strategy`, as values (empty when it is fine). The reconciler
 * reports these as a condition and an Event; {@link plan} still returns a safe plan
 * (an unreadable pause waits for approval).
 */
export function validateStrategy(strategy: StrategySpec | undefined): StrategyProblem[] {
  const problems: StrategyProblem[] = [];
  const spec = strategy ?? {};
  const durations: [string, string | undefined][] = [
    ['strategy.stepPause', spec.stepPause],
    ['strategy.blueGreen.previewPause', spec.blueGreen?.previewPause],
    ['strategy.blueGreen.scaleDownDelay', spec.blueGreen?.scaleDownDelay],
    ...(spec.steps ?? []).map((step, i): [string, string | undefined] => [
      `strategy.steps[${i}].pause`,
      step.pause,
    ]),
    ['strategy.experiment.duration', spec.experiment?.duration],
  ];
  for (const [field, text] of durations) {
    if (text === undefined) continue;
    const ms = parseDuration(text);
    if (ms === undefined || ms < 0)
      problems.push({ field, message: `${JSON.stringify(text)} is not a duration (e.g. 30s, 5m, 1h30m)` });
  }
  (spec.steps ?? []).forEach((step, i) => {
    if (!Number.isInteger(step.weight) || step.weight < 0 || step.weight > 100) {
      problems.push({
        field: `strategy.steps[${i}].weight`,
        message: `${step.weight} is not a whole percentage from 0 to 100`,
      });
    }
  });
  if (spec.type === 'BlueGreen' && spec.steps && spec.steps.length > 0) {
    problems.push({
      field: 'strategy.steps',
      message: 'BlueGreen switches all traffic at once; steps apply only to Linear, Exponential and Manual',
    });
  }
  if (spec.type === 'Experiment' && !spec.experiment) {
    problems.push({
      field: 'strategy.experiment',
      message: 'required when strategy.type is Experiment (e.g. {weight: 10, duration: 30m})',
    });
  }
  if (spec.type === 'Experiment' && spec.steps && spec.steps.length > 0) {
    problems.push({
      field: 'strategy.steps',
      message:
        'an Experiment holds one split (strategy.experiment.weight); steps apply only to Linear, Exponential and Manual',
    });
  }
  if (spec.blueGreen && spec.type !== undefined && spec.type !== 'BlueGreen') {
    problems.push({
      field: 'strategy.blueGreen',
      message: `applies only to strategy.type BlueGreen, not ${spec.type}`,
    });
  }
  return problems;
}
