/**
 * What a person sees of one release, as plain data: the dashboard sends it to the
 * page, and anything else that shows a release (a CLI, a notification) can use it.
 *
 * Pure: a CanaryDeployment in, a {@link ReleaseView} out. The ladder comes from the
 * same planner the controller walks, so the page never disagrees with the controller.
 */
import { Value } from 'typebox/value';
import {
  CanaryDeploymentSchema,
  type AnalysisRun,
  type CanaryDeployment,
  type HistoryEntry,
  type Phase,
  type ReleaseCost,
} from '../api/canary-deployment.ts';
import { refusal, type SteerVerb } from '../canary/commands.ts';
import { GroupLabel } from '../api/names.ts';
import { formatDuration, planSteps } from '../strategy/index.ts';
import type {
  ActionState,
  ActionsView,
  AnalysisRunView,
  CommandName,
  CostView,
  HistoryEntryView,
  PhaseName,
  ReleaseView,
  StepState,
  StepView,
} from './contract.ts';

export type { ActionsView, ReleaseView, StepState, StepView } from './contract.ts';

// The contract is written without the API's types (the page cannot import them); these
// lines fail the type check when the CRD's shapes stop fitting what the page reads.
type Fits<T extends U, U> = T;
export type AnalysisRunFits = Fits<AnalysisRun, AnalysisRunView>;
export type HistoryEntryFits = Fits<HistoryEntry, HistoryEntryView>;
export type PhaseFits = Fits<Phase, PhaseName>;
export type SteerVerbFits = Fits<SteerVerb, CommandName>;
export type CostFits = Fits<ReleaseCost, CostView>;

function stepState(index: number, current: number | undefined, phase: Phase): StepState {
  if (phase === 'Completed') return 'done';
  if (current === undefined) return 'pending';
  if (index < current) return 'done';
  if (index === current) return phase === 'Failed' ? 'failed' : 'current';
  return 'pending';
}

/** The view of one CanaryDeployment. */
export function releaseView(release: CanaryDeployment): ReleaseView {
  const { spec } = release;
  const status = release.status ?? {};
  const phase: Phase = status.phase ?? 'Initializing';
  const steps = planSteps(spec.strategy).map(
    (step, index): StepView => ({
      weight: step.weight,
      pause: step.pauseMs === undefined ? undefined : formatDuration(step.pauseMs),
      approval: step.requiresApproval || step.pauseMs === undefined,
      state: stepState(index, status.currentStepIndex, phase),
    }),
  );
  const metrics = spec.metrics ?? {};
  const paused = spec.paused === true || phase === 'Paused';
  return {
    namespace: release.metadata.namespace ?? '',
    name: release.metadata.name ?? '',
    phase,
    reason: status.reason,
    message: status.message,
    version: spec.canaryVersion,
    stableRevision: status.stableRevision,
    createdAt: release.metadata.creationTimestamp,
    strategy: spec.strategy?.type ?? 'Linear',
    provider: spec.traffic?.provider ?? 'Replicas',
    weight: status.currentWeight ?? 0,
    stepIndex: status.currentStepIndex,
    steps,
    paused,
    hasMetrics: Boolean(
      metrics.successRate ||
        metrics.errorRate ||
        metrics.latency ||
        metrics.custom?.length ||
        metrics.compare,
    ),
    analysis: status.analysis?.last,
    history: [...(status.history ?? [])].reverse(),
    startedAt: status.startedAt,
    completedAt: status.completedAt,
    group: release.metadata.labels?.[GroupLabel],
    cost: status.cost,
    // The steering table the CLI and the controller follow (src/canary/steering.ts): a
    // button is offered exactly when the CLI would not refuse the command, and a refused
    // one says why in the CLI's words.
    actions: actionsOf(release),
  };
}

/** Each command's state: offered, or why not (`refusal` of src/canary/commands.ts). */
function actionsOf(release: CanaryDeployment): ActionsView {
  const state = (verb: SteerVerb, full = false): ActionState =>
    // A pause already asked for is no news (the CLI answers 'nothing to do').
    (verb === 'pause' && release.spec.paused === true
      ? `release "${release.metadata.name}" is already paused`
      : refusal(verb, release, full)) ?? true;
  return {
    promote: state('promote'),
    'promote-full': state('promote', true),
    pause: state('pause'),
    resume: state('resume'),
    abort: state('abort'),
    retry: state('retry'),
  };
}

/**
 * The view of any object the list holds: {@link releaseView}, or, when that fails on a
 * malformed object, a placeholder that says so. One bad object never breaks the list.
 */
export function safeReleaseView(release: CanaryDeployment): ReleaseView {
  // The API server validated the object against the CRD it had when the object was
  // written; an object stored under an older schema, or a CRD edited by hand, can still
  // hold anything. The schema the view is written against says what it can read.
  const [first] = Value.Errors(CanaryDeploymentSchema, release);
  if (first) return malformedView(release, `${first.instancePath || '/'} ${first.message}`);
  try {
    return releaseView(release);
  } catch (err) {
    return malformedView(release, err instanceof Error ? err.message : String(err));
  }
}

function malformedView(release: CanaryDeployment, why: string): ReleaseView {
  const metadata = (release as { metadata?: CanaryDeployment['metadata'] }).metadata ?? {};
  const unreadable = 'this object cannot be read as a CanaryDeployment';
  const none: ActionsView = {
    promote: unreadable,
    'promote-full': unreadable,
    pause: unreadable,
    resume: unreadable,
    abort: unreadable,
    retry: unreadable,
  };
  return {
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : '',
    name: typeof metadata.name === 'string' ? metadata.name : '',
    phase: 'Failed',
    reason: 'Malformed',
    message: `this CanaryDeployment cannot be shown: ${why}`,
    version: '',
    stableRevision: undefined,
    strategy: '',
    provider: '',
    weight: 0,
    stepIndex: undefined,
    steps: [],
    paused: false,
    hasMetrics: false,
    analysis: undefined,
    history: [],
    startedAt: undefined,
    completedAt: undefined,
    actions: none,
    malformed: why,
  };
}
