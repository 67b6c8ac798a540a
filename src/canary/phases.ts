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
import type {
  AnalysisRun,
  CanaryDeploymentStatus,
  Command,
  HistoryEntry,
  NotificationEvent,
  Phase,
  TrafficProviderName,
  TrafficRecord,
} from '../api/canary-deployment.ts';
import type { GateResult } from '../api/experiments.ts';
import type { VerdictResult } from '../analysis/verdict.ts';
import type { PlannedStep } from '../strategy/index.ts';
import { experimentPassed } from './experiment.ts';
import { describeFailures, mergeResults } from './gates.ts';
import { trafficChange } from './traffic-record.ts';

/** How often a release refused for an autoscaler looks again (autoscalers are not watched). */
export const AUTOSCALER_RECHECK_MS = 30_000;

/** Longest `status.history`; older entries are dropped first. */
export const HISTORY_LIMIT = 50;

/** Everything the machine needs from the spec, resolved (defaults applied, durations in ms). */
export interface ReleaseSettings {
  /** spec.canaryVersion: the image being released. */
  version: string;
  /**
   * The ladder walked, in order. BlueGreen is two rungs: the preview (weight 0, held for
   * the preview pause or an approval) and the switch (weight 100, held for scaleDownDelay).
   */
  steps: PlannedStep[];
  blueGreen: boolean;
  provider: TrafficProviderName;
  /** The traffic settings a release started now records in `status.traffic` (see ./traffic-record.ts). */
  traffic: TrafficRecord;
  /**
   * The canary's size follows the weight (the Replicas provider): its pods only take
   * traffic once they are Ready, so step 1 is entered with the canary's creation,
   * without first waiting for a canary at full size.
   */
  scalesWithWeight: boolean;
  /** spec.paused */
  paused: boolean;
  /** Who set spec.paused (annotation `deploy.codedance.io/paused-by`), when the writer said. */
  pausedBy?: string | undefined;
  autoRollback: { enabled: boolean; onPodCrash: boolean; notReadyGraceMs: number };
  /** Present when spec.metrics asks for anything: analysis gates every step. */
  analysis: { intervalMs: number; successThreshold: number } | undefined;
  /** strategy.type Experiment: its one step promotes on the final judgment (./experiment.ts). */
  experiment?: { durationMs: number } | undefined;
  /** Webhook gates the machine waits for (./gates.ts): present when the spec has PreRollout or ConfirmPromotion gates. */
  gates?:
    | { preRollout: boolean; confirmPromotion: boolean; intervalMs: number; failureThreshold: number }
    | undefined;
}

/** The target (stable) Deployment as the machine needs to see it. */
export interface StableObservation {
  /** Image of the released container. */
  image: string | undefined;
  /** The Deployment's current spec is fully rolled out and available. */
  rolledOut: boolean;
  /** spec.replicas */
  replicas: number;
  /** How the Deployment rolls out a new template, in words (e.g. `RollingUpdate maxSurge 25%, maxUnavailable 25%`). */
  strategy?: string | undefined;
}

/** The canary Deployment, if it exists. */
export interface CanaryObservation {
  image: string | undefined;
  /** spec.replicas as last seen (a cache a write behind may show fewer than were asked for). */
  replicas?: number | undefined;
  /** Every desired replica is updated and available. */
  ready: boolean;
}

/** Health of the canary's pods (see ./pod-health.ts). */
export type PodHealth =
  | { healthy: true /** When a not-Ready pod's grace period ends (ms since epoch). */; recheckAt?: number }
  | { healthy: false; reason: 'CrashLoopBackOff' | 'OOMKilled' | 'NotReady'; pod: string; message: string };

/** The result of an analysis run the reconciler made because {@link analysisDue} said so. */
export interface AnalysisObservation {
  run: AnalysisRun;
  verdict: VerdictResult;
}

/** A CLI command from the `deploy.codedance.io/command` annotation. */
export interface CommandObservation {
  verb: Command;
  /** The annotation's whole value; recorded in `status.handledCommand` once acted on. */
  raw: string;
  /** Who gave it (the `;by=` part), when the writer said. */
  by?: string;
}

export interface Observations {
  /** ms since the epoch. */
  now: number;
  /** metadata.generation of the CanaryDeployment. */
  generation: number;
  stable: StableObservation | undefined;
  canary: CanaryObservation | undefined;
  pods: PodHealth;
  /** Canary weight read back from the traffic provider, when the reconciler read it. */
  weight?: number | undefined;
  analysis?: AnalysisObservation | undefined;
  /**
   * An analysis round is in flight (run off the reconcile workers): its end wakes the
   * release, so an overdue `analysis.nextAt` is no reason to look again meanwhile.
   */
  analysisRunning?: boolean | undefined;
  /** Why the controller refuses to judge this release (e.g. `PrometheusNotAllowed`); see the guarantees above. */
  blocked?: { reason: string; message: string } | undefined;
  /** An unhandled command, if any. */
  command?: CommandObservation | undefined;
  /** The answers of the gates `status.gates.awaiting` asked for, once in (./gates.ts). */
  gate?: { type: 'PreRollout' | 'ConfirmPromotion'; results: GateResult[] } | undefined;
  /** A call of the awaited gates is in flight: its end wakes the release. */
  gateRunning?: boolean | undefined;
  /**
   * A HorizontalPodAutoscaler scaling the target Deployment (its name). Looked up only for
   * a release that scales with the weight (Replicas), which it would fight over the
   * replica counts: before the release starts (refused), and mid-release when the target
   * has other replicas than the step asks for (rolled back).
   */
  autoscaler?: string | undefined;
}

/** Work for the reconciler, as plain data. */
export type Effect =
  /**
   * Create or update the canary Deployment (and the Services the provider needs) on
   * `image`; a canary that scales with the weight is created at `weight`'s share (its
   * first step), so the create is that step's first write.
   */
  | { type: 'ensureCanary'; image: string; weight?: number }
  /** Let the traffic provider create what it needs (idempotent). */
  | { type: 'prepareTraffic' }
  /** Send `weight` percent to the canary; the reconciler reads it back. */
  | { type: 'setWeight'; weight: number }
  /** Patch the released container's image on the stable Deployment. */
  | { type: 'promoteStable'; image: string }
  /** All traffic to stable now. */
  | { type: 'resetTraffic' }
  /** Remove the canary Deployment and Services, and what the provider left. */
  | { type: 'deleteCanary' }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; note: string }
  | { type: 'notify'; event: NotificationEvent; message: string };

export interface Transition {
  status: CanaryDeploymentStatus;
  effects: Effect[];
  /**
   * The status is written after the first `statusAfter` effects ran (the rest run after
   * the write). Normally every effect runs first, so a status never claims what the
   * cluster does not show; a rollback writes right after the traffic reset.
   */
  statusAfter: number;
  /** Look again after this long even if nothing changes; undefined: wait for a change. */
  requeueAfterMs: number | undefined;
}

/** Whether an analysis should run before this reconcile's transition. */
export function analysisDue(
  settings: ReleaseSettings,
  status: CanaryDeploymentStatus | undefined,
  now: number,
): boolean {
  if (!settings.analysis || !status) return false;
  if (status.phase !== 'Progressing' && status.phase !== 'Paused') return false;
  if (status.releaseVersion !== settings.version) return false;
  const total = status.totalSteps ?? settings.steps.length;
  if ((status.currentStepIndex ?? 0) >= total) return false; // promoting: judged already
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
  const command = t.takeCommand();

  if (phase === undefined) return obs.blocked ? refuseToStart(t, obs.blocked) : start(t, 'Started');
  if (phase === 'Completed' || phase === 'Failed') return finished(t, phase, command);

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
  if (command?.verb === 'retry') t.ignore(command, 'retry applies only to a Failed release');
  // Once the stable Deployment takes the new image there is nothing left to roll back to.
  // Before that (the promotion moving all traffic to the canary first), a crash or an
  // abort still takes the traffic back to the untouched stable pods.
  const promoting = t.step >= t.total && obs.stable.image === settings.version;
  if (command?.verb === 'abort') {
    if (!promoting) return rollback(t, 'Aborted', `aborted by ${who(command.by)}`, command.by);
    t.ignore(command, 'the release is being promoted: the stable Deployment already takes the new version');
  }
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
function finished(t: Builder, phase: 'Completed' | 'Failed', command: CommandObservation | undefined): void {
  const { settings, obs } = t;
  if (t.status.releaseVersion !== settings.version) {
    if (!obs.blocked) return resetForNew(t, 'Started');
    refuseToStart(t, obs.blocked);
  } else if (command?.verb === 'retry') {
    if (phase === 'Failed' && obs.blocked) t.ignore(command, obs.blocked.message);
    else if (phase === 'Failed') return resetForNew(t, 'Retried', command.by);
    else t.ignore(command, 'retry applies only to a Failed release');
  } else if (command) {
    t.ignore(command, `the release is ${phase}`);
  }
  if (obs.canary) {
    // A controller stopped between the rollback's (or promotion's) writes: finish them.
    t.effects.push({ type: 'resetTraffic' }, { type: 'deleteCanary' });
  }
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
  if (command?.verb === 'promote' || command?.verb === 'promote-full') {
    t.status.approvedStep =
      command.verb === 'promote-full' ? t.total : Math.max(t.status.approvedStep ?? -1, 0);
  } else if (command?.verb === 'resume') t.ignore(command, 'the release is not paused');
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
  if (command?.verb === 'promote-full') {
    if (t.step < t.total) return enterPromotion(t, `promoted to the end by ${who(command.by)}`, command.by);
    t.ignore(command, 'already promoting');
  } else if (command?.verb === 'promote') {
    if (t.step >= t.total) t.ignore(command, 'already promoting');
    else {
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
    }
  } else if (command?.verb === 'resume') {
    if (t.status.phase === 'Paused' && !settings.paused)
      resume(t, `resumed by ${who(command.by)}`, command.by);
    else
      t.ignore(
        command,
        settings.paused ? 'spec.paused is true: clear it to resume' : 'the release is not paused',
      );
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
  if (obs.weight !== undefined && obs.weight !== t.status.currentWeight) {
    t.effects.push(
      { type: 'prepareTraffic' },
      { type: 'setWeight', weight: t.status.currentWeight ?? step.weight },
    );
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
        ? 'then for the final judgment over the whole experiment'
        : 'for a healthy analysis',
    );
  if (!ready) waits.push('for the canary to be available');
  t.status.message = `step ${t.step + 1}/${t.total}: ${t.status.currentWeight ?? 0}% to ${settings.version}, waiting ${waits.join(', ')}`;
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
  t.effects.push({ type: 'setWeight', weight: step.weight });
  // Worded as progressing() words a step that only waits, so the next look writes nothing.
  const hold =
    step.pauseMs === undefined || step.requiresApproval
      ? 'waiting for approval (codedance promote)'
      : step.pauseMs > 0
        ? `waiting until ${t.status.pauseUntil}`
        : 'no pause';
  t.status.message = `step ${index + 1}/${t.total}: ${step.weight}% to ${settings.version}, ${hold}`;
  const label = settings.blueGreen
    ? step.weight === 0
      ? 'preview up'
      : 'switched all traffic'
    : `${step.weight}% of traffic`;
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
  const phase = current?.phase;
  if (!current || (phase !== 'Initializing' && phase !== 'Progressing' && phase !== 'Paused'))
    return undefined;
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

/** Accumulates the next status and its effects. */
class Builder {
  readonly settings: ReleaseSettings;
  readonly obs: Observations;
  readonly iso: string;
  status: CanaryDeploymentStatus;
  effects: Effect[] = [];
  statusAfter: number | undefined;
  private wake: number | undefined;

  constructor(settings: ReleaseSettings, status: CanaryDeploymentStatus, obs: Observations) {
    this.settings = settings;
    this.obs = obs;
    this.iso = new Date(obs.now).toISOString();
    this.status = structuredClone(status);
  }

  get step(): number {
    return this.status.currentStepIndex ?? 0;
  }

  get total(): number {
    return this.settings.steps.length;
  }

  /** The command to act on now, marked handled (whatever comes of it). */
  takeCommand(): CommandObservation | undefined {
    const command = this.obs.command;
    if (!command || command.raw === this.status.handledCommand) return undefined;
    this.status.handledCommand = command.raw;
    return command;
  }

  ignore(command: CommandObservation, why: string): void {
    const from = command.by ? ` (from ${command.by})` : '';
    this.effects.push({
      type: 'event',
      eventType: 'Warning',
      reason: 'CommandIgnored',
      note: `${command.verb}${from} ignored: ${why}`,
    });
  }

  /** Asks to be reconciled again at `at` (ms since epoch), keeping the earliest wish. */
  wakeAt(at: number | undefined): void {
    if (at === undefined) return;
    this.wake = this.wake === undefined ? at : Math.min(this.wake, at);
  }

  /**
   * Asks to be reconciled when the next analysis is due; not while a round for an
   * overdue one is in flight (its end wakes the release, polling would only spin).
   */
  wakeForAnalysis(): void {
    const at = parseTime(this.status.analysis?.nextAt);
    if (at !== undefined && at <= this.obs.now && this.obs.analysisRunning) return;
    this.wakeAt(at);
  }

  /** A history entry, an Event and (unless `notify` is false) a notification. */
  record(
    entry: string,
    eventType: 'Normal' | 'Warning',
    reason: string,
    note: string,
    options: {
      notify: NotificationEvent | false;
      weight?: number /** The person whose command this records. */;
      by?: string | undefined;
    },
  ): void {
    const item: HistoryEntry = {
      time: this.iso,
      event: entry,
      step: this.status.currentStepIndex,
      weight: options.weight ?? this.status.currentWeight,
      message: note,
    };
    if (options.by) item.by = options.by;
    const history = [...(this.status.history ?? []), item];
    this.status.history = history.slice(Math.max(0, history.length - HISTORY_LIMIT));
    this.effects.push({ type: 'event', eventType, reason, note });
    if (options.notify) this.effects.push({ type: 'notify', event: options.notify, message: note });
  }

  result(): Transition {
    const status = this.status;
    status.observedGeneration = this.obs.generation;
    const stepping =
      (status.phase === 'Progressing' || status.phase === 'Paused') &&
      (status.currentStepIndex ?? 0) < this.total;
    if (stepping && this.settings.analysis) this.wakeForAnalysis();
    const requeueAfterMs = this.wake === undefined ? undefined : Math.max(0, this.wake - this.obs.now);
    return {
      status: prune(status),
      effects: this.effects,
      statusAfter: this.statusAfter ?? this.effects.length,
      requeueAfterMs,
    };
  }
}

/** Drops undefined fields so the written status (and its comparison) stays small. */
function prune(status: CanaryDeploymentStatus): CanaryDeploymentStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) if (value !== undefined) out[key] = value;
  return out as CanaryDeploymentStatus;
}

/** ms since epoch of an RFC 3339 time, or undefined. */
export function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Whether the phase is one a release stays in (nothing left to do but cleanup). */
export function isFinished(phase: Phase | undefined): boolean {
  return phase === 'Completed' || phase === 'Failed';
}
