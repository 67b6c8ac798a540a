/** Exponential: start tiny and grow fast, 1 → 5 → 10 → 25 → 50 → 100. */
import type { StrategySpec } from '../api/canary-deployment.ts';
import { ladderSteps } from './ladder.ts';
import type { Plan, Strategy } from './plan.ts';

export const EXPONENTIAL = 'Exponential' as const;

/** The preset ladder, in percent. */
export const EXPONENTIAL_WEIGHTS: readonly number[] = [1, 5, 10, 25, 50, 100];

export function exponential(): Strategy {
  return {
    name: EXPONENTIAL,
    plan: (spec: StrategySpec): Plan => ({
      kind: 'canary',
      strategy: EXPONENTIAL,
      steps: ladderSteps(spec, EXPONENTIAL_WEIGHTS, false),
    }),
  };
}
