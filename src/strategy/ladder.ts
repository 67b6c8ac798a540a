/**
 * Turning a preset ladder or the user's custom steps into planned steps: the part
 * Linear, Exponential and Manual share.
 */
import type { Step, StrategySpec } from '../api/canary-deployment.ts';
import { durationOr, parseDuration } from './duration.ts';
import { DEFAULT_STEP_PAUSE, type PlannedStep } from './plan.ts';

/**
 * The steps of a ladder strategy.
 *
 * Custom `spec.steps` replace `ladder`; each keeps its own pause (none: wait for
 * approval; `0s`: no wait). Preset rungs all pause `spec.stepPause` (@default 1m).
 * With `approval`, every step waits for an approval (Manual).
 *
 * An unparseable pause (the API schema rejects them, so only a hand-made object can
 * carry one) becomes a wait for approval: a garbled timer must never advance a
 * release on its own. {@link validateStrategy} reports it as a value.
 */
export function ladderSteps(spec: StrategySpec, ladder: readonly number[], approval: boolean): PlannedStep[] {
  if (spec.steps && spec.steps.length > 0) return spec.steps.map((step) => customStep(step, approval));
  const pauseMs = approval ? undefined : durationOr(spec.stepPause, DEFAULT_STEP_PAUSE);
  return ladder.map((weight) => ({ weight, pauseMs, requiresApproval: approval }));
}

function customStep(step: Step, approval: boolean): PlannedStep {
  const parsed = step.pause === undefined ? undefined : parseDuration(step.pause);
  const pauseMs = parsed !== undefined && parsed >= 0 ? parsed : undefined;
  return {
    weight: step.weight,
    pauseMs,
    requiresApproval: approval || pauseMs === undefined,
    ...(step.match ? { match: structuredClone(step.match) } : {}),
    ...(step.mirror ? { mirror: step.mirror } : {}),
  };
}
