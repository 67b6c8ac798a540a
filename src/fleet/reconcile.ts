/**
 * The ReleaseGroup reconciler: observe the members, ask the plan (./plan.ts) what to do,
 * make the members the template asks for, give turns, abort, write the summary.
 *
 * Everything the group needs to continue is on the members themselves (their turn
 * annotation, their status): a controller killed at any moment lists them again and
 * takes the same decision; nothing is started twice, because a turn once given is on the
 * member. Turns given by this process that the cache does not show yet are remembered
 * (`given`), so a reconcile right after a grant does not give the same slot twice.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../api/kinds.ts';
import { CommandAnnotation, GroupTurnAnnotation } from '../api/names.ts';
import type { ReleaseGroup, ReleaseGroupStatus } from '../api/release-group.ts';
import { sumCosts } from '../canary/cost.ts';
import { Action } from '../runtime/action.ts';
import { apply, applyStatus } from '../runtime/apply.ts';
import { formatTime, mergeConditions } from '../runtime/conditions.ts';
import type { ObjectKey, ReconcileContext } from '../runtime/controller.ts';
import { Deployment } from '../runtime/kinds.ts';
import { apiVersionOf } from '../runtime/kinds.ts';
import { errorMessage } from '../runtime/errors.ts';
import { desiredMember, selectedMembers, templateMembers, type TemplateMember } from './membership.ts';
import { memberOf, planGroup, type Member } from './plan.ts';

/** Which groups of a namespace a changed CanaryDeployment or Deployment may concern. */
export interface GroupDirectory {
  /** Groups of `namespace` seen so far (template groups for Deployments, all for releases). */
  groupsOf(namespace: string | undefined, mode: 'template' | 'any'): ObjectKey[];
}

export interface GroupReconciler {
  reconcile(group: ReleaseGroup, ctx: ReconcileContext): Promise<Action>;
  directory: GroupDirectory;
}

/** Creates the reconciler and the directory its watches map through. */
export function createGroupReconciler(): GroupReconciler {
  /** `ns/group` → whether it has a template. */
  const seen = new Map<string, { key: ObjectKey; template: boolean }>();
  /** `ns/member` → the version whose turn this process gave. */
  const given = new Map<string, string>();

  const directory: GroupDirectory = {
    groupsOf(namespace, mode) {
      const out: ObjectKey[] = [];
      for (const entry of seen.values())
        if (entry.key.namespace === namespace && (mode === 'any' || entry.template)) out.push(entry.key);
      return out;
    },
  };

  async function reconcile(group: ReleaseGroup, ctx: ReconcileContext): Promise<Action> {
    const ns = group.metadata.namespace ?? '';
    const name = group.metadata.name ?? '';
    seen.set(`${ns}/${name}`, { key: { namespace: ns, name }, template: Boolean(group.spec.template) });
    const releases = ctx.cache(CanaryDeploymentKind).list(ns);
    const byName = new Map(releases.map((cd) => [cd.metadata.name ?? '', cd]));
    const turnGiven = (cd: CanaryDeployment) =>
      cd.metadata.annotations?.[GroupTurnAnnotation] === 'go' ||
      given.get(`${ns}/${cd.metadata.name}`) === cd.spec.canaryVersion;

    // The members, as they are after this reconcile's writes.
    let members: CanaryDeployment[];
    const problems: string[] = [];
    if (group.spec.template) {
      const deployments = ctx.cache(Deployment, { metadataOnly: true }).list(ns);
      const wanted: TemplateMember[] = templateMembers(
        group,
        deployments,
        (member) => byName.get(member),
        // A turn given but not yet in the cache is kept (the write said so).
        (member, image) => given.get(`${ns}/${member}`) === image,
      );
      members = [];
      for (const item of wanted) {
        if (item.kind === 'problem') {
          problems.push(item.message);
          continue;
        }
        const current = byName.get(item.name);
        try {
          members.push(await apply(ctx.client, CanaryDeploymentKind, item.desired, { current }));
        } catch (err) {
          // The API server's own words (a spec the CanaryDeployment schema refuses) name the field.
          problems.push(`${item.name}: ${errorMessage(err)}`);
          if (current) members.push(current);
        }
      }
    } else {
      members = selectedMembers(group, releases);
    }
    for (const cd of members) {
      const key = `${ns}/${cd.metadata.name}`;
      const version = given.get(key);
      if (
        version !== undefined &&
        (version !== cd.spec.canaryVersion || cd.metadata.annotations?.[GroupTurnAnnotation] === 'go')
      )
        given.delete(key);
    }

    const views = (list: readonly CanaryDeployment[]): Member[] =>
      list.map((cd) => {
        const m = memberOf(cd);
        return m.state === 'waiting' && turnGiven(cd) ? { ...m, state: 'running' } : m;
      });
    const plan = planGroup(group.spec, views(members));

    for (const memberName of plan.start) {
      const cd = members.find((m) => m.metadata.name === memberName);
      if (!cd) continue;
      if (group.spec.template) {
        await apply(
          ctx.client,
          CanaryDeploymentKind,
          desiredMember(group, memberName, cd.spec.canaryVersion, 'go'),
          {
            current: cd,
          },
        );
      } else {
        await ctx.client.patch(
          CanaryDeploymentKind,
          ns,
          memberName,
          { metadata: { annotations: { [GroupTurnAnnotation]: 'go' } } },
          'merge',
        );
      }
      given.set(`${ns}/${memberName}`, cd.spec.canaryVersion);
      await ctx.events.publish(group, {
        type: 'Normal',
        reason: 'TurnGiven',
        note: `${memberName} starts releasing ${cd.spec.canaryVersion}`,
        action: 'Start',
      });
    }
    const abortCommand = `abort:group-${group.metadata.generation ?? 0}`;
    for (const memberName of plan.abort) {
      const cd = members.find((m) => m.metadata.name === memberName);
      if (!cd || cd.metadata.annotations?.[CommandAnnotation] === abortCommand) continue;
      await ctx.client.patch(
        CanaryDeploymentKind,
        ns,
        memberName,
        { metadata: { annotations: { [CommandAnnotation]: abortCommand } } },
        'merge',
      );
    }

    // The summary as it stands after the turns just given (its own start list is not acted on).
    const summary = planGroup(
      group.spec,
      views(members).map((m): Member => (plan.start.includes(m.name) ? { ...m, state: 'running' } : m)),
    );
    await writeStatus(group, summary, members, problems, ctx);
    return Action.awaitChange();
  }

  async function writeStatus(
    group: ReleaseGroup,
    plan: ReturnType<typeof planGroup>,
    members: readonly CanaryDeployment[],
    problems: string[],
    ctx: ReconcileContext,
  ): Promise<void> {
    const now = ctx.now();
    const previous = group.status ?? {};
    const finished = plan.phase === 'Completed' || plan.phase === 'Failed';
    const costs = members.flatMap((cd) => (cd.status?.cost ? [cd.status.cost] : []));
    const generation = group.metadata.generation ?? 0;
    const status: ReleaseGroupStatus = {
      phase: plan.phase,
      reason: plan.reason,
      message:
        problems.length > 0
          ? `${plan.message}; ${problems.length} members cannot be made (status.problems)`
          : plan.message,
      observedGeneration: generation,
      counts: plan.counts,
      summary: `${plan.counts.completed}/${plan.counts.total} done, ${plan.counts.running} running, ${plan.counts.failed} failed`,
      startedAt: previous.startedAt ?? formatTime(now),
      conditions: mergeConditions(
        previous.conditions,
        [
          {
            type: 'Ready',
            status: plan.phase === 'Completed' ? 'True' : 'False',
            reason: plan.reason,
            message: plan.message,
            observedGeneration: generation,
          },
          {
            type: 'Progressing',
            status: finished ? 'False' : 'True',
            reason: plan.reason,
            message: plan.message,
            observedGeneration: generation,
          },
        ],
        now,
      ),
    };
    if (plan.failed.length > 0) status.failed = plan.failed;
    if (problems.length > 0) status.problems = problems.slice(0, 20);
    if (finished)
      status.completedAt =
        previous.phase === plan.phase && previous.completedAt ? previous.completedAt : formatTime(now);
    if (costs.length > 0) status.cost = sumCosts(costs);
    // Once per change: the group ended, or the failure limit stopped new starts.
    const changed = previous.phase !== plan.phase || previous.reason !== plan.reason;
    if (changed && (finished || plan.reason === 'FailureLimitReached')) {
      await ctx.events.publish(group, {
        type: plan.phase === 'Completed' ? 'Normal' : 'Warning',
        reason: plan.phase === 'Completed' ? 'GroupCompleted' : plan.reason,
        note: plan.message,
        action: 'Summarize',
      });
    }
    await applyStatus(
      ctx.client,
      ReleaseGroupKind,
      {
        apiVersion: apiVersionOf(ReleaseGroupKind),
        kind: ReleaseGroupKind.kind,
        metadata: { name: group.metadata.name, namespace: group.metadata.namespace },
        status,
      },
      { current: group },
    );
  }

  return { reconcile, directory };
}
