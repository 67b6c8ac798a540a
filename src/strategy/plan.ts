/**
 * The shapes every strategy produces: plain data the reconciler walks through.
 *
 * A plan says *what* the release does, never *when* it happened; the reconciler keeps
 * its position (step index, pause deadline) in status, so a restarted controller reads
 * the same plan again and continues.
 */
import type { StrategySpec, StrategyType } from '../api/canary-deployment.ts';
import type { RequestMatch } from '../api/routing.ts';

/** One rung of a canary ladder. */
export interface PlannedStep {
  /** Share of traffic, in percent (0-100), the canary gets at this step. */
  weight: number;
  /**
   * How long to hold the step, in milliseconds, before it may advance.
   * `undefined`: no timer; the step waits for an approval (`codedance promote`).
   * `0`: advance as soon as the weight is set (and analysis, if any, allows it).
   */
  pauseMs: number | undefined;
  /**
   * The step advances only after an approval. When `pauseMs` is also set, the
   * step holds at least that long *and* then waits for the approval (a Manual
   * strategy with custom steps that carry a pause).
   */
  requiresApproval: boolean;
  /** Requests that go to the canary whatever the weight (`steps[].match`); needs a provider that routes by request. */
  match?: RequestMatch[] | undefined;
  /** Percent of live traffic mirrored to the canary (`steps[].mirror`), answers discarded. */
  mirror?: number | undefined;
}

/**
 * What a release does, by strategy family.
 * - `canary`: move the weight through `steps` in order; after the last step the
 *   release is promoted (the stable Deployment takes the new version).
 * - `blueGreen`: bring the new version up behind the preview Service, observe it for
 *   `previewPauseMs`, switch all traffic at once (on its own when `autoPromote`,
 *   else on approval), and scale the old version down `scaleDownDelayMs` later.
 */
export type Plan =
  | { kind: 'canary'; strategy: Exclude<StrategyType, 'BlueGreen'>; steps: PlannedStep[] }
  | { kind: 'blueGreen'; previewPauseMs: number; autoPromote: boolean; scaleDownDelayMs: number };

/** A strategy: a name and a pure planner over the spec. Adding one is a file plus a registry line. */
export interface Strategy {
  readonly name: StrategyType;
  plan(spec: StrategySpec): Plan;
}

/** Default pause of each preset step. Mirrors the API default of `strategy.stepPause`. */
export const DEFAULT_STEP_PAUSE = '1m';
