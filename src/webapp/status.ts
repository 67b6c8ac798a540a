/**
 * Pure status: the WebApp's phase, conditions and message from what one reconcile
 * observed, and the Events its transitions deserve.
 *
 * Phases (seed 001's state machine, level-triggered: each is derived from observations,
 * never from a stored "next step"):
 * - Pending: accepted, children not created yet (only seen while creating them fails);
 * - Creating: children applied, the first rollout not yet complete;
 * - Running: the Deployment has rolled out once; it stays Running through later rollouts
 *   and releases (old pods keep serving), with Ready False and Progressing True meanwhile;
 * - Failed: a permanent problem (see `failedStatus`);
 * - Deleting: the finalizer's cleanup is under way.
 *
 * Conditions, each with the WebApp generation they describe: Ready (the spec is fully in
 * effect and every replica available), Progressing (a rollout or a release is under way),
 * Degraded (something needs a person: a rolled-back release, a stuck rollout, a
 * permanent error).
 */
import type { WebApp, WebAppPhase, WebAppStatus } from '../api/webapp.ts';
import { mergeConditions, type ConditionUpdate } from '../runtime/conditions.ts';
import type { EventInput } from '../runtime/events.ts';
import type { Deployment } from '../runtime/core-types.ts';
import type { ReleasePlan } from './release.ts';

/** How far the Deployment's rollout is. */
export interface Rollout {
  /** The Deployment controller has seen the latest spec and every replica is updated and available. */
  complete: boolean;
  /** The Deployment controller gave up waiting (progressDeadlineSeconds exceeded). */
  stuck: boolean;
  desired: number;
  ready: number;
  updated: number;
  available: number;
  message: string;
}

/** Reads the rollout state of a Deployment as `kubectl rollout status` does. */
export function rolloutOf(deployment: Deployment | undefined): Rollout {
  const desired = deployment?.spec?.replicas ?? 1;
  const s = deployment?.status ?? {};
  const ready = s.readyReplicas ?? 0;
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (deployment?.metadata.generation ?? 1);
  const stuckCondition = s.conditions?.find(
    (c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded',
  );
  const complete =
    deployment !== undefined &&
    observed &&
    updated >= desired &&
    (s.replicas ?? 0) <= updated &&
    available >= desired;
  let message: string;
  if (!deployment) message = 'Deployment not created yet';
  else if (!observed) message = 'waiting for the Deployment controller to see the new spec';
  else if (updated < desired) message = `${updated} of ${desired} replicas updated`;
  else if ((s.replicas ?? 0) > updated)
    message = `${(s.replicas ?? 0) - updated} old replicas pending termination`;
  else if (available < desired) message = `${available} of ${desired} replicas available`;
  else message = `${ready}/${desired} replicas ready`;
  return {
    complete,
    stuck: stuckCondition !== undefined,
    desired,
    ready,
    updated,
    available,
    message: stuckCondition?.message ?? message,
  };
}

/** What a reconcile observed, for {@link nextStatus}. */
export interface Observation {
  /** The Deployment as stored after applying (its status may still describe the previous spec). */
  deployment: Deployment | undefined;
  plan: ReleasePlan;
  configHash: string;
  now: Date;
}

/** The status to write after a successful reconcile. */
export function nextStatus(webapp: WebApp, seen: Observation): WebAppStatus {
  const previous = webapp.status;
  const generation = webapp.metadata.generation;
  const rollout = rolloutOf(seen.deployment);
  const { plan } = seen;
  const wasRunning = previous?.phase === 'Running';
  const phase: WebAppPhase = rollout.complete || wasRunning ? 'Running' : 'Creating';

  const release = plan.status;
  const wanted = webapp.spec.image;
  let ready: ConditionUpdate;
  let progressing: ConditionUpdate;
  let degraded: ConditionUpdate;
  let message: string;

  if (plan.outcome === 'failed') {
    const why = release?.message ? `: ${release.message}` : '';
    message = `release of ${wanted} failed${why}; still running ${plan.image} until spec.image changes`;
    ready = { type: 'Ready', status: 'False', reason: 'ReleaseFailed', message };
    progressing = rollout.complete
      ? { type: 'Progressing', status: 'False', reason: 'ReleaseFailed', message: rollout.message }
      : { type: 'Progressing', status: 'True', reason: 'RollingOut', message: rollout.message };
    degraded = { type: 'Degraded', status: 'True', reason: 'ReleaseFailed', message };
  } else if (plan.outcome === 'in-flight') {
    const detail = release?.phase
      ? ` (${release.phase}${release.message ? `: ${release.message}` : ''})`
      : '';
    message = `releasing ${wanted} through CanaryDeployment ${release?.name ?? ''}${detail}; ${plan.image} serves meanwhile`;
    ready = { type: 'Ready', status: 'False', reason: 'Releasing', message };
    progressing = { type: 'Progressing', status: 'True', reason: 'Releasing', message };
    degraded = { type: 'Degraded', status: 'False', reason: 'AsExpected' };
  } else if (rollout.stuck) {
    message = `rollout stuck: ${rollout.message}`;
    ready = { type: 'Ready', status: 'False', reason: 'ProgressDeadlineExceeded', message };
    progressing = { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message };
    degraded = { type: 'Degraded', status: 'True', reason: 'ProgressDeadlineExceeded', message };
  } else if (!rollout.complete) {
    const reason = phase === 'Creating' ? 'Creating' : 'RollingOut';
    message = `${phase === 'Creating' ? 'creating' : 'rolling out'} ${plan.image}: ${rollout.message}`;
    ready = { type: 'Ready', status: 'False', reason, message };
    progressing = { type: 'Progressing', status: 'True', reason, message };
    degraded = { type: 'Degraded', status: 'False', reason: 'AsExpected' };
  } else {
    message = `${rollout.message}, running ${plan.image}`;
    ready = { type: 'Ready', status: 'True', reason: 'Available', message };
    progressing = {
      type: 'Progressing',
      status: 'False',
      reason: plan.outcome === 'completed' ? 'ReleaseCompleted' : 'Complete',
      message: plan.outcome === 'completed' ? `released ${wanted}` : 'rollout complete',
    };
    degraded = { type: 'Degraded', status: 'False', reason: 'AsExpected' };
  }

  const status: WebAppStatus = {
    phase,
    message,
    readyReplicas: rollout.ready,
    image: plan.image,
    configHash: seen.configHash,
    conditions: mergeConditions(
      previous?.conditions,
      [ready, progressing, degraded].map((c) => withGeneration(c, generation)),
      seen.now,
    ),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  if (release) status.release = release;
  return status;
}

/** Why a WebApp is Failed: the reason (PascalCase) and a message a user can act on. */
export interface Failure {
  reason: string;
  message: string;
}

/** The status of a WebApp that cannot be reconciled until its spec (or a conflicting object) changes. */
export function failedStatus(webapp: WebApp, failure: Failure, now: Date): WebAppStatus {
  const generation = webapp.metadata.generation;
  const previous = webapp.status ?? {};
  const conditions = mergeConditions(
    previous.conditions,
    [
      { type: 'Ready', status: 'False', reason: failure.reason, message: failure.message },
      { type: 'Progressing', status: 'False', reason: failure.reason, message: failure.message },
      { type: 'Degraded', status: 'True', reason: failure.reason, message: failure.message },
    ].map((c) => withGeneration(c as ConditionUpdate, generation)),
    now,
  );
  // Keep what is still true of the running app (image, replicas, release); only the verdict changes.
  const status: WebAppStatus = { ...previous, phase: 'Failed', message: failure.message, conditions };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** The status of a WebApp seen for the first time, written before its children are created. */
export function pendingStatus(webapp: WebApp, now: Date): WebAppStatus {
  const generation = webapp.metadata.generation;
  const message = 'accepted: creating the ConfigMap, Deployment and Service';
  const status: WebAppStatus = {
    phase: 'Pending',
    message,
    conditions: mergeConditions(
      undefined,
      [
        { type: 'Ready', status: 'False', reason: 'Pending', message },
        { type: 'Progressing', status: 'True', reason: 'Pending', message },
      ].map((c) => withGeneration(c as ConditionUpdate, generation)),
      now,
    ),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** The status while retryable errors keep the reconcile from finishing: the error is said, the rest kept. */
export function retryingStatus(webapp: WebApp, error: string, now: Date): WebAppStatus {
  const previous = webapp.status ?? {};
  const message = `reconcile failed, retrying with backoff: ${error}`;
  const status: WebAppStatus = {
    ...previous,
    phase: previous.phase === 'Failed' || previous.phase === undefined ? 'Pending' : previous.phase,
    message,
    conditions: mergeConditions(
      previous.conditions,
      [
        withGeneration(
          { type: 'Ready', status: 'False', reason: 'ReconcileError', message },
          webapp.metadata.generation,
        ),
      ],
      now,
    ),
  };
  return status;
}

/** The status while the finalizer's cleanup runs. */
export function deletingStatus(webapp: WebApp, message: string, now: Date): WebAppStatus {
  const previous = webapp.status ?? {};
  return {
    ...previous,
    phase: 'Deleting',
    message,
    conditions: mergeConditions(
      previous.conditions,
      [
        withGeneration(
          { type: 'Ready', status: 'False', reason: 'Deleting', message },
          webapp.metadata.generation,
        ),
      ],
      now,
    ),
  };
}

/**
 * Events for what changed between two statuses: phase transitions and release milestones.
 * Failed has none here: the runtime's error policy publishes the Warning of a TerminalError.
 */
export function transitionEvents(previous: WebAppStatus | undefined, next: WebAppStatus): EventInput[] {
  const events: EventInput[] = [];
  const before = previous?.phase;
  if (next.phase !== before) {
    if (next.phase === 'Creating')
      events.push({ reason: 'Creating', note: next.message ?? 'children created', action: 'Create' });
    if (next.phase === 'Running')
      events.push({ reason: 'Running', note: next.message ?? 'running', action: 'Reconcile' });
    if (next.phase === 'Deleting')
      events.push({ reason: 'Deleting', note: next.message ?? 'deleting', action: 'Delete' });
  }
  const release = next.release;
  const old = previous?.release;
  if (release && (release.version !== old?.version || release.phase !== old?.phase)) {
    const note = `${release.version} through CanaryDeployment ${release.name}${release.message ? `: ${release.message}` : ''}`;
    if (release.version !== old?.version && release.phase !== 'Completed' && release.phase !== 'Failed') {
      events.push({ reason: 'ReleaseStarted', note: `releasing ${note}`, action: 'Release' });
    } else if (release.phase === 'Completed') {
      events.push({ reason: 'ReleaseCompleted', note: `released ${note}`, action: 'Release' });
    } else if (release.phase === 'Failed') {
      events.push({
        type: 'Warning',
        reason: 'ReleaseFailed',
        note: `release failed, ${note}`,
        action: 'Release',
      });
    }
  }
  return events;
}

function withGeneration(condition: ConditionUpdate, generation: number | undefined): ConditionUpdate {
  return generation === undefined ? condition : { ...condition, observedGeneration: generation };
}
