/**
 * The fleet's rules as a pure function: from what each member is doing, which members may
 * start now, which must be aborted, and what the group's status says.
 *
 * - a member is `waiting` until its turn (annotation `group-turn: waiting`), `running`
 *   from its turn until its release of the current `spec.canaryVersion` ends, then
 *   `completed` or `failed`;
 * - at most `maxConcurrent` run at once; turns go to waiting members in name order, so a
 *   restarted controller gives the same turns;
 * - once `failureLimit` members failed (or `failureRatio` of all), none starts; those
 *   running finish on their own (a failing one rolls back by its own analysis);
 * - `paused`: none starts; `aborted`: every member not finished is aborted.
 *
 * No clock and no I/O: the reconciler (./reconcile.ts) observes and carries out.
 */
import type { CanaryDeployment, ReleaseCost } from '../api/canary-deployment.ts';
import { GroupTurnAnnotation } from '../api/names.ts';
import type { FailedMember, GroupPhase, MemberCounts, ReleaseGroupSpec } from '../api/release-group.ts';

export type MemberState = 'waiting' | 'running' | 'completed' | 'failed';

/** What the plan needs of one member. */
export interface Member {
  name: string;
  state: MemberState;
  /** Running and Paused (by a person or its analysis). */
  paused: boolean;
  reason?: string | undefined;
  message?: string | undefined;
  cost?: ReleaseCost | undefined;
}

/** What the group does next and what its status says. */
export interface GroupPlan {
  /** Members whose turn comes now. */
  start: string[];
  /** Members to abort (the group was aborted). */
  abort: string[];
  counts: MemberCounts;
  failed: FailedMember[];
  phase: GroupPhase;
  reason: string;
  message: string;
  /** The failure limit stops new starts. */
  halted: boolean;
}

/** The default of `spec.maxConcurrent`. */
export const DEFAULT_MAX_CONCURRENT = 5;

/** A CanaryDeployment as a member: its state for the version it carries now. */
export function memberOf(cd: CanaryDeployment): Member {
  const status = cd.status ?? {};
  const current = status.releaseVersion === cd.spec.canaryVersion;
  const name = cd.metadata.name ?? '';
  const base = { name, reason: status.reason, message: status.message, cost: status.cost, paused: false };
  if (current && status.phase === 'Completed') return { ...base, state: 'completed' };
  if (current && status.phase === 'Failed') return { ...base, state: 'failed' };
  if (current && status.phase !== undefined)
    return { ...base, state: 'running', paused: status.phase === 'Paused' };
  // Not started for this version: waiting while its turn says so, else about to start
  // (an abort before the start ends as Failed with the current version, above).
  const waiting = cd.metadata.annotations?.[GroupTurnAnnotation] === 'waiting';
  return { ...base, state: waiting ? 'waiting' : 'running' };
}

/** The plan for a group of `members` under `spec`. */
export function planGroup(spec: ReleaseGroupSpec, members: readonly Member[]): GroupPlan {
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const by = (state: MemberState) => sorted.filter((m) => m.state === state);
  const waiting = by('waiting');
  const running = by('running');
  const completed = by('completed');
  const failedMembers = by('failed');
  const total = sorted.length;
  const counts: MemberCounts = {
    total,
    waiting: waiting.length,
    running: running.length,
    paused: running.filter((m) => m.paused).length,
    completed: completed.length,
    failed: failedMembers.length,
  };
  const failed = failedMembers
    .slice(0, 100)
    .map((m) => ({ name: m.name, reason: m.reason, message: m.message }));
  const limit = failureLimitOf(spec, total);
  const halted = limit !== undefined && failedMembers.length >= limit;
  const done = `${completed.length}/${total} completed, ${running.length} running, ${waiting.length} waiting, ${failedMembers.length} failed`;

  if (spec.aborted) {
    const abort = [...running, ...waiting].map((m) => m.name);
    return {
      start: [],
      abort,
      counts,
      failed,
      halted,
      phase: running.length + waiting.length === 0 ? 'Failed' : 'Progressing',
      reason: 'Aborted',
      message: `aborted: ${abort.length === 0 ? 'every member ended' : `aborting ${abort.length} members`} (${done})`,
    };
  }
  const free = Math.max(0, (spec.maxConcurrent ?? DEFAULT_MAX_CONCURRENT) - running.length);
  const start = halted || spec.paused ? [] : waiting.slice(0, free).map((m) => m.name);
  const plan = { start, abort: [], counts, failed, halted };
  if (total === 0)
    return { ...plan, phase: 'Progressing', reason: 'NoMembers', message: 'no member selected yet' };
  if (completed.length === total)
    return {
      ...plan,
      phase: 'Completed',
      reason: 'AllCompleted',
      message: `every member released (${done})`,
    };
  if (halted) {
    const why = `${failedMembers.length} members failed (limit ${limit}): no member starts`;
    return running.length > 0
      ? {
          ...plan,
          phase: 'Progressing',
          reason: 'FailureLimitReached',
          message: `${why}; ${running.length} running finish on their own (${done})`,
        }
      : { ...plan, phase: 'Failed', reason: 'FailureLimitReached', message: `${why} (${done})` };
  }
  if (running.length + waiting.length === 0)
    return {
      ...plan,
      phase: 'Failed',
      reason: 'MembersFailed',
      message: `every member ended, ${failedMembers.length} failed (${done})`,
    };
  if (spec.paused)
    return { ...plan, phase: 'Paused', reason: 'Paused', message: `paused: no member starts (${done})` };
  return { ...plan, phase: 'Progressing', reason: 'Releasing', message: done };
}

/** How many failures stop new starts: the lower of `failureLimit` and `failureRatio` x members. */
export function failureLimitOf(spec: ReleaseGroupSpec, total: number): number | undefined {
  const limits: number[] = [];
  if (spec.failureLimit !== undefined) limits.push(spec.failureLimit);
  if (spec.failureRatio !== undefined && total > 0)
    limits.push(Math.max(1, Math.ceil(spec.failureRatio * total)));
  return limits.length === 0 ? undefined : Math.min(...limits);
}
