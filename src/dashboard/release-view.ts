/**
 * What a person sees of one release, as plain data: the dashboard sends it to the
 * page, and anything else that shows a release (a CLI, a notification) can use it.
 *
 * Pure: a CanaryDeployment in, a {@link ReleaseView} out. The ladder comes from the
 * same planner the controller walks, so the page never disagrees with the controller.
 */
import { Value } from 'typebox/value';
import { CanaryDeploymentSchema, type AnalysisRun, type CanaryDeployment, type HistoryEntry, type Phase } from '../api/canary-deployment.ts';
import { formatDuration, planSteps } from '../strategy/index.ts';
import { releaseState, steeringRefusal } from '../canary/steering.ts';

export type StepState = 'done' | 'current' | 'pending' | 'failed';

export interface StepView {
  weight: number;
  /** The step's pause, as written for people (`30s`); undefined when it waits for approval. */
  pause: string | undefined;
  approval: boolean;
  state: StepState;
}

/** Which steering commands make sense in the release's current state. */
export interface ActionsView {
  promote: boolean;
  pause: boolean;
  resume: boolean;
  abort: boolean;
  retry: boolean;
}

export interface ReleaseView {
  namespace: string;
  name: string;
  phase: Phase;
  reason: string | undefined;
  message: string | undefined;
  /** The version being released (spec.canaryVersion). */
  version: string;
  stableRevision: string | undefined;
  strategy: string;
  provider: string;
  /** Canary share of traffic now, in percent. */
  weight: number;
  stepIndex: number | undefined;
  steps: StepView[];
  paused: boolean;
  hasMetrics: boolean;
  analysis: AnalysisRun | undefined;
  /** Newest first. */
  history: HistoryEntry[];
  startedAt: string | undefined;
  completedAt: string | undefined;
  actions: ActionsView;
  /**
   * Set when the object could not be read as a CanaryDeployment (a field of the wrong
   * type, a spec from an older schema): why. The rest of the view is then a placeholder.
   */
  malformed?: string;
}

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
  const state = releaseState(release.status, spec.paused === true);
  return {
    namespace: release.metadata.namespace ?? '',
    name: release.metadata.name ?? '',
    phase,
    reason: status.reason,
    message: status.message,
    version: spec.canaryVersion,
    stableRevision: status.stableRevision,
    strategy: spec.strategy?.type ?? 'Linear',
    provider: spec.traffic?.provider ?? 'Replicas',
    weight: status.currentWeight ?? 0,
    stepIndex: status.currentStepIndex,
    steps,
    paused,
    hasMetrics: Boolean(metrics.successRate || metrics.errorRate || metrics.latency || metrics.custom?.length),
    analysis: status.analysis?.last,
    history: [...(status.history ?? [])].reverse(),
    startedAt: status.startedAt,
    completedAt: status.completedAt,
    // The steering table the CLI and the controller follow; pause is no news when spec.paused is set.
    actions: {
      promote: steeringRefusal('promote', state) === undefined,
      pause: steeringRefusal('pause', state) === undefined && spec.paused !== true,
      resume: steeringRefusal('resume', state) === undefined,
      abort: steeringRefusal('abort', state) === undefined,
      retry: steeringRefusal('retry', state) === undefined,
    },
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
  const none = { promote: false, pause: false, resume: false, abort: false, retry: false };
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
