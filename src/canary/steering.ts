/**
 * Steering: which command a person may give a release in which state, and why not.
 *
 * One table ({@link STEERING}) read by all three places that steer: the controller
 * (`./transitions.ts`: a command the table refuses is marked handled and answered with a
 * `CommandIgnored` Warning Event), the CLI (`codedance promote | pause | resume | abort |
 * retry`, which refuses before writing) and the dashboard (which shows only the buttons
 * the table allows). The three therefore agree, word for word.
 *
 * The predicates a release's status is judged by (finished, active, promoting, stepping)
 * are defined here once too.
 */
import type { CanaryDeploymentStatus, Command, Phase } from '../api/canary-deployment.ts';

/** Completed or Failed: nothing left to do but cleanup. */
export function isFinished(phase: Phase | undefined): phase is 'Completed' | 'Failed' {
  return phase === 'Completed' || phase === 'Failed';
}

/** Initializing, Progressing or Paused: a release under way. */
export function isActive(phase: Phase | undefined): phase is 'Initializing' | 'Progressing' | 'Paused' {
  return phase === 'Initializing' || phase === 'Progressing' || phase === 'Paused';
}

/**
 * Past the last step (`currentStepIndex === totalSteps`): the stable Deployment takes the
 * new version, so there is nothing left to roll back to. `total` defaults to
 * `status.totalSteps` (the controller passes the steps it plans).
 */
export function isPromoting(status: CanaryDeploymentStatus | undefined, total = status?.totalSteps): boolean {
  if (!status || total === undefined || (status.phase !== 'Progressing' && status.phase !== 'Paused'))
    return false;
  return (status.currentStepIndex ?? 0) >= total;
}

/** On one of the steps (Progressing or Paused, not yet promoting). */
export function isStepping(status: CanaryDeploymentStatus | undefined, total = status?.totalSteps): boolean {
  if (!status || (status.phase !== 'Progressing' && status.phase !== 'Paused')) return false;
  return total === undefined || (status.currentStepIndex ?? 0) < total;
}

/** The states steering tells apart. */
export type ReleaseState =
  | 'NotStarted'
  | 'Initializing'
  | 'Stepping'
  | 'Paused'
  | 'Promoting'
  | 'Completed'
  | 'Failed';

/**
 * The state of a release for steering. `specPaused` (spec.paused) counts a release that
 * has not reached its promotion as Paused, before the controller has paused it (it holds
 * at the first step): `resume` is what clears it.
 */
export function releaseState(
  status: CanaryDeploymentStatus | undefined,
  specPaused = false,
  total = status?.totalSteps,
): ReleaseState {
  const phase = status?.phase;
  if (isFinished(phase)) return phase;
  if (isPromoting(status, total)) return 'Promoting';
  if (phase === 'Paused' || specPaused) return 'Paused';
  if (phase === undefined) return 'NotStarted';
  return phase === 'Initializing' ? 'Initializing' : 'Stepping';
}

/** What a person can ask of a release: the controller's commands, and pause (spec.paused). */
export type SteeringVerb = Command | 'pause';

const NOT_STARTED = 'has not started yet';
const ONLY_FAILED = 'only a Failed release can be retried';
const PROMOTING_NO_ROLLBACK =
  'is being promoted: the stable Deployment already takes the new version; there is nothing to roll back to';

/**
 * The steering table: per command and state, `true` (allowed) or why not, worded to
 * follow "release X ..." (the CLI, the dashboard) and "the release ..." (the controller's
 * CommandIgnored Event).
 */
export const STEERING: Readonly<Record<SteeringVerb, Readonly<Record<ReleaseState, true | string>>>> = {
  //              NotStarted    Initializing  Stepping  Paused  Promoting  Completed  Failed
  promote: {
    NotStarted: true, // approves step 1 in advance
    Initializing: true, // approves step 1 in advance
    Stepping: true,
    Paused: true,
    Promoting: 'is already being promoted',
    Completed: 'is Completed: nothing to promote',
    Failed: 'is Failed: nothing to promote (codedance retry starts it again)',
  },
  'promote-full': {
    NotStarted: true,
    Initializing: true,
    Stepping: true,
    Paused: true,
    Promoting: 'is already being promoted',
    Completed: 'is Completed: nothing to promote',
    Failed: 'is Failed: nothing to promote (codedance retry starts it again)',
  },
  pause: {
    NotStarted: true, // spec.paused holds the release at its first step
    Initializing: true,
    Stepping: true,
    Paused: true, // a pause of the analysis becomes the person's
    Promoting: 'is being promoted: there is no step left to hold',
    Completed: 'is Completed: nothing to pause',
    Failed: 'is Failed: nothing to pause',
  },
  resume: {
    NotStarted: 'is not paused',
    Initializing: 'is not paused',
    Stepping: 'is not paused',
    Paused: true,
    Promoting: 'is not paused',
    Completed: 'is Completed: nothing to resume',
    Failed: 'is Failed: nothing to resume',
  },
  abort: {
    NotStarted: true, // Failed before anything is written
    Initializing: true,
    Stepping: true,
    Paused: true,
    Promoting: PROMOTING_NO_ROLLBACK,
    Completed: 'is already Completed',
    Failed: 'is already Failed',
  },
  retry: {
    NotStarted: `${NOT_STARTED}: ${ONLY_FAILED}`,
    Initializing: `is in progress: ${ONLY_FAILED}`,
    Stepping: `is in progress: ${ONLY_FAILED}`,
    Paused: `is in progress: ${ONLY_FAILED}`,
    Promoting: `is in progress: ${ONLY_FAILED}`,
    Completed: `is Completed: ${ONLY_FAILED}`,
    Failed: true,
  },
};

/** Whether `verb` is one the table knows. */
export function isSteeringVerb(verb: string): verb is SteeringVerb {
  return Object.hasOwn(STEERING, verb);
}

/** Why `verb` makes no sense in `state` (to follow "the release ..."), or undefined when it is allowed. */
export function steeringRefusal(verb: SteeringVerb, state: ReleaseState): string | undefined {
  const rule = STEERING[verb][state];
  return rule === true ? undefined : rule;
}
