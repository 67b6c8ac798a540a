/** Linear: the canary's share grows in even-ish rungs, 5 → 10 → 25 → 50 → 75 → 100. */
import type { StrategySpec } from '../api/canary-deployment.ts';
import { ladderSteps } from './ladder.ts';
import type { Plan, Strategy } from './plan.ts';

export const LINEAR = 'Linear' as const;

/** The preset ladder, in percent. */
export const LINEAR_WEIGHTS: readonly number[] = [5, 10, 25, 50, 75, 100];

export function linear(): Strategy {
  return {
    name: LINEAR,
    plan: (spec: StrategySpec): Plan => ({
      kind: 'canary',
      strategy: LINEAR,
      steps: ladderSteps(spec, LINEAR_WEIGHTS, false),
    }),
  };
}
