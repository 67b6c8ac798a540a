/**
 * Manual: the Linear ladder (or custom steps), every step waiting for an approval.
 * A custom step's pause still holds the step at least that long before the
 * approval counts, so an operator cannot skip the observation time.
 */
import type { StrategySpec } from '../api/canary-deployment.ts';
import { ladderSteps } from './ladder.ts';
import { LINEAR_WEIGHTS } from './linear.ts';
import type { Plan, Strategy } from './plan.ts';

export const MANUAL = 'Manual' as const;

export function manual(): Strategy {
  return {
    name: MANUAL,
    plan: (spec: StrategySpec): Plan => ({
      kind: 'canary',
      strategy: MANUAL,
      steps: ladderSteps(spec, LINEAR_WEIGHTS, true),
    }),
  };
}
