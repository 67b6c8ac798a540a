/**
 * Experiment: one split held for a duration, then judged (seed 003, scenario 4: 10% of
 * the traffic on a new recommendation model, business metrics compared, then promoted
 * or rolled back).
 *
 * The plan is a single step: `experiment.weight` held for `experiment.duration`. What
 * makes it an experiment is how the end of that step is judged (src/canary/experiment.ts):
 * the analysis that runs at or after the deadline looks back over the whole duration and
 * its result decides at once: healthy promotes, failed or degraded rolls back, no data
 * pauses for a person. Analyses before the deadline still guard the canary (a breach
 * rolls back early, like any step).
 *
 * A request match (issue 14.1) set beside the weight is carried into the step as it is.
 */
import type { StrategySpec } from '../api/canary-deployment.ts';
import { parseDuration } from './duration.ts';
import type { Plan, PlannedStep, Strategy } from './plan.ts';

export const EXPERIMENT = 'Experiment' as const;

/** The experiment's one step, or none when the spec lacks `experiment` (the schema requires it). */
export function experimentStep(spec: StrategySpec): PlannedStep | undefined {
  const experiment = spec.experiment;
  if (!experiment) return undefined;
  const ms = parseDuration(experiment.duration);
  // An unreadable duration waits for a person (validateStrategy reports it).
  return {
    ...experiment,
    weight: experiment.weight,
    pauseMs: ms === undefined || ms < 0 ? undefined : ms,
    requiresApproval: false,
  };
}

export function experiment(): Strategy {
  return {
    name: EXPERIMENT,
    plan: (spec: StrategySpec): Plan => {
      const step = experimentStep(spec);
      // Without its block (a CRD older than the rule) nothing is released unjudged: one step that waits for approval.
      return {
        kind: 'canary',
        strategy: EXPERIMENT,
        steps: step ? [toPlanned(step)] : [{ weight: 0, pauseMs: undefined, requiresApproval: true }],
      };
    },
  };
}

/** Only the planned fields (the `duration` text stays in the spec). */
function toPlanned(step: PlannedStep & { duration?: string }): PlannedStep {
  const { duration: _duration, ...planned } = step;
  return planned;
}
