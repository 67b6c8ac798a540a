/**
 * The release model: what the phase machine (./phases.ts) reads and writes, as plain
 * data. Settings resolved from the spec (./settings.ts), observations of the cluster
 * (the reconciler, ./reconcile.ts), and the transition it returns: the next status, the
 * effects that make the cluster match it (./effects.ts), and when to look again.
 */
import type { GateResult } from '../api/experiments.ts';
import type {
  AnalysisRun,
  CanaryDeploymentStatus,
  Command,
  NotificationEvent,
  TrafficProviderName,
  TrafficRecord,
} from '../api/canary-deployment.ts';
import type { VerdictResult } from '../analysis/verdict.ts';
import type { PlannedStep } from '../strategy/index.ts';
import type { RouteOptions } from '../traffic/match.ts';

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
  /**
   * The release is a member of a ReleaseGroup whose turn has not come
   * (`deploy.codedance.io/group-turn: waiting`): it does not start (reason
   * `WaitingForGroup`). A release already running is not held.
   */
  waitingForGroup?: { group: string } | undefined;
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
  | { type: 'setWeight'; weight: number; routing?: RouteOptions | undefined }
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
