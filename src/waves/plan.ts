/**
 * A release plan's rules as a pure function: from what each cluster's release is doing,
 * which clusters get their release now, which releases must be aborted, and what the
 * plan's status says.
 *
 * - waves go in order: a wave starts once every release of every wave before it Completed;
 * - a failed release (or a cluster whose release name is taken by another object) fails
 *   the plan: the releases still running are aborted, no further release is made, and the
 *   plan stays Failed for this generation even if the failed release is later deleted;
 * - an unreachable cluster holds its wave (not a failure: the network may come back);
 *   one whose release was seen Completed before stays Completed;
 * - `aborted`: every release still running is aborted, nothing more is made.
 *
 * No clock and no I/O: the reconciler (./reconcile.ts) observes the clusters and acts.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type {
  ClusterPhase,
  ClusterStatus,
  PlanPhase,
  ReleasePlanSpec,
  WavePhase,
  WaveStatus,
} from '../api/release-plan.ts';
import { memberOf } from '../fleet/plan.ts';

/** What the plan knows of one cluster's release. */
export type ReleaseState =
  /** No release of this name in the cluster. */
  | 'absent'
  | 'running'
  | 'completed'
  | 'failed'
  /** The cluster could not be reached (or its Secret is missing or invalid). */
  | 'unreachable'
  /** An object of the release's name that this plan did not make. */
  | 'foreign';

export interface ClusterObservation {
  state: ReleaseState;
  reason?: string | undefined;
  message?: string | undefined;
}

/** What the plan saw before (its status), for what must not go backwards. */
export interface PlanMemory {
  /** The plan already failed at this generation: reason and message. */
  failed?: { reason: string; message: string } | undefined;
  /** Clusters whose release was seen Completed (an unreachable one stays Completed). */
  completed?: ReadonlySet<string> | undefined;
}

export interface WavePlan {
  /** Clusters whose release is made (or updated) now. */
  create: string[];
  /** Clusters whose running release is aborted now. */
  abort: string[];
  phase: PlanPhase;
  reason: string;
  message: string;
  /** The wave releasing now (the failed one once failed). */
  currentWave?: string | undefined;
  waves: Pick<WaveStatus, 'name' | 'phase' | 'clusters'>[];
}

/** A cluster's CanaryDeployment as a release state (for the version it carries now). */
export function releaseStateOf(cd: CanaryDeployment): ClusterObservation {
  const member = memberOf(cd);
  const state: ReleaseState = member.state === 'waiting' ? 'running' : member.state;
  return { state, reason: member.reason, message: member.message };
}

/** Clusters named in more than one wave (or twice in one): a plan that cannot be followed. */
export function duplicateClusters(spec: ReleasePlanSpec): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const wave of spec.waves)
    for (const cluster of wave.clusters) {
      if (seen.has(cluster)) twice.add(cluster);
      seen.add(cluster);
    }
  return [...twice].sort();
}

const phaseOf: Record<ReleaseState, ClusterPhase> = {
  absent: 'Pending',
  running: 'Progressing',
  completed: 'Completed',
  failed: 'Failed',
  unreachable: 'Unreachable',
  foreign: 'Failed',
};

function clusterStatus(name: string, obs: ClusterObservation, phase = phaseOf[obs.state]): ClusterStatus {
  const out: ClusterStatus = { name, phase };
  const reason = obs.state === 'foreign' ? 'NameTaken' : obs.reason;
  if (reason) out.reason = reason;
  if (obs.message) out.message = obs.message;
  return out;
}

/** The plan for `spec` given what each cluster shows (`observed`, by Secret name). */
export function planWaves(
  spec: ReleasePlanSpec,
  observed: ReadonlyMap<string, ClusterObservation>,
  memory: PlanMemory = {},
): WavePlan {
  const seen = (cluster: string): ClusterObservation => {
    const obs = observed.get(cluster) ?? { state: 'unreachable', reason: 'NotObserved' };
    return obs.state === 'unreachable' && memory.completed?.has(cluster)
      ? { state: 'completed', reason: obs.reason, message: obs.message }
      : obs;
  };
  const notStarted = (wave: ReleasePlanSpec['waves'][number], phase: WavePhase) => ({
    name: wave.name,
    phase,
    clusters: wave.clusters.map((name): ClusterStatus => ({ name, phase: 'NotStarted' })),
  });

  const duplicates = duplicateClusters(spec);
  if (duplicates.length > 0) {
    return {
      create: [],
      abort: [],
      phase: 'Failed',
      reason: 'InvalidPlan',
      message: `clusters named in more than one wave: ${duplicates.join(', ')} (spec.waves): a cluster is released to once`,
      waves: spec.waves.map((w) => notStarted(w, 'Stopped')),
    };
  }

  // The reason to stop, if any: asked to, failed before, or a failure seen now.
  let stop: { reason: string; message: string } | undefined = spec.aborted
    ? { reason: 'Aborted', message: 'plan aborted (spec.aborted): running releases aborted, no wave starts' }
    : memory.failed;
  if (!stop) {
    // The first failure in the waves reached so far.
    for (const wave of spec.waves) {
      const states = wave.clusters.map((c) => [c, seen(c)] as const);
      const bad = states.find(([, o]) => o.state === 'failed' || o.state === 'foreign');
      if (bad) {
        const [cluster, obs] = bad;
        stop = {
          reason: 'ReleaseFailed',
          message:
            obs.state === 'foreign'
              ? `wave ${wave.name}: ${cluster} has a release of this name the plan did not make; no further wave starts`
              : `wave ${wave.name}: the release in ${cluster} failed (${obs.reason ?? 'Failed'}${obs.message ? `: ${obs.message}` : ''}); running releases aborted, no further wave starts`,
        };
        break;
      }
      if (!states.every(([, o]) => o.state === 'completed')) break;
    }
  }

  const create: string[] = [];
  const abort: string[] = [];
  const waves: WavePlan['waves'] = [];
  let current: string | undefined;
  let reached = true;
  for (const wave of spec.waves) {
    if (!reached) {
      waves.push(notStarted(wave, stop ? 'Stopped' : 'Pending'));
      continue;
    }
    const states = wave.clusters.map((c) => [c, seen(c)] as const);
    const clusters = states.map(([name, obs]) => {
      if (stop && obs.state === 'running') {
        abort.push(name);
        return clusterStatus(name, obs, 'Aborting');
      }
      if (stop && obs.state === 'absent') return clusterStatus(name, obs, 'NotStarted');
      if (!stop && obs.state === 'absent') create.push(name);
      return clusterStatus(name, obs);
    });
    const allCompleted = states.every(([, o]) => o.state === 'completed');
    const anyFailed = states.some(([, o]) => o.state === 'failed' || o.state === 'foreign');
    let phase: WavePhase = 'Progressing';
    if (allCompleted) phase = 'Completed';
    else if (anyFailed) phase = 'Failed';
    else if (stop) phase = 'Stopped';
    waves.push({ name: wave.name, phase, clusters });
    if (!allCompleted) {
      current = wave.name;
      reached = false;
    }
  }

  if (stop) {
    return { create, abort, phase: 'Failed', ...stop, currentWave: current, waves };
  }
  if (current === undefined) {
    const clusters = spec.waves.reduce((n, w) => n + w.clusters.length, 0);
    return {
      create,
      abort,
      phase: 'Completed',
      reason: 'PlanCompleted',
      message: `released to ${clusters} clusters in ${spec.waves.length} waves`,
      waves,
    };
  }
  const wave = waves.find((w) => w.name === current);
  const unreachable = wave?.clusters.filter((c) => c.phase === 'Unreachable').map((c) => c.name) ?? [];
  const done = wave?.clusters.filter((c) => c.phase === 'Completed').length ?? 0;
  const total = wave?.clusters.length ?? 0;
  const index = spec.waves.findIndex((w) => w.name === current) + 1;
  return {
    create,
    abort,
    phase: 'Progressing',
    reason: unreachable.length > 0 ? 'ClusterUnreachable' : 'WaveProgressing',
    message:
      `wave ${index}/${spec.waves.length} ${current}: ${done}/${total} clusters completed` +
      (unreachable.length > 0 ? `; cannot reach ${unreachable.join(', ')}` : ''),
    currentWave: current,
    waves,
  };
}
