/**
 * Steering a whole group (CLI and dashboard), with the person's own client: the group's
 * own switch (`spec.paused`, `spec.aborted`, which hold or stop new starts) and the same
 * command on every member where the steering table allows it (src/canary/commands.ts),
 * so each member's Events and history name the person.
 *
 * - promote: every running member that waits for approval is approved (its next step);
 * - pause: no member starts; every running member holds at its step;
 * - resume: members start again; every paused member continues;
 * - abort: no member starts; every member not finished is aborted (traffic back to
 *   stable first). The controller aborts the ones it finds later too.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../api/kinds.ts';
import { GroupLabel } from '../api/names.ts';
import type { ReleaseGroup } from '../api/release-group.ts';
import { planSteer } from '../canary/commands.ts';
import type { KubeClient } from '../runtime/client.ts';
import { errorMessage } from '../runtime/errors.ts';
import { madeBy, selectedMembers } from './membership.ts';

export const GroupVerbs = ['promote', 'pause', 'resume', 'abort'] as const;
export type GroupVerb = (typeof GroupVerbs)[number];

/** What became of the command on one member. */
export interface MemberOutcome {
  name: string;
  outcome: 'sent' | 'skipped' | 'failed';
  message?: string | undefined;
}

/** The members of `group` among the releases of its namespace. */
export function membersOf(group: ReleaseGroup, releases: readonly CanaryDeployment[]): CanaryDeployment[] {
  if (!group.spec.template) return selectedMembers(group, releases);
  return releases.filter(
    (cd) =>
      cd.metadata.namespace === group.metadata.namespace &&
      (madeBy(group, cd) || cd.metadata.labels?.[GroupLabel] === group.metadata.name),
  );
}

/** Sends `verb` to the group and its members as `by`; resolves with each member's outcome. */
export async function steerGroup(
  client: KubeClient,
  group: ReleaseGroup,
  verb: GroupVerb,
  by: string | undefined,
): Promise<MemberOutcome[]> {
  const ns = group.metadata.namespace ?? '';
  const name = group.metadata.name ?? '';
  const spec =
    verb === 'pause'
      ? { paused: true }
      : verb === 'resume'
        ? { paused: false }
        : verb === 'abort'
          ? { aborted: true }
          : undefined;
  if (spec) await client.patch(ReleaseGroupKind, ns, name, { spec }, 'merge');
  const releases = (await client.list(CanaryDeploymentKind, { namespace: ns })).items;
  const outcomes: MemberOutcome[] = [];
  for (const cd of membersOf(group, releases).sort((a, b) =>
    (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1,
  )) {
    const member = cd.metadata.name ?? '';
    // A member that has not started yet is the group's to hold: only abort reaches it.
    if (verb !== 'abort' && cd.status?.phase === undefined) {
      outcomes.push({ name: member, outcome: 'skipped', message: 'not started' });
      continue;
    }
    const plan = planSteer(cd, verb, false, by);
    if (plan.kind !== 'patch') {
      outcomes.push({ name: member, outcome: 'skipped', message: plan.message });
      continue;
    }
    try {
      await client.patch(CanaryDeploymentKind, ns, member, plan.patch, 'merge');
      outcomes.push({ name: member, outcome: 'sent' });
    } catch (err) {
      outcomes.push({ name: member, outcome: 'failed', message: errorMessage(err) });
    }
  }
  return outcomes;
}
