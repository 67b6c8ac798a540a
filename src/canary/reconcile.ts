/**
 * The CanaryDeployment reconciler: observe (informer caches, one analysis when due),
 * decide (the pure state machine in ./phases.ts), act (./effects.ts), write status.
 *
 * Reads come from the caches; the only reads sent to the API server are one read-back
 * of the traffic weight per release after the process starts (to repair what a
 * controller killed mid-rollback left). Prometheus is never awaited here: a due analysis
 * runs in the background (./analysis.ts) and the reconcile its end triggers counts it.
 *
 * Addresses the operator did not allow (./admission.ts) are refused with the `Accepted`
 * condition and a Warning Event; a refused Prometheus blocks the release.
 *
 * Stale caches: right after a status write, another event (a pod, a Deployment) may
 * trigger a reconcile before the watch has delivered our own write. Reconciling the
 * older status would take the same step again (a second Event, a shifted deadline), so
 * the last status written per object is remembered with the resourceVersion it replaced,
 * and used instead of a cached object that still has that resourceVersion.
 */
import {
  apiVersionOf,
  Deployment as DeploymentKind,
  HorizontalPodAutoscaler as HorizontalPodAutoscalerKind,
  Pod as PodKind,
  Service as ServiceKind,
} from '../runtime/kinds.ts';
import type { KubeObject } from '../runtime/client.ts';
import type {
  CanaryDeployment,
  CanaryDeploymentStatus,
  TrafficProviderName,
} from '../api/canary-deployment.ts';
import { GroupLabel, GroupTurnAnnotation, OwnerLabel, PausedByAnnotation, RoleLabel } from '../api/names.ts';
import { Action } from '../runtime/action.ts';
import { applyStatus } from '../runtime/apply.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { TerminalError } from '../runtime/errors.ts';
import { getCondition, mergeConditions, setCondition } from '../runtime/conditions.ts';
import { TrafficError, capabilitiesOf } from '../traffic/index.ts';
import { replicaSplit } from '../traffic/replicas.ts';
import { prometheusAllowList } from '../analysis/allowed.ts';
import { canaryVersionLabelOf, stableVersionLabelOf } from '../analysis/queries.ts';
import type { NotificationEvent } from '../api/canary-deployment.ts';
import type { ReceiverProblem } from '../notify/resolve.ts';
import { acceptedCondition, AcceptedCondition, refusals, type Refusal } from './admission.ts';
import { createAnalysisRunner } from './analysis.ts';
import type { GatePoll, GateRunner } from './gates.ts';
import type { SecretReader } from '../analysis/credentials.ts';
import { pendingCommand } from './commands.ts';
import {
  cleanupTraffic,
  executeEffects,
  ownedByRelease,
  releaseEnv,
  teardownEnv,
  type Notifier,
  type ReleaseEnv,
  type StablePodLabels,
  type TeardownEnv,
} from './effects.ts';
import { createStablePods, type StablePods } from './stable-pods.ts';
import { trafficRecordOf } from './traffic-record.ts';
import { decideError, TrafficCondition, type ErrorDecision } from './error-policy.ts';
import type { AnalysisObservation, Observations, Transition } from './model.ts';
import { analysisDue, pauseFromWrite, stopped, transition } from './phases.ts';
import { isFinished } from './steering.ts';
import { assessPods } from './pod-health.ts';
import { releaseSettings } from './settings.ts';
import { withConditions } from './status.ts';
import { podRequestsOf, withCost } from './cost.ts';
import {
  canaryDeploymentName,
  extraPodLabels,
  releasedContainer,
  rolledOut,
  type Deployment,
} from './workloads.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';
import type { AuditTrail } from '../audit/trail.ts';

/**
 * `status` with the `Accepted` condition for `refused`. The condition appears with the
 * first refusal and then stays (True once the spec is fixed); a release never refused
 * does not carry it, so its status is what it always was.
 */
function withAccepted(
  status: CanaryDeploymentStatus,
  refused: readonly Refusal[],
  previous: CanaryDeploymentStatus | undefined,
  generation: number,
  now: Date,
): CanaryDeploymentStatus {
  // `previous`: a release that starts afresh gets a new status, and must still be told its refusal is over.
  const carried =
    getCondition(status.conditions, AcceptedCondition) ??
    getCondition(previous?.conditions, AcceptedCondition);
  if (refused.length === 0 && !carried) return status;
  return {
    ...status,
    conditions: mergeConditions(status.conditions, [acceptedCondition(refused, generation)], now),
  };
}

/**
 * The longest an active release waits for a deadline of its own (a long pause is looked
 * at again after this, then waits on; it also keeps timers within what setTimeout holds).
 * A release with no deadline (paused, waiting for approval) waits for a change only:
 * every object it depends on is watched, so nothing wakes it for nothing.
 */
export const LONGEST_WAIT_MS = 6 * 60 * 60_000;

/** How many sent notifications are remembered, to send each transition's once. */
const ANNOUNCED_LIMIT = 50_000;

export interface CanaryReconcilerOptions {
  /** `--prometheus-url`: Prometheus of releases that name none. */
  prometheusUrl?: string | undefined;
  /**
   * `--allowed-prometheus-url`: addresses releases may name besides `prometheusUrl`.
   * @default none (only `prometheusUrl`)
   */
  allowedPrometheusUrls?: readonly string[] | undefined;
  /** `--allow-internal-notification-urls`: notification URLs may be cluster-internal. @default false */
  allowInternalNotificationUrls?: boolean | undefined;
  /**
   * Sends notifications; failures are its own business (never awaited by a release).
   * Receivers its report marks `refused` (a URL policy refusal) become Warning Events.
   */
  notify?: ReportingNotifier | undefined;
  /** Reads the Secret a release names in `metrics.provider.secretRef` (opt-in checked by ../analysis/credentials.ts). @default none */
  readSecret?: SecretReader | undefined;
  /** Calls releases' webhook gates (./gates.ts). @default none: a release awaiting a gate is told this controller calls none */
  gates?: GateRunner | undefined;
  /** `--audit-sink`: told of every status stored (../audit/trail.ts). @default none */
  audit?: AuditTrail | undefined;
}

/** A notifier whose report (if any) lists receivers it refused. */
export type ReportingNotifier = (
  event: NotificationEvent,
  cd: CanaryDeployment,
  message: string,
) => Promise<
  | { problems?: readonly ReceiverProblem[]; deliveries?: readonly { receiver: string; error?: string }[] }
  | undefined
  | void
>;

/** The reconciler with the in-memory state it keeps across reconciles of one process. */
export interface CanaryReconciler {
  reconcile(cd: CanaryDeployment, ctx: ReconcileContext): Promise<Action>;
  cleanup(cd: CanaryDeployment, ctx: ReconcileContext): Promise<Action | void>;
  /** The controller's error policy: carries out ./error-policy.ts for a failed reconcile or cleanup. */
  errorPolicy(err: unknown, cd: CanaryDeployment, ctx: ReconcileContext): Promise<Action | undefined>;
}

/** Creates the reconciler. */
export function createCanaryReconciler(options: CanaryReconcilerOptions = {}): CanaryReconciler {
  /** uid → the status we last wrote and the resourceVersion it replaced. */
  const written = new Map<string, { replaced: string | undefined; object: CanaryDeployment }>();
  /** uids whose traffic weight was read back since this process started. */
  const verified = new Set<string>();
  /** `uid/version/phase` whose provider cleanup ran since this process started. */
  const cleaned = new Set<string>();
  const gateRunner = options.gates;
  const analyses = createAnalysisRunner({
    defaultAddress: options.prometheusUrl,
    ...(options.readSecret ? { readSecret: options.readSecret } : {}),
    ...(gateRunner
      ? {
          callGates: (cd: CanaryDeployment, type: 'Rollout', signal: AbortSignal) =>
            gateRunner.call(cd, type, signal),
        }
      : {}),
  });
  /** `uid/run/version/type` of PostRollout and Rollback gates called since this process started. */
  const calledGates = new Set<string>();
  /** Per target Deployment: the labels of its current pods, looked up once it has settled. */
  let stablePodsLookup: StablePods | undefined;
  const policy = {
    prometheus: prometheusAllowList(options.prometheusUrl, options.allowedPrometheusUrls ?? []),
    allowInternalNotificationUrls: options.allowInternalNotificationUrls ?? false,
  };

  /**
   * The notifier of one reconcile. Receivers left out when resolving (a Secret not opted
   * in, a refused URL, ...) go back to ./effects.ts, which reports them as the
   * `NotificationsReady` condition and Events; a delivery the URL policy refused at send
   * time (a name that resolved to an internal address) is an Event here.
   */
  function notifierFor(ctx: ReconcileContext): Notifier | undefined {
    const send = options.notify;
    if (!send) return undefined;
    return async (event, cd, message) => {
      // One message per transition of one run of a release (a run is its startedAt): two
      // reconciles that both computed the same transition (seen once as a second
      // `Completed` in CI) must not announce it twice.
      const key = `${cd.metadata.uid ?? ''}/${cd.status?.startedAt ?? ''}/${cd.status?.releaseVersion ?? ''}/${event}/${cd.status?.currentStepIndex ?? ''}`;
      // Not sent: nothing was resolved, so nothing to report (an empty list would clear
      // the NotificationsReady condition the first announcement set).
      if (announced.has(key)) return undefined;
      announced.add(key);
      if (announced.size > ANNOUNCED_LIMIT) announced.delete(announced.values().next().value ?? '');
      const report = await send(event, cd, message);
      const refusedAtSend = (report?.deliveries ?? []).filter((d) => d.error?.startsWith('refused:'));
      for (const d of refusedAtSend)
        await ctx.events.publish(cd, {
          type: 'Warning',
          reason: 'NotificationURLRefused',
          note: `${d.receiver}: ${d.error ?? ''}`,
        });
      return report?.problems ?? [];
    };
  }

  /** Notifications sent since this process started (oldest first), by transition. */
  const announced = new Set<string>();

  /** The freshest view of the object: ours if the cache has not caught up with our write. */
  function fresh(cd: CanaryDeployment): CanaryDeployment {
    const uid = cd.metadata.uid ?? '';
    const memo = written.get(uid);
    if (!memo) return cd;
    if (cd.metadata.resourceVersion === memo.replaced) return { ...cd, status: memo.object.status };
    written.delete(uid);
    return cd;
  }

  async function reconcile(cached: CanaryDeployment, ctx: ReconcileContext): Promise<Action> {
    const cd = fresh(cached);
    const resolved = releaseSettings(cd.spec);
    if (!resolved.ok) throw new TerminalError(resolved.problems.join('; '), { reason: 'InvalidSpec' });
    const extra = extraPodLabels(cd);
    if ('error' in extra) throw new TerminalError(extra.error, { reason: 'InvalidSpec' });
    // Who paused is metadata, not spec: it rides with the settings the machine reads.
    const settings = {
      ...resolved.settings,
      pausedBy: cd.metadata.annotations?.[PausedByAnnotation] || undefined,
    };
    const ns = cd.metadata.namespace ?? '';
    const uid = cd.metadata.uid ?? '';
    const now = ctx.now();

    const { deployments, stable, canary, service, pods } = lookUp(cd, ctx);
    if (canary && !ownedByRelease(canary, cd)) {
      throw new TrafficError(
        settings.provider,
        'NameTaken',
        `Deployment ${ns}/${canary.metadata.name} (the canary's name) exists and was not created by this release; it is left as it is`,
      );
    }
    if (stable && !releasedContainer(stable.spec?.template, cd.spec.container)) {
      throw new TerminalError(
        `container ${cd.spec.container ?? '(first)'} not found in Deployment ${cd.spec.targetDeployment}`,
        { reason: 'ContainerNotFound' },
      );
    }
    const stablePods = await stablePodsOf(cd, ctx, stable, settings.provider);
    const env = releaseEnv({
      cd,
      ctx,
      settings,
      stable,
      canary,
      service,
      extraLabels: extra.labels,
      notify: notifierFor(ctx),
      stablePods,
    });

    const status = cd.status;
    const refused = refusals(cd, policy);
    const blocking = settings.analysis ? refused.find((r) => r.blocks) : undefined;
    let analysis: AnalysisObservation | undefined;
    let analysisRunning = false;
    if (!blocking && analysisDue(settings, status, now.getTime())) {
      const polled = analyses.poll(cd, {
        canaryVersionLabel: canary?.spec?.template?.metadata?.labels?.['version'],
        stableVersionLabel: stableVersionLabelOf(
          stable?.spec?.template?.metadata?.labels,
          canaryVersionLabelOf(canary?.spec?.template?.metadata?.labels),
        ),
        now,
        wake: () => ctx.enqueue({ namespace: ns, name: cd.metadata.name ?? '' }),
      });
      if (polled.kind === 'done') analysis = polled.observation;
      else analysisRunning = true;
    }
    const awaited = gateAwaited(status, now.getTime());
    let gate: Observations['gate'];
    let gateRunning = false;
    if (awaited) {
      const polled: GatePoll = gateRunner
        ? gateRunner.poll(cd, awaited, () => ctx.enqueue({ namespace: ns, name: cd.metadata.name ?? '' }))
        : {
            kind: 'done',
            results: [
              {
                name: '*',
                type: awaited,
                passed: false,
                time: now.toISOString(),
                message: 'this controller calls no webhook gates',
              },
            ],
          };
      if (polled.kind === 'done') gate = { type: awaited, results: polled.results };
      else gateRunning = true;
    }
    const obs: Observations = {
      now: now.getTime(),
      generation: cd.metadata.generation ?? 0,
      stable: stable && {
        image: releasedContainer(stable.spec?.template, cd.spec.container)?.image,
        rolledOut: rolledOut(stable),
        replicas: stable.spec?.replicas ?? 1,
        strategy: strategyOf(stable),
      },
      canary: canary && {
        image: releasedContainer(canary.spec?.template, cd.spec.container)?.image,
        replicas: canary.spec?.replicas ?? 1,
        // A step starts only on a settled cluster: the canary and the stable side available.
        ready: rolledOut(canary) && (stable === undefined || rolledOut(stable)),
      },
      pods: assessPods(pods, {
        now: now.getTime(),
        notReadyGraceMs: settings.autoRollback.notReadyGraceMs,
        image: settings.version,
        container: cd.spec.container,
      }),
      analysis,
      analysisRunning,
      blocked: blocking && { reason: blocking.reason, message: blocking.message },
      waitingForGroup: waitingForGroup(cd),
      command: pendingCommand(cd),
      gate,
      gateRunning,
    };
    const stepping =
      (status?.phase === 'Progressing' || status?.phase === 'Paused') &&
      (status.currentStepIndex ?? 0) < (status.totalSteps ?? 0);
    if (stepping && capabilitiesOf(env.recorded.provider.name).exactWeights && !verified.has(uid)) {
      // Once per process: what a controller killed mid-write left in the routes (of the
      // recorded objects: the spec's may have changed, which the transition rolls back).
      obs.weight = await env.recorded.provider.readWeight(env.recorded.target);
      verified.add(uid);
    }
    if (settings.scalesWithWeight && stable && (starting(cd) || rescaled(cd, stable)))
      obs.autoscaler = await autoscalerOf(cd, ctx);

    const tr = transition(settings, status, obs);
    // The canary copies the stable pod template: its requests are the stable pods'.
    tr.status = withCost(tr.status, status, podRequestsOf(stable?.spec?.template), now.getTime());
    await commit(env, cd, tr, ctx, now, { refused });

    if (isFinished(tr.status.phase)) {
      analyses.forget(uid);
      gateRunner?.forget(uid);
      // The provider's leftovers (subsets, canary backendRefs) go once the canary pods are gone.
      const key = `${uid}/${tr.status.releaseVersion}/${tr.status.phase}`;
      const gone =
        !deployments.get(ns, canaryDeploymentName(cd.spec.targetDeployment)) &&
        pods.length === 0 &&
        !tr.effects.some((e) => e.type === 'deleteCanary');
      if (gone && !cleaned.has(key)) {
        await cleanupTraffic(env);
        cleaned.add(key);
      }
      if (!gone) return Action.requeue(2_000);
      return Action.awaitChange();
    }
    if (tr.requeueAfterMs === undefined) return Action.awaitChange();
    return Action.requeue(Math.max(50, Math.min(tr.requeueAfterMs, LONGEST_WAIT_MS)));
  }

  /**
   * Carries out a transition: the effects before the status write, the status, the rest;
   * then the notifications, which leave only once the transition they announce is stored
   * (a status write that fails is retried with the whole transition, and must not
   * announce it twice), describing the release as it is now, not as it was read.
   */
  async function commit(
    env: ReleaseEnv | TeardownEnv,
    cd: CanaryDeployment,
    tr: Transition,
    ctx: ReconcileContext,
    now: Date,
    extra: { trafficProblem?: { reason: string; message: string }; refused?: readonly Refusal[] } = {},
  ): Promise<void> {
    const notifications = tr.effects.filter((effect) => effect.type === 'notify');
    const writes = (effects: typeof tr.effects) => effects.filter((effect) => effect.type !== 'notify');
    await executeEffects(env, writes(tr.effects.slice(0, tr.statusAfter)));
    // The traffic is in place now: a pause this transition began counts from here.
    const status = pauseFromWrite(tr.status, cd.status, ctx.now().getTime() - now.getTime());
    const generation = status.observedGeneration ?? cd.metadata.generation ?? 0;
    const refused = extra.refused ?? [];
    await writeStatus(
      cd,
      withAccepted(
        withConditions(status, generation, now, extra.trafficProblem),
        refused,
        cd.status,
        generation,
        now,
      ),
      ctx,
    );
    if (extra.refused) await reportRefusals(cd, extra.refused, ctx);
    await executeEffects(env, writes(tr.effects.slice(tr.statusAfter)));
    if (notifications.length > 0) await executeEffects({ ...env, cd: { ...cd, status } }, notifications);
    for (const n of notifications) if (n.type === 'notify') finalGates({ ...cd, status }, n.event, ctx);
  }

  /**
   * PostRollout gates once a release Completed or rolled back, and Rollback gates once it
   * rolled back: in the background, once per run of a release; a failure is a Warning Event.
   */
  function finalGates(cd: CanaryDeployment, event: NotificationEvent, ctx: ReconcileContext): void {
    if (!gateRunner || (event !== 'Completed' && event !== 'RolledBack')) return;
    const types =
      event === 'RolledBack' ? (['Rollback', 'PostRollout'] as const) : (['PostRollout'] as const);
    for (const type of types) {
      const key = `${cd.metadata.uid ?? ''}/${cd.status?.startedAt ?? ''}/${cd.status?.releaseVersion ?? ''}/${type}`;
      if (calledGates.has(key) || !(cd.spec.webhooks ?? []).some((g) => g.type === type)) continue;
      calledGates.add(key);
      if (calledGates.size > ANNOUNCED_LIMIT) calledGates.delete(calledGates.values().next().value ?? '');
      void gateRunner.call(cd, type).then(async (results) => {
        for (const r of results) {
          if (r.passed)
            await ctx.events.publish(cd, {
              type: 'Normal',
              reason: 'GatePassed',
              note: `${type} gate ${r.name}: ${r.message ?? 'ok'}`,
            });
          else
            await ctx.events.publish(cd, {
              type: 'Warning',
              reason: 'GateFailed',
              note: `${type} gate ${r.name}: ${r.message ?? 'no answer'}`,
            });
        }
      });
    }
  }

  /** Server-side applies the whole status (skipped when unchanged) and remembers what was stored. */
  async function writeStatus(
    cd: CanaryDeployment,
    status: CanaryDeploymentStatus,
    ctx: ReconcileContext,
  ): Promise<void> {
    const body: KubeObject & { status: CanaryDeploymentStatus } = {
      apiVersion: apiVersionOf(CanaryDeploymentKind),
      kind: CanaryDeploymentKind.kind,
      metadata: { name: cd.metadata.name, namespace: cd.metadata.namespace },
      status,
    };
    // A first reconcile runs while the finalizer is added (controller.ts): the status goes
    // on top of that write, and the memo must name the version it replaces.
    const added = await ctx.finalizerStored();
    const current: CanaryDeployment = added
      ? {
          ...cd,
          metadata: {
            ...cd.metadata,
            resourceVersion: added.metadata.resourceVersion,
            finalizers: added.metadata.finalizers,
          },
        }
      : cd;
    const stored = await applyStatus(ctx.client, CanaryDeploymentKind, body, { current });
    // Only what the API server holds goes to the audit trail (also an unchanged status: a
    // process's first write replays what an earlier one may not have delivered).
    options.audit?.statusStored(cd, cd.status, stored.status);
    if (stored !== current)
      written.set(cd.metadata.uid ?? '', { replaced: current.metadata.resourceVersion, object: stored });
  }

  async function cleanup(cached: CanaryDeployment, ctx: ReconcileContext): Promise<Action | void> {
    const cd = fresh(cached);
    // Works from the recorded traffic settings, not the spec: it may be invalid or changed.
    const env = teardownEnv(cd, ctx, notifierFor(ctx), await recordedStablePods(cd, ctx));
    if (await teardown(cd, ctx, env)) {
      ctx.log.info('deleting: traffic back on stable, waiting for the canary pods to go');
      return Action.requeue(500);
    }
    written.delete(cd.metadata.uid ?? '');
    analyses.forget(cd.metadata.uid ?? '');
    await options.audit?.deleted(cd, cd.status, ctx.now());
    if (!isFinished(cd.status?.phase) && cd.status?.phase !== undefined) {
      await ctx.events.publish(cd, {
        type: 'Normal',
        reason: 'Deleted',
        note: 'deleted mid-release: all traffic back on stable, canary removed',
      });
    }
  }

  /** A Warning Event per refusal, once: when the `Accepted` condition the release carried says otherwise. */
  async function reportRefusals(
    cd: CanaryDeployment,
    refused: readonly Refusal[],
    ctx: ReconcileContext,
  ): Promise<void> {
    const before = getCondition(cd.status?.conditions, AcceptedCondition);
    const now = acceptedCondition(refused, 0);
    if (before?.status === now.status && before.message === now.message) return;
    for (const r of refused)
      await ctx.events.publish(cd, { type: 'Warning', reason: r.reason, note: `${r.field}: ${r.message}` });
  }

  /**
   * Takes what is left of a release down: traffic to stable and the canary removed while
   * the canary (or its pods) is still there, the provider's leftovers once they are gone
   * (once per process and release). Returns true while the canary is still going.
   */
  async function teardown(cd: CanaryDeployment, ctx: ReconcileContext, env: TeardownEnv): Promise<boolean> {
    const { canary, pods } = lookUp(cd, ctx);
    if ((canary && ownedByRelease(canary, cd)) || pods.length > 0) {
      // Traffic first, then the canary: the same order as a rollback.
      await executeEffects(env, [{ type: 'resetTraffic' }, { type: 'deleteCanary' }]);
      return true;
    }
    const key = `${cd.metadata.uid ?? ''}/${cd.status?.releaseVersion ?? ''}/${cd.status?.phase ?? ''}`;
    if (!cleaned.has(key)) {
      await cleanupTraffic(env);
      cleaned.add(key);
    }
    return false;
  }

  async function errorPolicy(
    err: unknown,
    cached: CanaryDeployment,
    ctx: ReconcileContext,
  ): Promise<Action | undefined> {
    const decision = decideError(err);
    if (!decision) return undefined;
    const cd = fresh(cached);
    const trafficProblem =
      decision.condition === TrafficCondition
        ? { reason: decision.reason, message: decision.message }
        : undefined;
    if (decision.then === 'retry') {
      await report(cd, ctx, decision);
      return Action.retry();
    }
    // A stop: an active release goes down like a rollback, through its recorded provider.
    const env = teardownEnv(cd, ctx, notifierFor(ctx), await recordedStablePods(cd, ctx));
    const now = ctx.now();
    const why = trafficProblem
      ? decision.message
      : `${decision.message}; all traffic went back to stable and the canary was removed: fix the spec, then \`codedance retry\` releases again`;
    const tr = cd.metadata.deletionTimestamp
      ? undefined
      : stopped(
          cd.status,
          { now: now.getTime(), generation: cd.metadata.generation ?? 0 },
          decision.reason,
          why,
        );
    if (tr) {
      ctx.log.warn({ reason: decision.reason }, `release stopped: ${why}`);
      await commit(env, cd, tr, ctx, now, trafficProblem ? { trafficProblem } : {});
      return Action.requeue(2_000);
    }
    if (await teardown(cd, ctx, env)) return Action.requeue(2_000);
    if (trafficProblem) {
      await report(cd, ctx, decision);
      return Action.awaitChange();
    }
    // Nothing of a release is running: the runtime's default reports the invalid spec.
    return undefined;
  }

  /** The decision's condition False on the current status, and a Warning Event. */
  async function report(cd: CanaryDeployment, ctx: ReconcileContext, decision: ErrorDecision): Promise<void> {
    const status = cd.status ?? {};
    const conditions = setCondition(
      status.conditions,
      {
        type: decision.condition,
        status: 'False',
        reason: decision.reason,
        message: decision.message,
        observedGeneration: cd.metadata.generation,
      },
      ctx.now(),
    );
    await ctx.events.publish(cd, {
      type: 'Warning',
      reason: decision.reason,
      note: decision.message,
      action: 'Reconcile',
    });
    await writeStatus(cd, { ...status, conditions }, ctx);
  }

  /**
   * The stable pods' labels, for a release whose spec or record routes with Istio (the
   * only provider that splits one Service's endpoints); undefined for the others, which
   * need none, and while the Deployment has no ReplicaSet yet.
   */
  async function stablePodsOf(
    cd: CanaryDeployment,
    ctx: ReconcileContext,
    stable: Deployment | undefined,
    provider: TrafficProviderName,
  ): Promise<StablePodLabels> {
    const subsets =
      capabilitiesOf(provider).podLabelSubsets ||
      (cd.status?.traffic !== undefined && capabilitiesOf(cd.status.traffic.provider).podLabelSubsets);
    if (!stable || !subsets) return undefined;
    stablePodsLookup ??= createStablePods(ctx.client);
    return stablePodsLookup.labelsOf(stable, rolledOut(stable));
  }

  /** {@link stablePodsOf} for a teardown (the recorded provider, the cached target). */
  async function recordedStablePods(cd: CanaryDeployment, ctx: ReconcileContext): Promise<StablePodLabels> {
    const provider = (cd.status?.traffic ?? trafficRecordOf(cd.spec)).provider;
    return stablePodsOf(
      cd,
      ctx,
      ctx
        .cache(DeploymentKind, { referenced: true })
        .get(cd.metadata.namespace ?? '', cd.spec.targetDeployment),
      provider,
    );
  }

  /** What a release reads from the caches: its two Deployments, the stable Service, its canary pods. */
  function lookUp(cd: CanaryDeployment, ctx: ReconcileContext) {
    const ns = cd.metadata.namespace ?? '';
    // By name, from the caches of what releases name (controller.ts: references).
    const deployments = ctx.cache(DeploymentKind, { referenced: true });
    return {
      deployments,
      stable: deployments.get(ns, cd.spec.targetDeployment),
      canary: deployments.get(ns, canaryDeploymentName(cd.spec.targetDeployment)),
      service: ctx
        .cache(ServiceKind, { referenced: true })
        .get(ns, cd.spec.service?.name ?? cd.spec.targetDeployment),
      pods: ctx.cache(PodKind).byIndex(CanaryPodsIndex, `${ns}/${cd.metadata.name ?? ''}`),
    };
  }

  return { reconcile, cleanup, errorPolicy };
}

/** The index of the canary pod cache by release (`namespace/name`). */
export const CanaryPodsIndex = 'release';

/** {@link CanaryPodsIndex}: a canary pod (role label `canary`) under the release its owner label names. */
export function canaryPodsIndexValues(pod: KubeObject): string[] {
  const release = pod.metadata.labels?.[OwnerLabel];
  if (!release || pod.metadata.labels?.[RoleLabel] !== 'canary') return [];
  return [`${pod.metadata.namespace ?? ''}/${release}`];
}

/**
 * The gates the stored status awaits and whose call is due: PreRollout while
 * Initializing, ConfirmPromotion while Progressing on a step (./phases.ts writes
 * `status.gates.awaiting` and `nextAt`).
 */
function gateAwaited(
  status: CanaryDeploymentStatus | undefined,
  now: number,
): 'PreRollout' | 'ConfirmPromotion' | undefined {
  const awaiting = status?.gates?.awaiting;
  if (!status || !awaiting) return undefined;
  const nextAt = status.gates?.nextAt ? Date.parse(status.gates.nextAt) : 0;
  if (nextAt > now) return undefined;
  if (awaiting === 'PreRollout') return status.phase === 'Initializing' ? awaiting : undefined;
  const stepping =
    status.phase === 'Progressing' && (status.currentStepIndex ?? 0) < (status.totalSteps ?? 0);
  return stepping ? awaiting : undefined;
}

/** True when this reconcile may start a release (so an autoscaler would be in its way). */
function starting(cd: CanaryDeployment): boolean {
  const status = cd.status;
  if (!status?.phase) return true;
  if (!isFinished(status.phase)) return false;
  return status.releaseVersion !== cd.spec.canaryVersion || pendingCommand(cd)?.verb === 'retry';
}

/**
 * True when, mid-step, the target has other replicas than the Replicas provider gave it:
 * someone else scales it (typically an autoscaler). A cache a write behind says so too,
 * which costs one needless lookup.
 */
function rescaled(cd: CanaryDeployment, stable: Deployment): boolean {
  const status = cd.status;
  const stepping =
    (status?.phase === 'Progressing' || status?.phase === 'Paused') &&
    (status.currentStepIndex ?? 0) < (status.totalSteps ?? 0);
  if (!stepping || status?.stableReplicas === undefined) return false;
  return (
    (stable.spec?.replicas ?? 1) !== replicaSplit(status.currentWeight ?? 0, status.stableReplicas).stable
  );
}

/** A Deployment's rollout strategy in words, for the promotion's Events. */
function strategyOf(d: Deployment): string | undefined {
  const strategy = d.spec?.['strategy'] as
    | { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } }
    | undefined;
  if (!strategy?.type) return undefined;
  if (strategy.type !== 'RollingUpdate') return strategy.type;
  const r = strategy.rollingUpdate ?? {};
  return `RollingUpdate maxSurge ${r.maxSurge ?? '25%'}, maxUnavailable ${r.maxUnavailable ?? '25%'}`;
}

/**
 * The name of an autoscaler scaling the release's target Deployment, if any: one list
 * request, sent only when the metadata cache shows autoscalers in the namespace.
 */
async function autoscalerOf(cd: CanaryDeployment, ctx: ReconcileContext): Promise<string | undefined> {
  const known = ctx
    .cache(HorizontalPodAutoscalerKind, { metadataOnly: true })
    .list(cd.metadata.namespace ?? '');
  if (known.length === 0) return undefined;
  const list = await ctx.client.list(HorizontalPodAutoscalerKind, {
    namespace: cd.metadata.namespace ?? '',
  });
  const hpa = list.items.find((h) => {
    const ref = h.spec?.scaleTargetRef;
    return (
      ref?.kind === 'Deployment' &&
      ref.name === cd.spec.targetDeployment &&
      (ref.apiVersion ?? 'apps/v1').startsWith('apps/')
    );
  });
  return hpa?.metadata.name;
}

/** The group whose turn a member waits for (`deploy.codedance.io/group-turn: waiting`), if any. */
function waitingForGroup(cd: CanaryDeployment): { group: string } | undefined {
  if (cd.metadata.annotations?.[GroupTurnAnnotation] !== 'waiting') return undefined;
  return { group: cd.metadata.labels?.[GroupLabel] ?? '(unnamed)' };
}
