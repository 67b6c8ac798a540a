/**
 * The release state machine: a pure function from (settings, status, observations) to
 * the next status, the effects that make the cluster match it, and when to look again.
 *
 * Phases: Initializing → Progressing ⇄ Paused → Completed | Failed.
 *
 * Everything the release needs to continue is written down in status: the step index,
 * the step's pause deadline (`pauseUntil`, a timestamp, so a restart neither loses nor
 * restarts it), approvals, the analysis streaks and the last CLI command acted on. A
 * controller killed at any moment reads the same status, sees the same cluster, and
 * takes the same decision again; every effect is idempotent, so doing one twice is
 * harmless, and a step is only ever counted once because the count is in status.
 *
 * Promotion is the step one past the last (`currentStepIndex === totalSteps`, reason
 * `Promoting`): its sub-steps (all traffic to the canary, stable takes the image, stable
 * rolled out, traffic back, canary removed) are read from the cluster and the recorded
 * weight, so they cannot get out of step.
 *
 * Guarantees:
 * - a rollback sends all traffic to stable before anything else (`resetTraffic` is the
 *   first effect, and the status saying Failed is written right after it);
 * - Completed and Failed are level-triggered too: a canary still present there (a
 *   controller killed mid-cleanup) is cleaned up again;
 * - each CLI command (`<verb>:<id>`) is acted on at most once (`handledCommand`);
 * - a release the controller refuses to judge (`obs.blocked`: its Prometheus is not
 *   on the allow-list) never sends traffic to a canary and never promotes: nothing
 *   starts, Initializing holds before the first step, a release already stepping is
 *   rolled back. A crash-looping canary is still rolled back first.
 *
 * No clock, no I/O: `now` is an observation; tests run on plain data.
 */
import type { CanaryDeploymentStatus, HistoryEntry } from '../api/canary-deployment.ts';
import type { VerdictResult } from '../analysis/verdict.ts';
import type {
  AnalysisObservation,
  CommandObservation,
  Effect,
  Observations,
  ReleaseSettings,
  Transition,
} from './model.ts';
import type { PlannedStep } from '../strategy/index.ts';
import { Builder, HISTORY_LIMIT, parseTime, prune } from './builder.ts';
import { isActive, isFinished, isPromoting, isStepping, releaseState, steeringRefusal } from './steering.ts';
import { experimentPassed } from './experiment.ts';
import { describeFailures, mergeResults } from './gates.ts';
import { trafficChange } from './traffic-record.ts';
import { describeMatch, describeRouting, type RouteOptions } from '../traffic/match.ts';

/** The model's types, where they were first declared (import them from ./model.ts). */
export type * from './model.ts';

/** How often a release refused for an autoscaler looks again (autoscalers are not watched). */
export const AUTOSCALER_RECHECK_MS = 30_000;

export { HISTORY_LIMIT, parseTime } from './builder.ts';

/** Whether an analysis should run before this reconcile's transition. */
export function analysisDue(
  settings: ReleaseSettings,
  status: CanaryDeploymentStatus | undefined,
  now: number,
): boolean {
  if (!settings.analysis || !status) return false;
  if (status.releaseVersion !== settings.version) return false;
  if (!isStepping(status, status.totalSteps ?? settings.steps.length)) return false; // promoting: judged already
  const nextAt = parseTime(status.analysis?.nextAt);
  return nextAt === undefined || nextAt <= now;
}

/** The next state of a release. Pure and total: never throws. */
export function transition(
  settings: ReleaseSettings,
  current: CanaryDeploymentStatus | undefined,
  obs: Observations,
): Transition {
  const t = new Builder(settings, current ?? {}, obs);
  decide(t);
  return t.result();
}

function decide(t: Builder): void {
  const { settings, obs } = t;
  const phase = t.status.phase;
  // The steering table (./steering.ts) decides which commands are acted on at all; a
  // refused one is answered with a CommandIgnored Event, worded as the CLI refuses it.
  const asked = t.takeCommand();
  const state = releaseState(t.status, settings.paused, t.total);
  // Until the stable Deployment takes the new image (the promotion moves all traffic to the
  // canary first) the untouched stable pods are there to go back to, so abort still applies.
  const abortable =
    asked?.verb === 'abort' && state === 'Promoting' && obs.stable?.image !== settings.version;
  const refused = asked && !abortable && steeringRefusal(asked.verb, state);
  if (asked && refused) t.ignore(asked, `the release ${refused}`);
  const command = refused ? undefined : asked;

  if (phase === undefined) {
    if (command?.verb === 'abort') return abortBeforeStart(t, command.by);
    if (command?.verb === 'resume') t.ignore(command, 'spec.paused is true: clear it to resume');
    if (obs.blocked) return refuseToStart(t, obs.blocked);
    if (obs.waitingForGroup) return waitForGroup(t, obs.waitingForGroup.group);
    start(t, 'Started');
    // A promotion asked for before the first look approves the first step (or all), as in Initializing.
    if (command?.verb === 'promote' || command?.verb === 'promote-full') approve(t, command.verb);
    return;
  }
  if (isFinished(phase)) return finished(t, command);

  // An active release (Initializing, Progressing, Paused).
  // Its traffic lives in the objects it recorded at its start (a release started by an
  // older controller has no record: the spec is all there is, take it as the record).
  t.status.traffic ??= settings.traffic;
  const changed = trafficChange(t.status.traffic, settings.traffic);
  if (changed) {
    return rollback(
      t,
      'TrafficChanged',
      `${changed} mid-release: traffic went back to stable through the recorded ${t.status.traffic.provider} objects and the canary was removed; \`codedance retry\` starts again with the new settings`,
    );
  }
  if (!obs.stable) {
    // Nothing to promote to and nothing to fall back on: do not keep the canary's share.
    return rollback(
      t,
      'TargetDeleted',
      "the target Deployment (spec.targetDeployment) was deleted mid-release: the canary's traffic went back to stable and the canary was removed; recreate the Deployment and run `codedance retry` to release again",
    );
  }
  if (obs.autoscaler && settings.scalesWithWeight) {
    // An autoscaler appeared mid-release and rescaled the target: the replica ratio is no
    // longer the release's to set.
    return rollback(
      t,
      'AutoscalerConflict',
      `HorizontalPodAutoscaler ${obs.autoscaler} rescales the target Deployment, and traffic.provider Replicas sets its replicas itself: stable went back to its size and the canary was removed; remove the autoscaler or choose traffic.provider Istio, Nginx or GatewayAPI, then \`codedance retry\``,
    );
  }
  if (t.status.releaseVersion !== settings.version) {
    return obs.blocked ? rollback(t, obs.blocked.reason, obs.blocked.message) : start(t, 'Restarted');
  }
  // Once the stable Deployment takes the new image there is nothing left to roll back to
  // (the steering table refuses abort then). Before that (the promotion moving all traffic
  // to the canary first), a crash or an abort still takes the traffic back to the untouched
  // stable pods.
  const promoting = isPromoting(t.status, t.total) && obs.stable.image === settings.version;
  if (command?.verb === 'abort') return rollback(t, 'Aborted', `aborted by ${who(command.by)}`, command.by);
  if (!promoting) {
    if (!obs.pods.healthy && settings.autoRollback.enabled && settings.autoRollback.onPodCrash) {
      return rollback(
        t,
        obs.pods.reason === 'CrashLoopBackOff'
          ? 'PodCrashLoop'
          : obs.pods.reason === 'OOMKilled'
            ? 'PodOOMKilled'
            : 'PodNotReady',
        obs.pods.message,
      );
    }
    if (obs.blocked) return block(t, obs.blocked);
    if (obs.analysis && recordAnalysis(t, obs.analysis) === 'rolledBack') return;
  }
  if (phase === 'Initializing') return initializing(t, command);
  return progressing(t, command);
}

/** A new release of `settings.version`, from step 0. */
function start(t: Builder, event: 'Started' | 'Restarted' | 'Retried', by?: string): void {
  const { settings, obs } = t;
  const history = t.status.history;
  const handledCommand = t.status.handledCommand;
  const previousReplicas = t.status.stableReplicas;
  if (!obs.stable && event === 'Started') {
    // Nothing to copy the canary from yet. Say so once, and start when the Deployment
    // appears (target Deployments are watched), rather than fail on a typo or a race.
    const waiting =
      'the target Deployment (spec.targetDeployment) does not exist: create it or fix the name; the release starts when it appears';
    if (t.status.reason !== 'TargetNotFound')
      t.effects.push({ type: 'event', eventType: 'Warning', reason: 'TargetNotFound', note: waiting });
    t.status = { handledCommand, history, reason: 'TargetNotFound', message: waiting };
    return;
  }
  if (obs.autoscaler && settings.scalesWithWeight) {
    // The Replicas provider sets both Deployments' replicas itself; an autoscaler on the
    // target would undo every step. Refused before anything is written; looked at again.
    const refused = `HorizontalPodAutoscaler ${obs.autoscaler} scales the target Deployment, and traffic.provider Replicas sets its replicas itself (they would fight): choose traffic.provider Istio, Nginx or GatewayAPI, or remove the autoscaler; the release starts once it is gone`;
    if (t.status.reason !== 'AutoscalerConflict')
      t.effects.push({ type: 'event', eventType: 'Warning', reason: 'AutoscalerConflict', note: refused });
    t.status = { handledCommand, history, reason: 'AutoscalerConflict', message: refused };
    t.wakeAt(obs.now + AUTOSCALER_RECHECK_MS);
    return;
  }
  if (obs.stable && obs.stable.image === settings.version && event === 'Started' && !obs.canary) {
    // Nothing to release: the stable Deployment already runs this version.
    t.status = {
      handledCommand,
      history,
      phase: 'Completed',
      reason: 'AlreadyReleased',
      releaseVersion: settings.version,
      stableRevision: settings.version,
      canaryRevision: settings.version,
      totalSteps: t.total,
      currentStepIndex: t.total,
      stepLabel: `${t.total}/${t.total}`,
      currentWeight: 0,
      completedAt: t.iso,
      message: `${settings.version} already runs on the stable Deployment; nothing to release`,
    };
    t.record('Completed', 'Normal', 'AlreadyReleased', t.status.message ?? '', { notify: false });
    return;
  }
  t.status = {
    handledCommand,
    history,
    phase: 'Initializing',
    reason: event,
    releaseVersion: settings.version,
    stableRevision: obs.stable?.image,
    canaryRevision: settings.version,
    // Mid-release the Replicas provider has scaled stable down: keep the count from the start.
    stableReplicas: event === 'Restarted' ? (previousReplicas ?? obs.stable?.replicas) : obs.stable?.replicas,
    currentStepIndex: 0,
    totalSteps: t.total,
    stepLabel: `0/${t.total}`,
    currentWeight: 0,
    startedAt: t.iso,
    traffic: settings.traffic,
    message: `starting the canary ${settings.version}`,
  };
  if (event === 'Restarted') t.effects.push({ type: 'resetTraffic' });
  // Pre-rollout gates answer before the first weight: the canary starts at none.
  const direct = settings.scalesWithWeight && obs.stable && !settings.gates?.preRollout;
  const first = direct ? settings.steps[0]?.weight : undefined;
  t.effects.push(
    { type: 'ensureCanary', image: settings.version, ...(first ? { weight: first } : {}) },
    { type: 'prepareTraffic' },
  );
  const note = `${event === 'Started' ? 'release' : event === 'Restarted' ? 'new version mid-release, restarting with' : 'retrying'} ${settings.version} (stable ${obs.stable?.image ?? 'unknown'}, ${t.total} steps)`;
  t.record(event, 'Normal', event, event === 'Retried' ? `${note}, asked by ${who(by)}` : note, {
    notify: 'Started',
    by,
  });
  if (direct) {
    t.status.phase = 'Progressing';
    enterStep(t, 0, 'canary created');
  }
}

/** Completed or Failed: keep the cluster clean, start again on a new version or `retry`. */
function finished(t: Builder, command: CommandObservation | undefined): void {
  const { settings, obs } = t;
  if (t.status.releaseVersion !== settings.version) {
    if (obs.waitingForGroup) {
      waitForGroup(t, obs.waitingForGroup.group);
      // A canary the last release left behind (a controller stopped mid-cleanup) goes now.
      if (obs.canary) t.effects.push({ type: 'resetTraffic' }, { type: 'deleteCanary' });
      return;
    }
    if (!obs.blocked) return resetForNew(t, 'Started');
    refuseToStart(t, obs.blocked);
  } else if (command?.verb === 'retry') {
    // The steering table allows retry only on a Failed release.
    if (obs.blocked) t.ignore(command, obs.blocked.message);
    else return resetForNew(t, 'Retried', command.by);
  }
  if (obs.canary) {
    // A controller stopped between the rollback's (or promotion's) writes: finish them.
    t.effects.push({ type: 'resetTraffic' }, { type: 'deleteCanary' });
  }
}

/** Approves in advance: the first step (`promote`) or every step (`promote-full`). */
function approve(t: Builder, verb: 'promote' | 'promote-full'): void {
  t.status.approvedStep = verb === 'promote-full' ? t.total : Math.max(t.status.approvedStep ?? -1, 0);
}

/** An abort before the release started (nothing written yet): Failed at once; `codedance retry` starts it. */
function abortBeforeStart(t: Builder, by: string | undefined): void {
  const { settings } = t;
  t.status = {
    handledCommand: t.status.handledCommand,
    history: t.status.history,
    phase: 'Failed',
    reason: 'Aborted',
    releaseVersion: settings.version,
    totalSteps: t.total,
    currentStepIndex: 0,
    currentWeight: 0,
    completedAt: t.iso,
    message: `aborted by ${who(by)} before it started: nothing was changed; \`codedance retry\` starts it`,
  };
  t.record('Aborted', 'Warning', 'Aborted', t.status.message ?? '', { notify: false, by });
}

/**
 * A ReleaseGroup member before its turn: nothing is written to the cluster, the status
 * says whose turn it waits for (the previous release's record goes: a new one begins).
 */
function waitForGroup(t: Builder, group: string): void {
  const message = `${t.settings.version} waits for its turn in ReleaseGroup ${group} (at most spec.maxConcurrent members release at once)`;
  if (t.status.reason !== 'WaitingForGroup')
    t.effects.push({ type: 'event', eventType: 'Normal', reason: 'WaitingForGroup', note: message });
  t.status = {
    handledCommand: t.status.handledCommand,
    history: t.status.history,
    reason: 'WaitingForGroup',
    message,
  };
}

/** Nothing new starts while the controller refuses the release; the status says why. */
function refuseToStart(t: Builder, blocked: { reason: string; message: string }): void {
  t.status.reason = blocked.reason;
  t.status.message = `${t.settings.version} does not start: ${blocked.message}`;
}

/** An active release the controller refuses: held before any traffic moved, rolled back after. */
function block(t: Builder, blocked: { reason: string; message: string }): void {
  if (t.status.phase === 'Initializing') {
    t.status.reason = blocked.reason;
    t.status.message = `held before the first step: ${blocked.message}`;
    return;
  }
  rollback(t, blocked.reason, blocked.message);
}

function resetForNew(t: Builder, event: 'Started' | 'Retried', by?: string): void {
  const keep = { history: t.status.history, handledCommand: t.status.handledCommand };
  t.status = keep;
  // A leftover canary (retry after a rollback that could not finish) is simply reused.
  start(t, event, by);
}

/** The canary is coming up; enter step 0 once it is ready. */
function initializing(t: Builder, command: CommandObservation | undefined): void {
  const { settings, obs } = t;
  if (command?.verb === 'promote' || command?.verb === 'promote-full') approve(t, command.verb);
  else if (command?.verb === 'resume') t.ignore(command, 'spec.paused is true: clear it to resume');
  if (!obs.stable) {
    t.status.message = 'waiting for the target Deployment to exist';
    t.status.reason = 'TargetNotFound';
    return;
  }
  if (!obs.canary || obs.canary.image !== settings.version) {
    t.effects.push({ type: 'ensureCanary', image: settings.version }, { type: 'prepareTraffic' });
    t.status.message = `creating the canary ${settings.version}`;
    return;
  }
  if (!obs.canary.ready) {
    t.status.message = `waiting for the canary ${settings.version} to become available`;
    t.wakeAt(obs.pods.healthy ? obs.pods.recheckAt : undefined);
    return;
  }
  if (preRolloutHolds(t)) return;
  t.status.phase = 'Progressing';
  if ((t.status.approvedStep ?? -1) >= t.total) return enterPromotion(t);
  enterStep(t, 0, 'canary ready');
}

/**
 * PreRollout gates, before the first weight: asked now, then every interval until all
 * say yes; each round with a no counts as a failed analysis, and `failureThreshold` of
 * them in a row roll the release back. True while the release must hold.
 */
function preRolloutHolds(t: Builder): boolean {
  const { settings, obs } = t;
  const gates = settings.gates;
  if (!gates?.preRollout || t.status.gates?.preRolloutPassed) return false;
  const g = { ...t.status.gates };
  const answer = obs.gate?.type === 'PreRollout' && g.awaiting === 'PreRollout' ? obs.gate : undefined;
  t.status.reason = 'PreRolloutGates';
  if (answer) {
    g.results = mergeResults(g.results, answer.results);
    if (answer.results.every((r) => r.passed)) {
      t.status.gates = { results: g.results, preRolloutPassed: true, state: 'Passed' };
      t.effects.push({
        type: 'event',
        eventType: 'Normal',
        reason: 'PreRolloutPassed',
        note: `pre-rollout gates passed: ${answer.results.map((r) => r.name).join(', ')}`,
      });
      return false;
    }
    const failures = (g.failures ?? 0) + 1;
    const why = `pre-rollout gate failed ${failures} of ${gates.failureThreshold} times in a row: ${describeFailures(answer.results)}`;
    if (failures >= gates.failureThreshold) {
      t.status.gates = { results: g.results, failures, state: 'Failed' };
      rollback(t, 'PreRolloutGateFailed', why);
      return true;
    }
    t.status.gates = {
      ...g,
      failures,
      awaiting: 'PreRollout',
      state: 'Waiting',
      nextAt: new Date(obs.now + gates.intervalMs).toISOString(),
    };
    t.effects.push({ type: 'event', eventType: 'Warning', reason: 'GateFailed', note: why });
    t.status.message = `held before the first weight: ${why}`;
  } else if (g.awaiting !== 'PreRollout') {
    t.status.gates = { ...g, awaiting: 'PreRollout', state: 'Waiting', nextAt: t.iso };
    t.status.message = 'held before the first weight: calling the pre-rollout gates';
  }
  if (!obs.gateRunning) t.wakeAt(parseTime(t.status.gates?.nextAt));
  return true;
}

/**
 * ConfirmPromotion gates, once every step passed: promotion waits until each says yes
 * (asked every interval; analyses go on meanwhile). One Event when the wait starts, one
 * when it ends. True while the release must wait.
 */
function confirmationHolds(t: Builder): boolean {
  const { settings, obs } = t;
  const gates = settings.gates;
  if (!gates?.confirmPromotion) return false;
  const g = { ...t.status.gates };
  const answer =
    obs.gate?.type === 'ConfirmPromotion' && g.awaiting === 'ConfirmPromotion' ? obs.gate : undefined;
  if (answer) {
    g.results = mergeResults(g.results, answer.results);
    if (answer.results.every((r) => r.passed)) {
      t.status.gates = { ...g, awaiting: undefined, nextAt: undefined, state: 'Passed' };
      t.record(
        'Confirmed',
        'Normal',
        'PromotionConfirmed',
        `promotion confirmed by ${answer.results.map((r) => r.name).join(', ')}`,
        { notify: false },
      );
      return false;
    }
    t.status.gates = { ...g, state: 'Waiting', nextAt: new Date(obs.now + gates.intervalMs).toISOString() };
    t.status.message = `every step passed; waiting for the confirm-promotion gates to say yes (${describeFailures(answer.results)})`;
  } else if (g.awaiting !== 'ConfirmPromotion') {
    t.status.gates = { ...g, awaiting: 'ConfirmPromotion', state: 'Waiting', nextAt: t.iso };
    t.status.message = 'every step passed; waiting for the confirm-promotion gates to say yes';
    t.record(
      'Waiting',
      'Normal',
      'WaitingForConfirmation',
      `step ${t.step + 1}/${t.total} passed: promotion waits for the confirm-promotion gates`,
      { notify: false },
    );
  }
  t.status.reason = 'WaitingForConfirmation';
  if (!obs.gateRunning) t.wakeAt(parseTime(t.status.gates?.nextAt));
  return true;
}

/** Progressing or Paused, on a step or promoting. */
function progressing(t: Builder, command: CommandObservation | undefined): void {
  const { settings, obs } = t;
  // The steering table let through only what applies to a stepping release.
  if (command?.verb === 'promote-full') {
    return enterPromotion(t, `promoted to the end by ${who(command.by)}`, command.by);
  } else if (command?.verb === 'promote') {
    t.status.approvedStep = Math.max(t.status.approvedStep ?? -1, t.step);
    t.record(
      'Approved',
      'Normal',
      'StepApproved',
      `step ${t.step + 1}/${t.total} approved by ${who(command.by)}`,
      { notify: false, by: command.by },
    );
    if (t.status.phase === 'Paused' && t.status.reason !== 'UserPaused')
      resume(t, `promoted by ${who(command.by)}`, command.by);
  } else if (command?.verb === 'resume') {
    if (settings.paused) t.ignore(command, 'spec.paused is true: clear it to resume');
    else resume(t, `resumed by ${who(command.by)}`, command.by);
  }

  if (t.step >= t.total) return promotion(t);

  // Pause and resume on spec.paused.
  if (settings.paused && t.status.phase !== 'Paused')
    pause(t, 'UserPaused', `paused by ${who(settings.pausedBy)} (spec.paused)`, settings.pausedBy);
  else if (!settings.paused && t.status.phase === 'Paused' && t.status.reason === 'UserPaused')
    resume(t, 'spec.paused cleared');

  const step = settings.steps[t.step];
  if (!step) return enterPromotion(t);
  // Drift: the canary or its weight are not what this step needs.
  if (!obs.canary || obs.canary.image !== settings.version) {
    t.effects.push({ type: 'ensureCanary', image: settings.version });
    t.status.message = `restoring the canary ${settings.version}`;
    return;
  }
  // A step that also routes by request or mirrors is rewritten once after a restart too
  // (the weight alone does not show a half-written match); unchanged objects cost no write.
  if (obs.weight !== undefined && (obs.weight !== t.status.currentWeight || routingOf(step))) {
    t.effects.push({ type: 'prepareTraffic' }, setWeightOf(t.status.currentWeight ?? step.weight, step));
  }
  if (t.status.phase === 'Paused') {
    t.wakeForAnalysis();
    return;
  }

  const pauseUntil = parseTime(t.status.pauseUntil);
  const timerDone = step.pauseMs !== undefined && (pauseUntil === undefined || pauseUntil <= obs.now);
  const approved = (t.status.approvedStep ?? -1) >= t.step;
  const needsApproval = step.requiresApproval || step.pauseMs === undefined;
  // An experiment promotes on its final judgment alone (./experiment.ts), not on a streak.
  const analysisOk = settings.experiment
    ? experimentPassed(t.status)
    : !settings.analysis ||
      (t.status.analysis?.consecutiveSuccesses ?? 0) >= settings.analysis.successThreshold;
  const ready = obs.canary.ready;

  if ((step.pauseMs === undefined || timerDone) && (!needsApproval || approved) && analysisOk && ready) {
    const next = t.step + 1;
    if (next >= t.total) {
      if (confirmationHolds(t)) return;
      return enterPromotion(t, settings.experiment ? 'the experiment passed' : undefined);
    }
    return enterStep(t, next, 'advanced');
  }

  const waits: string[] = [];
  if (step.pauseMs !== undefined && !timerDone) waits.push(`until ${t.status.pauseUntil}`);
  if (needsApproval && !approved) waits.push('for approval (codedance promote)');
  if (!analysisOk)
    waits.push(
      settings.experiment
        ? `${timerDone ? '' : 'then '}for the final judgment over the whole experiment`
        : 'for a healthy analysis',
    );
  if (!ready) waits.push('for the canary to be available');
  t.status.message = `step ${t.step + 1}/${t.total}: ${shareOf(t.status.currentWeight ?? 0, step)} to ${settings.version}, waiting ${waits.join(', ')}`;
  if (step.pauseMs !== undefined && !timerDone) t.wakeAt(pauseUntil);
  if (!analysisOk) t.wakeForAnalysis();
  if (obs.pods.healthy) t.wakeAt(obs.pods.recheckAt);
}

function enterStep(t: Builder, index: number, why: string): void {
  const { settings, obs } = t;
  const step = settings.steps[index];
  if (!step) return enterPromotion(t);
  const first = t.status.currentStepIndex === 0 && t.status.stepStartedAt === undefined;
  t.status.currentStepIndex = index;
  t.status.stepLabel = `${index + 1}/${t.total}`;
  t.status.currentWeight = step.weight;
  t.status.stepStartedAt = t.iso;
  t.status.pauseUntil =
    step.pauseMs === undefined ? undefined : new Date(obs.now + step.pauseMs).toISOString();
  t.status.reason = 'StepStarted';
  if (settings.analysis) {
    // Each step is judged on its own weight: successes start again, failures carry over.
    t.status.analysis = {
      ...t.status.analysis,
      consecutiveSuccesses: 0,
      nextAt: new Date(obs.now + settings.analysis.intervalMs).toISOString(),
    };
  }
  t.effects.push(setWeightOf(step.weight, step));
  // Worded as progressing() words a step that only waits, so the next look writes nothing.
  const hold =
    step.pauseMs === undefined || step.requiresApproval
      ? 'waiting for approval (codedance promote)'
      : step.pauseMs > 0
        ? `waiting until ${t.status.pauseUntil}`
        : 'no pause';
  t.status.message = `step ${index + 1}/${t.total}: ${shareOf(step.weight, step)} to ${settings.version}, ${hold}`;
  const label = settings.blueGreen
    ? step.weight === 0
      ? 'preview up'
      : 'switched all traffic'
    : describeRouting(step.weight, routingOf(step));
  t.record(
    first ? 'StepReached' : 'StepAdvanced',
    'Normal',
    first ? 'StepReached' : 'StepAdvanced',
    `step ${index + 1}/${t.total}: ${label} (${why})`,
    {
      notify: first ? false : 'Advanced',
      weight: step.weight,
    },
  );
  if (step.pauseMs !== undefined) t.wakeAt(obs.now + step.pauseMs);
  if (settings.analysis) t.wakeAt(obs.now + settings.analysis.intervalMs);
}

/**
 * A step's pause counts from its weight being in place, not from the moment it was
 * decided: the reads before the decision and the traffic write itself can take a while on
 * a busy API server, and the hold (a canary step's, BlueGreen's scaleDownDelay) would
 * shrink by as much. So a deadline this transition set (`next.pauseUntil` differs from
 * `before`'s) moves later by `lateMs`, the time from the decision to the traffic written,
 * and the status message that names it says the new time.
 */
export function pauseFromWrite(
  next: CanaryDeploymentStatus,
  before: CanaryDeploymentStatus | undefined,
  lateMs: number,
): CanaryDeploymentStatus {
  const deadline = next.pauseUntil;
  if (deadline === undefined || deadline === before?.pauseUntil || lateMs <= 0) return next;
  const moved = new Date(Date.parse(deadline) + lateMs).toISOString();
  return { ...next, pauseUntil: moved, message: next.message?.replace(deadline, moved) };
}

function enterPromotion(t: Builder, why = 'every step passed', by?: string): void {
  t.status.phase = 'Progressing';
  t.status.reason = 'Promoting';
  t.status.currentStepIndex = t.total;
  t.status.stepLabel = `${t.total}/${t.total}`;
  t.status.pauseUntil = undefined;
  t.record(
    'Promoting',
    'Normal',
    'Promoting',
    `${why}: promoting ${t.settings.version} to the stable Deployment`,
    { notify: false, by },
  );
  promotion(t);
}

/**
 * The promotion, the only rollout of the stable Deployment a release makes:
 * all traffic to the canary (at full size and available) → stable takes the image and
 * rolls it out by its own strategy (maxSurge/maxUnavailable), taking no traffic, so no
 * request lands on a pod going away → traffic back to stable (its new pods) → canary
 * removed → Completed. Events at its start (`Promoting`), when the stable Deployment
 * starts and ends rolling (`StableRollingOut`, `StableRolledOut`) and at its end
 * (`Completed`).
 */
function promotion(t: Builder): void {
  const { settings, obs } = t;
  t.status.reason = 'Promoting';
  if (!obs.stable) {
    t.status.message = 'promoting: the target Deployment is gone';
    return;
  }
  if (obs.stable.image !== settings.version) {
    if (t.status.currentWeight !== 100) {
      t.effects.push({ type: 'prepareTraffic' }, { type: 'setWeight', weight: 100 });
      t.status.currentWeight = 100;
      t.status.message = `promoting: all traffic to the canary ${settings.version} before the stable Deployment rolls`;
      return;
    }
    if (!obs.canary || obs.canary.image !== settings.version) {
      // Drift: the canary carries every request now; restore it before stable rolls.
      t.effects.push({ type: 'ensureCanary', image: settings.version });
      t.status.message = `promoting: restoring the canary ${settings.version}`;
      return;
    }
    const fullSize =
      !settings.scalesWithWeight || (obs.canary.replicas ?? 0) >= (t.status.stableReplicas ?? 0);
    if (!obs.canary.ready || !fullSize) {
      t.status.message = `promoting: waiting for the canary ${settings.version} to carry all traffic at full size`;
      return;
    }
    t.effects.push({ type: 'promoteStable', image: settings.version });
    t.status.message = `promoting: the stable Deployment takes ${settings.version}`;
    // Once per promotion, though a cache a write behind may show the old image again.
    if (t.status.history?.at(-1)?.event !== 'RollingOut') {
      const how = obs.stable.strategy ? ` (${obs.stable.strategy})` : '';
      t.record(
        'RollingOut',
        'Normal',
        'StableRollingOut',
        `the stable Deployment rolls out ${settings.version} by its own strategy${how}; the canary carries all traffic meanwhile`,
        { notify: false },
      );
    }
    return;
  }
  if (!obs.stable.rolledOut) {
    t.status.message = `promoting: waiting for the stable Deployment to roll out ${settings.version}`;
    return;
  }
  if (t.status.currentWeight !== 0) {
    t.effects.push({ type: 'resetTraffic' });
    t.status.currentWeight = 0;
    t.status.message = 'promoting: all traffic back to the stable Deployment';
    t.record(
      'RolledOut',
      'Normal',
      'StableRolledOut',
      `the stable Deployment runs ${settings.version} on every pod: all traffic back to it`,
      { notify: false },
    );
    return;
  }
  if (obs.canary) t.effects.push({ type: 'deleteCanary' });
  t.status.phase = 'Completed';
  t.status.reason = 'Promoted';
  t.status.stableRevision = settings.version;
  t.status.completedAt = t.iso;
  t.status.pauseUntil = undefined;
  t.status.message = `${settings.version} released: the stable Deployment runs it and the canary is gone`;
  t.record('Completed', 'Normal', 'Completed', t.status.message, { notify: 'Completed' });
}

function pause(t: Builder, reason: string, message: string, by?: string): void {
  t.status.phase = 'Paused';
  t.status.reason = reason;
  t.status.message = message;
  t.record('Paused', 'Normal', 'Paused', message, { notify: 'Paused', by });
}

function resume(t: Builder, why: string, by?: string): void {
  t.status.phase = 'Progressing';
  t.status.reason = 'Resumed';
  t.record('Resumed', 'Normal', 'Resumed', why, { notify: false, by });
}

/** How a person is named in messages: their username, when the command said. */
function who(by: string | undefined): string {
  return by ?? 'a user';
}

/** Records an analysis in status; returns whether it rolled the release back. */
function recordAnalysis(t: Builder, analysis: AnalysisObservation): 'rolledBack' | 'recorded' {
  const { settings, obs } = t;
  const { verdict, run } = analysis;
  t.status.analysis = {
    ...verdict.counters,
    nextAt: new Date(obs.now + (settings.analysis?.intervalMs ?? 30_000)).toISOString(),
    last: run,
  };
  const note = `step ${t.step + 1}/${t.total}: ${run.decision}${run.score === undefined ? '' : ` (score ${Math.round(run.score)})`}: ${verdict.message}`;
  t.effects.push({
    type: 'event',
    eventType: verdict.verdict === 'rollback' || verdict.verdict === 'pause' ? 'Warning' : 'Normal',
    reason: verdict.reason,
    note,
  });
  if (verdict.verdict === 'rollback') {
    rollback(t, verdict.reason, verdict.message);
    return 'rolledBack';
  }
  if (verdict.verdict === 'pause') {
    if (t.status.phase !== 'Paused') pause(t, verdict.reason, verdict.message);
    else if (t.status.reason !== 'UserPaused') t.status.message = verdict.message;
  } else if (t.status.phase === 'Paused' && t.status.reason !== 'UserPaused' && isRecovered(verdict)) {
    resume(t, `metrics recovered: ${verdict.message}`);
  }
  return 'recorded';
}

function isRecovered(verdict: VerdictResult): boolean {
  return verdict.verdict === 'advance-allowed' || verdict.reason === 'AwaitingSuccesses';
}

/** Traffic to stable at once, then the status, then the canary goes. */
function rollback(t: Builder, reason: string, message: string, by?: string): void {
  const aborted = reason === 'Aborted';
  const step = t.step;
  t.effects.unshift({ type: 'resetTraffic' });
  t.statusAfter = 1;
  t.status.phase = 'Failed';
  t.status.reason = reason;
  t.status.message = `${aborted ? 'aborted' : 'rolled back'} at step ${Math.min(step + 1, t.total)}/${t.total}: ${message}`;
  t.status.currentWeight = 0;
  t.status.pauseUntil = undefined;
  t.status.completedAt = t.iso;
  t.effects.push({ type: 'deleteCanary' });
  t.record(
    aborted ? 'Aborted' : 'RolledBack',
    'Warning',
    aborted ? 'Aborted' : 'RolledBack',
    `${t.status.message} (${reason})`,
    { notify: 'RolledBack', by },
  );
}

/**
 * An active release stopped from outside the state machine, by the error policy (a spec
 * the controller cannot run, a traffic error retrying cannot fix). Like a rollback:
 * traffic back to stable first (through the recorded provider), then the status saying
 * why (phase Failed), then the canary goes. Needs no settings: the spec may be what is
 * broken. `undefined` when the release is not active (nothing to stop).
 */
export function stopped(
  current: CanaryDeploymentStatus | undefined,
  obs: { now: number; generation: number },
  reason: string,
  message: string,
): Transition | undefined {
  if (!current || !isActive(current.phase)) return undefined;
  const iso = new Date(obs.now).toISOString();
  const total = current.totalSteps ?? 0;
  const text = `stopped at step ${Math.min((current.currentStepIndex ?? 0) + 1, total)}/${total}: ${message}`;
  const entry: HistoryEntry = {
    time: iso,
    event: 'Stopped',
    step: current.currentStepIndex,
    weight: current.currentWeight,
    message: `${text} (${reason})`,
  };
  const history = [...(current.history ?? []), entry];
  const status: CanaryDeploymentStatus = {
    ...structuredClone(current),
    phase: 'Failed',
    reason,
    message: text,
    currentWeight: 0,
    pauseUntil: undefined,
    completedAt: iso,
    observedGeneration: obs.generation,
    history: history.slice(Math.max(0, history.length - HISTORY_LIMIT)),
  };
  return {
    status: prune(status),
    effects: [
      { type: 'resetTraffic' },
      { type: 'deleteCanary' },
      { type: 'event', eventType: 'Warning', reason, note: text },
      { type: 'notify', event: 'RolledBack', message: text },
    ],
    statusAfter: 1,
    requeueAfterMs: undefined,
  };
}

/** The step's request match and mirror, undefined when it only has a weight. */
export function routingOf(step: PlannedStep): RouteOptions | undefined {
  if (!step.match?.length && !step.mirror) return undefined;
  return {
    ...(step.match?.length ? { match: step.match } : {}),
    ...(step.mirror ? { mirror: step.mirror } : {}),
  };
}

/** The effect that sets `weight` with the step's match and mirror (only when it has them: plain data). */
function setWeightOf(weight: number, step: PlannedStep): Effect {
  const routing = routingOf(step);
  return routing ? { type: 'setWeight', weight, routing } : { type: 'setWeight', weight };
}

/** The canary's share for status messages: `10%`, `10% + header x-canary: "1"`, `0% + 50% mirrored`. */
function shareOf(weight: number, step: PlannedStep): string {
  const extra: string[] = [];
  if (step.match?.length) extra.push(describeMatch(step.match));
  if (step.mirror) extra.push(`${step.mirror}% mirrored`);
  return [`${weight}%`, ...extra].join(' + ');
}
