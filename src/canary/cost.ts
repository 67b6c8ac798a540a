/**
 * What a release cost (issue 15.4), as pure accounting over its status: the pods the
 * canary added, the CPU and memory its pods requested, the time at each step, and the
 * share of traffic the canary served (weight x time).
 *
 * The history (`status.history`) is the timeline: every entry carries the step and the
 * weight at that moment, so the time between two entries was spent at the first one's
 * weight. Pods per weight follow the traffic provider the release recorded: with
 * Replicas the canary takes its share out of the stable pods (no extra pods but during
 * the promotion, when stable rolls out beside a full-size canary); every other provider
 * runs the canary at the stable size from its creation to its removal, all of it extra.
 *
 * Caveats: the history keeps its last 50 entries, so a release with more steps or
 * pauses is counted from its earliest kept entry; requests are the pod template's
 * (`resources.requests` summed over its containers), what the scheduler reserved, not
 * what the pods used.
 */
import type {
  CanaryDeploymentStatus,
  HistoryEntry,
  CostSummary,
  PodRequests,
  ReleaseCost,
  StepCost,
} from '../api/canary-deployment.ts';
import type { PodTemplateSpec } from '../runtime/core-types.ts';
import { replicaSplit } from '../traffic/replicas.ts';
import { parseTime } from './builder.ts';

export type { CostSummary, PodRequests, ReleaseCost, StepCost };

/** Entries that end a release's timeline. */
const ENDS = new Set(['Completed', 'RolledBack', 'Aborted', 'Stopped']);
/** Entries after which the canary carries all traffic at full size (the promotion). */
const PROMOTING = new Set(['Promoting', 'RollingOut']);

/**
 * The cost of the release `status` describes, as of `now` (ms since epoch) or its end.
 * `undefined` for a release that never started (nothing ran).
 */
export function releaseCost(
  status: CanaryDeploymentStatus,
  podRequests: PodRequests,
  now: number,
): ReleaseCost | undefined {
  const started = parseTime(status.startedAt);
  if (started === undefined) return undefined;
  const finished = status.phase === 'Completed' || status.phase === 'Failed';
  const end = Math.max(started, (finished ? parseTime(status.completedAt) : undefined) ?? now);
  const total = status.totalSteps ?? 0;
  const size = Math.max(0, status.stableReplicas ?? 1);
  const scalesWithWeight = (status.traffic?.provider ?? 'Replicas') === 'Replicas';

  const timeline = timelineOf(status.history ?? [], started, end);
  let canaryPodSeconds = 0;
  let extraPodSeconds = 0;
  let weightSeconds = 0;
  const steps: StepCost[] = [];
  for (const [i, entry] of timeline.entries()) {
    const from = Math.max(started, parseTime(entry.time) ?? started);
    const to = Math.min(end, parseTime(timeline[i + 1]?.time) ?? end);
    if (ENDS.has(entry.event) || to <= from) continue;
    const seconds = (to - from) / 1000;
    const promoting = PROMOTING.has(entry.event) || entry.event === 'RolledOut';
    const weight = PROMOTING.has(entry.event) ? 100 : (entry.weight ?? 0);
    const pods = podsAt(weight, size, scalesWithWeight, promoting);
    canaryPodSeconds += pods.canary * seconds;
    extraPodSeconds += pods.extra * seconds;
    weightSeconds += weight * seconds;
    const step = promoting ? total + 1 : entry.event === 'Started' ? 0 : (entry.step ?? 0) + 1;
    const last = steps.at(-1);
    if (last && last.step === step && last.weight === weight) last.seconds += seconds;
    else steps.push({ step, weight, seconds });
  }
  const seconds = (end - started) / 1000;
  return {
    asOf: new Date(end).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    seconds: round(seconds),
    canaryPodSeconds: round(canaryPodSeconds),
    extraPodSeconds: round(extraPodSeconds),
    cpuCoreSeconds: round(canaryPodSeconds * podRequests.cpuCores),
    memoryGiBSeconds: round(canaryPodSeconds * podRequests.memoryGiB),
    canaryTrafficPercent: seconds > 0 ? round(weightSeconds / seconds) : 0,
    podRequests,
    steps: steps.map((s) => ({ ...s, seconds: round(s.seconds) })),
  };
}

/** What one pod of `template` requests. */
export function podRequestsOf(template: PodTemplateSpec | undefined): PodRequests {
  let cpuCores = 0;
  let memoryBytes = 0;
  for (const container of template?.spec?.containers ?? []) {
    cpuCores += parseQuantity(container.resources?.requests?.cpu) ?? 0;
    memoryBytes += parseQuantity(container.resources?.requests?.memory) ?? 0;
  }
  return { cpuCores: round(cpuCores), memoryGiB: round(memoryBytes / 2 ** 30) };
}

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `1e3`) as a number; undefined when unreadable. */
export function parseQuantity(text: string | number | undefined): number | undefined {
  if (typeof text === 'number') return text;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    (text ?? '').trim(),
  );
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2] ? 10 ** Number(match[2].slice(1)) : 1);
  return value * (SUFFIXES[match[3] ?? ''] ?? 1);
}

/**
 * Several releases' costs summed (a fleet's): `asOf` is the latest, `seconds` the sum of
 * the releases' durations, the traffic share their time-weighted mean; steps and pod
 * requests belong to one release and are left out.
 */
export function sumCosts(costs: readonly ReleaseCost[]): CostSummary {
  const seconds = costs.reduce((s, c) => s + c.seconds, 0);
  return {
    asOf:
      costs
        .map((c) => c.asOf)
        .sort()
        .at(-1) ?? '',
    seconds: round(seconds),
    canaryPodSeconds: round(costs.reduce((s, c) => s + c.canaryPodSeconds, 0)),
    extraPodSeconds: round(costs.reduce((s, c) => s + c.extraPodSeconds, 0)),
    cpuCoreSeconds: round(costs.reduce((s, c) => s + c.cpuCoreSeconds, 0)),
    memoryGiBSeconds: round(costs.reduce((s, c) => s + c.memoryGiBSeconds, 0)),
    canaryTrafficPercent:
      seconds > 0 ? round(costs.reduce((s, c) => s + c.canaryTrafficPercent * c.seconds, 0) / seconds) : 0,
  };
}

/** Canary pods, and pods beyond the stable size, at one weight. */
function podsAt(
  weight: number,
  size: number,
  scalesWithWeight: boolean,
  promoting: boolean,
): { canary: number; extra: number } {
  if (!scalesWithWeight) return { canary: size, extra: size };
  // The promotion rolls stable out at full size beside a full-size canary.
  if (promoting) return { canary: size, extra: size };
  const split = replicaSplit(weight, size);
  return { canary: split.canary, extra: Math.max(0, split.canary + split.stable - size) };
}

/** The entries of the current release (from its start), in time order. */
function timelineOf(history: readonly HistoryEntry[], started: number, end: number): HistoryEntry[] {
  const entries = history.filter((entry) => {
    const at = parseTime(entry.time);
    return at !== undefined && at >= started && at <= end;
  });
  // No entry at all (a status written by hand): the release ran from its start at weight 0.
  if (entries.length === 0)
    entries.push({ time: new Date(started).toISOString(), event: 'Started', weight: 0 });
  return entries;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * `next` with `status.cost` brought up to date when the release's timeline moved (a new
 * history entry, a new start): figures at each recorded moment and final at the end, so
 * the status is not rewritten only because time passed. Views show the running figure
 * with {@link releaseCost} of the status at their own `now`.
 */
export function withCost(
  next: CanaryDeploymentStatus,
  previous: CanaryDeploymentStatus | undefined,
  requests: PodRequests,
  now: number,
): CanaryDeploymentStatus {
  const last = next.history?.at(-1);
  const before = previous?.history?.at(-1);
  const moved =
    next.startedAt !== previous?.startedAt || last?.time !== before?.time || last?.event !== before?.event;
  if (!moved && next.cost) return next;
  const cost = releaseCost(next, requests, now);
  const { cost: _old, ...rest } = next;
  return cost ? { ...rest, cost } : rest;
}

/** A cost in one line for people: `canary 1.2 pod-h (extra 0.3 pod-h), 0.6 CPU core-h, 0.3 GiB-h, canary served 27% of traffic over 35m of release time` (a fleet's time is its releases' summed). */
export function describeCost(cost: CostSummary): string {
  const hours = (s: number) => `${Math.round((s / 3600) * 100) / 100}`;
  const span =
    cost.seconds >= 3600
      ? `${Math.round((cost.seconds / 3600) * 10) / 10}h`
      : cost.seconds >= 60
        ? `${Math.round(cost.seconds / 60)}m`
        : `${Math.round(cost.seconds)}s`;
  return `canary ${hours(cost.canaryPodSeconds)} pod-h (extra ${hours(cost.extraPodSeconds)} pod-h), requested ${hours(cost.cpuCoreSeconds)} CPU core-h and ${hours(cost.memoryGiBSeconds)} GiB-h, canary served ${Math.round(cost.canaryTrafficPercent)}% of traffic over ${span} of release time`;
}
