/**
 * The ReleasePlan reconciler: look at the plan's release in every cluster, ask the plan
 * (./plan.ts) what to do, make the releases of the wave whose turn it is, abort on a
 * failure, write the status.
 *
 * The other clusters are not watched (a watch per cluster per plan would hold many
 * connections for a state that changes every few seconds at most): a plan still moving
 * is looked at again every `pollMs`. Everything the plan needs to continue is in the
 * clusters (the releases, marked with the plan's annotation) and in its own status (that
 * it failed, which releases it saw complete): a controller killed at any moment observes
 * again and takes the same decision.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleasePlanKind } from '../api/kinds.ts';
import { CommandAnnotation, CommandAuthorSeparator, ReleasePlanAnnotation } from '../api/names.ts';
import type { ReleasePlan, ReleasePlanStatus, WaveStatus } from '../api/release-plan.ts';
import { Action } from '../runtime/action.ts';
import { applyStatus } from '../runtime/apply.ts';
import type { Desired } from '../runtime/client.ts';
import { formatTime, mergeConditions } from '../runtime/conditions.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { errorMessage } from '../runtime/errors.ts';
import { apiVersionOf } from '../runtime/kinds.ts';
import type { ClusterClient, ClusterClients } from './clusters.ts';
import {
  planWaves,
  releaseStateOf,
  type ClusterObservation,
  type PlanMemory,
  type WavePlan,
} from './plan.ts';

/** How often a plan still moving looks at its clusters again. */
export const DEFAULT_POLL_MS = 5_000;

export interface PlanReconcilerOptions {
  clusters: ClusterClients;
  /** @default {@link DEFAULT_POLL_MS} */
  pollMs?: number;
}

/** The CanaryDeployment `plan` makes in each cluster. */
export function desiredRelease(plan: ReleasePlan): Desired<CanaryDeployment> {
  const t = plan.spec.template;
  return {
    apiVersion: apiVersionOf(CanaryDeploymentKind),
    kind: CanaryDeploymentKind.kind,
    metadata: {
      name: t.name,
      namespace: t.namespace,
      ...(t.labels ? { labels: { ...t.labels } } : {}),
      annotations: { [ReleasePlanAnnotation]: ownerOf(plan) },
    },
    spec: t.spec,
  };
}

const ownerOf = (plan: ReleasePlan) => `${plan.metadata.namespace ?? ''}/${plan.metadata.name ?? ''}`;

/** Creates the reconcile function of ReleasePlans. */
export function createPlanReconciler(options: PlanReconcilerOptions) {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;

  return async function reconcile(plan: ReleasePlan, ctx: ReconcileContext): Promise<Action> {
    const ns = plan.metadata.namespace ?? '';
    const generation = plan.metadata.generation ?? 0;
    const template = plan.spec.template;
    const previous = plan.status ?? {};
    const sameGeneration = previous.observedGeneration === generation;

    // What every cluster shows, looked at in parallel (one slow cluster costs its timeout once).
    const observe = async (cluster: string): Promise<[ClusterClient, ClusterObservation]> => {
      const remote = await options.clusters.get(ctx.client, ns, cluster);
      if ('error' in remote)
        return [remote, { state: 'unreachable', reason: 'ClusterUnreachable', message: remote.error }];
      try {
        const cd = await remote.client.get(CanaryDeploymentKind, template.namespace, template.name);
        if (!cd) return [remote, { state: 'absent' }];
        if (cd.metadata.annotations?.[ReleasePlanAnnotation] !== ownerOf(plan))
          return [
            remote,
            {
              state: 'foreign',
              message: `CanaryDeployment ${template.namespace}/${template.name} exists and was not made by this plan`,
            },
          ];
        // Made for another version of the plan: made again (updated) when its wave comes.
        if (cd.spec.canaryVersion !== template.spec.canaryVersion) return [remote, { state: 'absent' }];
        return [remote, releaseStateOf(cd)];
      } catch (err) {
        return [remote, { state: 'unreachable', reason: 'ClusterUnreachable', message: errorMessage(err) }];
      }
    };
    const names = [...new Set(plan.spec.waves.flatMap((w) => w.clusters))];
    const seen = await Promise.all(names.map(observe));
    const clients = new Map(names.map((name, i) => [name, seen[i]?.[0]]));
    const observed = new Map<string, ClusterObservation>();
    names.forEach((name, i) => {
      const obs = seen[i]?.[1];
      if (obs) observed.set(name, obs);
    });

    const memory: PlanMemory = {};
    if (sameGeneration) {
      if (previous.phase === 'Failed')
        memory.failed = { reason: previous.reason ?? 'Failed', message: previous.message ?? '' };
      memory.completed = new Set(
        (previous.waves ?? []).flatMap((w) =>
          w.clusters.filter((c) => c.phase === 'Completed').map((c) => c.name),
        ),
      );
    }
    const decided = planWaves(plan.spec, observed, memory);

    const problems: string[] = [];
    for (const cluster of decided.create) {
      const remote = clients.get(cluster);
      if (!remote || 'error' in remote) continue;
      try {
        await remote.client.apply(CanaryDeploymentKind, desiredRelease(plan), { force: true });
        await ctx.events.publish(plan, {
          type: 'Normal',
          reason: 'ReleaseCreated',
          note: `wave ${decided.currentWave ?? ''}: ${template.namespace}/${template.name} releasing ${template.spec.canaryVersion} in ${cluster}`,
          action: 'Create',
        });
      } catch (err) {
        problems.push(`${cluster}: ${errorMessage(err)}`);
        ctx.log.warn({ cluster, err }, 'cannot make the release in a cluster');
      }
    }
    for (const cluster of decided.abort) {
      const remote = clients.get(cluster);
      if (!remote || 'error' in remote) continue;
      const command = `abort:plan-${plan.metadata.uid ?? ''}-${generation}${CommandAuthorSeparator}releaseplan/${ownerOf(plan)}`;
      try {
        const cd = await remote.client.get(CanaryDeploymentKind, template.namespace, template.name);
        if (!cd || cd.metadata.annotations?.[CommandAnnotation] === command) continue;
        await remote.client.patch(
          CanaryDeploymentKind,
          template.namespace,
          template.name,
          { metadata: { annotations: { [CommandAnnotation]: command } } },
          'merge',
        );
        await ctx.events.publish(plan, {
          type: 'Warning',
          reason: 'ReleaseAborted',
          note: `aborted the release in ${cluster}: ${decided.message}`,
          action: 'Abort',
        });
      } catch (err) {
        problems.push(`${cluster}: ${errorMessage(err)}`);
      }
    }

    await writeStatus(plan, decided, problems, ctx);
    const settled =
      decided.phase === 'Completed' || (decided.phase === 'Failed' && decided.abort.length === 0);
    return settled ? Action.awaitChange() : Action.requeue(pollMs);
  };
}

async function writeStatus(plan: ReleasePlan, decided: WavePlan, problems: string[], ctx: ReconcileContext) {
  const now = formatTime(ctx.now());
  const generation = plan.metadata.generation ?? 0;
  const previous = plan.status ?? {};
  const before = previous.observedGeneration === generation ? (previous.waves ?? []) : [];
  const finished = decided.phase !== 'Progressing';
  const waves: WaveStatus[] = decided.waves.map((wave) => {
    const old = before.find((w) => w.name === wave.name);
    const out: WaveStatus = { ...wave };
    const started = wave.phase !== 'Pending' && !wave.clusters.every((c) => c.phase === 'NotStarted');
    const startedAt = old?.startedAt ?? (started ? now : undefined);
    if (startedAt) out.startedAt = startedAt;
    const ended = wave.phase === 'Completed' || wave.phase === 'Failed';
    const completedAt = old?.completedAt ?? (ended ? now : undefined);
    if (ended && completedAt) out.completedAt = completedAt;
    return out;
  });
  // Once per wave: the Events that tell the plan's story.
  for (const wave of waves) {
    const old = before.find((w) => w.name === wave.name);
    if (wave.startedAt && !old?.startedAt)
      await ctx.events.publish(plan, {
        type: 'Normal',
        reason: 'WaveStarted',
        note: `wave ${wave.name} started: ${wave.clusters.map((c) => c.name).join(', ')}`,
        action: 'Start',
      });
    if (wave.phase === 'Completed' && old?.phase !== 'Completed')
      await ctx.events.publish(plan, {
        type: 'Normal',
        reason: 'WaveCompleted',
        note: `wave ${wave.name} completed in every cluster`,
        action: 'Complete',
      });
  }
  const changed = previous.phase !== decided.phase || previous.reason !== decided.reason;
  if (changed && finished)
    await ctx.events.publish(plan, {
      type: decided.phase === 'Completed' ? 'Normal' : 'Warning',
      reason: decided.phase === 'Completed' ? 'PlanCompleted' : decided.reason,
      note: decided.message,
      action: 'Summarize',
    });

  const message =
    problems.length > 0 ? `${decided.message}; cannot write to ${problems.join('; ')}` : decided.message;
  const status: ReleasePlanStatus = {
    phase: decided.phase,
    reason: decided.reason,
    message,
    observedGeneration: generation,
    waves,
    startedAt: previous.startedAt ?? now,
    conditions: mergeConditions(
      previous.conditions,
      [
        {
          type: 'Ready',
          status: decided.phase === 'Completed' ? 'True' : 'False',
          reason: decided.reason,
          message,
          observedGeneration: generation,
        },
        {
          type: 'Progressing',
          status: finished ? 'False' : 'True',
          reason: decided.reason,
          message,
          observedGeneration: generation,
        },
      ],
      ctx.now(),
    ),
  };
  if (decided.currentWave) status.currentWave = decided.currentWave;
  if (finished)
    status.completedAt =
      previous.phase === decided.phase && previous.completedAt ? previous.completedAt : now;
  await applyStatus(
    ctx.client,
    ReleasePlanKind,
    {
      apiVersion: apiVersionOf(ReleasePlanKind),
      kind: ReleasePlanKind.kind,
      metadata: { name: plan.metadata.name, namespace: plan.metadata.namespace },
      status,
    },
    { current: plan },
  );
}
