/**
 * Carrying out the state machine's effects against the cluster, in the order given.
 *
 * Each effect is idempotent (server-side apply skipped when nothing changes, provider
 * calls that write only what differs, deletes of what the cache still holds), so a
 * controller that dies half-way and does them again changes nothing twice.
 * Events and notifications never hold a release up: both leave in the background once
 * the writes before them in the batch are done.
 */
import type {
  CanaryDeployment,
  NotificationEvent,
  TrafficProviderName,
  TrafficRecord,
} from '../api/canary-deployment.ts';
import { GROUP, OwnerLabel, RoleLabel } from '../api/names.ts';
import { isConflict, type KubeClient, type KubeObject } from '../runtime/client.ts';
import { apply } from '../runtime/apply.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { Deployment as DeploymentKind, Service as ServiceKind, type ResourceKind } from '../runtime/kinds.ts';
import {
  TrafficError,
  capabilitiesOf,
  isTrafficError,
  trafficProvider,
  type ObjectReader,
  type TrafficProvider,
  type TrafficTarget,
} from '../traffic/index.ts';
import { replicaSplit } from '../traffic/replicas.ts';
import { trafficRecordOf, trafficSpecOf } from './traffic-record.ts';
import type { ReceiverProblem } from '../notify/resolve.ts';
import { reportNotificationProblems } from './notification-problems.ts';
import type { Effect, ReleaseSettings } from './model.ts';
import {
  buildCanaryDeployment,
  buildCanaryService,
  canaryDeploymentName,
  canarySelector,
  canaryServiceName,
  promotionPatch,
  releasedContainer,
  type Deployment,
  type Service,
} from './workloads.ts';

/**
 * Sends a notification about a release; must not throw (it runs in the background).
 * Resolves with the receivers it had to leave out, which are reported on the release
 * (an empty list clears that report); with nothing when it sent nothing (a transition
 * already announced), which leaves the report as it is.
 */
export type Notifier = (
  event: NotificationEvent,
  cd: CanaryDeployment,
  message: string,
) => Promise<readonly ReceiverProblem[] | void>;

/**
 * What taking traffic back and removing the canary act with. Needs no settings (the spec
 * may be what is broken): the provider and its objects come from the record the release
 * started with (`status.traffic`), else the spec.
 */
export interface TeardownEnv {
  cd: CanaryDeployment;
  ctx: ReconcileContext;
  notify: Notifier | undefined;
  /** The recorded provider and its view of the release: reset, cleanup and read-back use it. */
  recorded: { provider: TrafficProvider; target: TrafficTarget };
}

/**
 * The labels only the stable pods carry (`pod-template-hash` of the stable ReplicaSet,
 * see ./stable-pods.ts), for a provider that splits one Service's endpoints (Istio);
 * undefined when not looked up (other providers) or not known yet (no ReplicaSet).
 */
export type StablePodLabels = Record<string, string> | undefined;

/** What a reconcile hands over to build its {@link ReleaseEnv}. */
export interface ReleaseEnvInput {
  cd: CanaryDeployment;
  ctx: ReconcileContext;
  settings: ReleaseSettings;
  stable: Deployment | undefined;
  canary: Deployment | undefined;
  /** The stable Service, if it exists. */
  service: Service | undefined;
  extraLabels: Record<string, string>;
  notify: Notifier | undefined;
  stablePods: StablePodLabels;
}

/** Everything the effects of one reconcile act with: the input plus the providers' views. */
export interface ReleaseEnv extends ReleaseEnvInput, TeardownEnv {
  /** The spec's provider: prepare and setWeight (a release that starts records it). */
  provider: TrafficProvider;
  target: TrafficTarget;
}

const providers = new WeakMap<KubeClient, WeakMap<object, Map<string, TrafficProvider>>>();

/**
 * The release's provider. Its reads of a Deployment the release names come from the
 * reference cache (settled when the reconcile started, our own writes held as they are
 * answered), so a Replicas step is its PATCHes alone, not two GETs before them; what the
 * cache does not hold (an Istio VirtualService, a Deployment not named) is a GET.
 */
function providerFor(ctx: ReconcileContext, name: TrafficProviderName): TrafficProvider {
  const { client } = ctx;
  const deployments = ctx.cache(DeploymentKind, { referenced: true });
  let byCache = providers.get(client);
  if (!byCache) providers.set(client, (byCache = new WeakMap()));
  let byName = byCache.get(deployments);
  if (!byName) byCache.set(deployments, (byName = new Map()));
  let provider = byName.get(name);
  if (!provider) {
    const read: ObjectReader = async <T extends KubeObject>(
      kind: ResourceKind<T>,
      namespace: string,
      objectName: string,
    ): Promise<T | undefined> => {
      const held =
        kind.group === DeploymentKind.group && kind.kind === DeploymentKind.kind
          ? (deployments.get(namespace, objectName) as T | undefined)
          : undefined;
      return held ?? client.get(kind, namespace, objectName);
    };
    provider = trafficProvider(name, { client, read });
    byName.set(name, provider);
  }
  return provider;
}

/** The provider's view of the release for the traffic settings `record`. */
function targetOf(
  cd: CanaryDeployment,
  record: TrafficRecord,
  service: Service | undefined,
  stable: Deployment | undefined,
  stablePods: StablePodLabels,
): TrafficTarget {
  // Replicas records the Deployments it scales (a target renamed mid-release is rolled back with the recorded one).
  const caps = capabilitiesOf(record.provider);
  const deployments = caps.ownsReplicas ? record.objects : undefined;
  return {
    namespace: cd.metadata.namespace ?? '',
    owner: { name: cd.metadata.name ?? '', uid: cd.metadata.uid ?? '' },
    service: { name: record.service, port: cd.spec.service?.port ?? service?.spec?.ports?.[0]?.port ?? 80 },
    canaryService: canaryServiceName(record.service),
    stableDeployment: deployments?.[0]?.name ?? cd.spec.targetDeployment,
    canaryDeployment: deployments?.[1]?.name ?? canaryDeploymentName(cd.spec.targetDeployment),
    traffic: trafficSpecOf(record),
    selectors: {
      // Subsets of the stable host (Istio) need a label canary pods lack; an empty map makes
      // the provider refuse (retry) rather than write a subset selecting every pod.
      stable: caps.podLabelSubsets ? { ...(stablePods ?? {}) } : { ...(service?.spec?.selector ?? {}) },
      canary: canarySelector(cd.metadata.name ?? ''),
    },
    totalReplicas: cd.status?.stableReplicas ?? stable?.spec?.replicas,
  };
}

/** The teardown environment of a release, from its caches and its recorded traffic settings. */
export function teardownEnv(
  cd: CanaryDeployment,
  ctx: ReconcileContext,
  notify: Notifier | undefined,
  stablePods: StablePodLabels,
): TeardownEnv {
  const ns = cd.metadata.namespace ?? '';
  const record = cd.status?.traffic ?? trafficRecordOf(cd.spec);
  const service = ctx.cache(ServiceKind, { referenced: true }).get(ns, record.service);
  const stable = ctx.cache(DeploymentKind, { referenced: true }).get(ns, cd.spec.targetDeployment);
  return {
    cd,
    ctx,
    notify,
    recorded: {
      provider: providerFor(ctx, record.provider),
      target: targetOf(cd, record, service, stable, stablePods),
    },
  };
}

/** Builds the environment, including both providers' views of the release. */
export function releaseEnv(input: ReleaseEnvInput): ReleaseEnv {
  const { cd, settings, service, stable } = input;
  const teardown = teardownEnv(cd, input.ctx, input.notify, input.stablePods);
  return {
    ...input,
    ...teardown,
    provider: providerFor(input.ctx, settings.provider),
    target: targetOf(cd, settings.traffic, service, stable, input.stablePods),
  };
}

/** Effects that write only owner-referenced objects (or nothing): see {@link executeEffects}. */
const WRITABLE_BEFORE_FINALIZER: ReadonlySet<Effect['type']> = new Set(['ensureCanary', 'event', 'notify']);

/**
 * Runs `effects` in order; Events leave without being waited for. A
 * {@link TeardownEnv} runs only what takes a release down (reset, delete, events, notifications).
 */
export async function executeEffects(
  env: ReleaseEnv | TeardownEnv,
  effects: readonly Effect[],
): Promise<void> {
  for (const effect of effects) {
    // Before our finalizer is stored (a new release's first reconcile), only the canary's
    // own objects may be written: they are owner-referenced, so a deletion in between
    // takes them away without a cleanup; everything else waits for the finalizer.
    if (!WRITABLE_BEFORE_FINALIZER.has(effect.type)) await env.ctx.finalizerStored();
    switch (effect.type) {
      case 'ensureCanary':
        await ensureCanary(full(env, effect.type), effect.image, effect.weight ?? 0);
        break;
      case 'prepareTraffic': {
        const e = full(env, effect.type);
        await e.provider.prepare(e.target);
        break;
      }
      case 'setWeight': {
        const e = full(env, effect.type);
        await e.provider.setWeight(e.target, effect.weight, effect.routing ?? {});
        env.ctx.log.info({ weight: effect.weight, routing: effect.routing }, 'weight set');
        break;
      }
      case 'promoteStable':
        await promoteStable(full(env, effect.type), effect.image);
        break;
      case 'resetTraffic':
        await resetTraffic(env);
        env.ctx.log.info({ provider: env.recorded.provider.name }, 'traffic reset: all on stable');
        break;
      case 'deleteCanary':
        await deleteCanary(env);
        break;
      case 'event':
        // Off the critical path: the writes before it are done (so it claims nothing the
        // cluster does not show), and no write after it waits for it. publish never throws.
        void env.ctx.events.publish(env.cd, {
          type: effect.eventType,
          reason: effect.reason,
          note: effect.note,
        });
        break;
      case 'notify':
        if (env.notify) {
          env
            .notify(effect.event, env.cd, effect.message)
            .then((problems) => problems && reportNotificationProblems(env.cd, env.ctx, problems))
            .catch((err: unknown) => env.ctx.log.warn({ err }, 'notification failed'));
        }
        break;
    }
  }
}

function full(env: ReleaseEnv | TeardownEnv, effect: Effect['type']): ReleaseEnv {
  if (!('settings' in env))
    throw new Error(
      `${effect} needs the release settings (a teardown runs only resetTraffic, deleteCanary, event and notify)`,
    );
  return env;
}

/**
 * True when `obj` was made by Codedance for this release: an ownerReference to this
 * CanaryDeployment (by uid, or by name: a release deleted and made again takes over what
 * its predecessor left before the garbage collector got to it). Labels are not enough:
 * anyone can copy them.
 */
export function ownedByRelease(obj: KubeObject, cd: CanaryDeployment): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (ref) =>
      ref.kind === 'CanaryDeployment' &&
      ref.apiVersion.startsWith(`${GROUP}/`) &&
      (ref.uid === cd.metadata.uid || ref.name === cd.metadata.name),
  );
}

/** Label keys the canary pods must not carry so the stable Service never selects them (see workloads.ts). */
function labelsToDrop(env: ReleaseEnv): string[] {
  // A provider that splits the stable Service's endpoints (Istio subsets, replica counts)
  // keeps the canary pods behind it; the route alone decides who gets traffic.
  const separate = !capabilitiesOf(env.settings.provider).stableSelectsCanary;
  return separate ? Object.keys(env.service?.spec?.selector ?? {}) : [];
}

async function ensureCanary(env: ReleaseEnv, image: string, weight: number): Promise<void> {
  const { cd, ctx, settings, stable } = env;
  if (!stable) throw new Error(`Deployment ${cd.spec.targetDeployment} not found`);
  const caps = capabilitiesOf(settings.provider);
  const needsService = caps.stableService;
  if (needsService && !env.service) {
    throw new Error(
      `Service ${env.target.service.name} not found: traffic provider ${settings.provider} routes through it (set spec.service.name)`,
    );
  }
  // By name: whoever's it is (a Service of that name that is not the release's is refused below).
  const services = ctx.cache(ServiceKind, { referenced: true });
  const canaryService =
    caps.canaryService && env.service
      ? buildCanaryService(cd, env.service, env.target.canaryService, 'canary')
      : undefined;
  const previewService =
    caps.preview && env.service && settings.blueGreen
      ? buildCanaryService(
          cd,
          env.service,
          cd.spec.strategy?.blueGreen?.previewService ?? `${env.target.service.name}-preview`,
          'preview',
        )
      : undefined;
  // Before anything is written: a Service of that name that is not the release's is never
  // taken over (an apply would replace its selector and send its users to the canary).
  for (const wanted of [canaryService, previewService]) {
    const existing = wanted && services.get(cd.metadata.namespace, wanted.metadata.name ?? '');
    if (existing && !ownedByRelease(existing, cd)) {
      throw new TrafficError(
        settings.provider,
        'NameTaken',
        `Service ${cd.metadata.namespace}/${existing.metadata.name} exists and was not created by this release (no ownerReference to CanaryDeployment ${cd.metadata.name}); it is left as it is`,
      );
    }
  }
  // The stable Deployment is never written here: its pods are told apart by what they
  // already carry (./stable-pods.ts), so starting a release restarts nothing.
  // Replicas: the provider owns the canary's replica count (never applied); it is created
  // at its first step's share, so the create is that step's first write.
  const replicas = caps.ownsReplicas ? undefined : (cd.status?.stableReplicas ?? stable.spec?.replicas ?? 1);
  const desired = buildCanaryDeployment({
    cd,
    stable,
    image,
    replicas,
    dropLabels: labelsToDrop(env),
    extraLabels: env.extraLabels,
  });
  if (!env.canary) {
    const initial =
      replicas ??
      (weight > 0 && env.target.totalReplicas !== undefined
        ? replicaSplit(weight, env.target.totalReplicas).canary
        : 0);
    try {
      await ctx.client.create(DeploymentKind, { ...desired, spec: { ...desired.spec, replicas: initial } });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await apply(ctx.client, DeploymentKind, desired);
    }
  } else {
    await apply(ctx.client, DeploymentKind, desired, { current: env.canary });
  }
  if (canaryService) await apply(ctx.client, ServiceKind, canaryService, { store: services });
  if (previewService) await apply(ctx.client, ServiceKind, previewService, { store: services });
}

async function promoteStable(env: ReleaseEnv, image: string): Promise<void> {
  const { cd, ctx, settings, stable } = env;
  const container = releasedContainer(stable?.spec?.template, cd.spec.container);
  if (!stable || !container)
    throw new Error(`Deployment ${cd.spec.targetDeployment} (or its container) not found`);
  // Replicas: stable was scaled down to make room; it rolls the new version out at full size.
  const replicas = capabilitiesOf(settings.provider).ownsReplicas ? env.target.totalReplicas : undefined;
  await ctx.client.patch(
    DeploymentKind,
    cd.metadata.namespace,
    cd.spec.targetDeployment,
    promotionPatch(container.name, image, replicas),
    'strategic',
  );
}

/**
 * Runs a traffic call for which a routed object that is gone (or never had our route)
 * means nothing to do: it sends nothing to the canary and holds nothing of ours.
 */
async function unlessRoutesGone(env: TeardownEnv, what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (isTrafficError(err, 'NotFound') || isTrafficError(err, 'NoRoutes')) {
      env.ctx.log.warn({ err }, `${what}: the routed object is gone, nothing to do`);
      return;
    }
    throw err;
  }
}

async function resetTraffic(env: TeardownEnv): Promise<void> {
  await unlessRoutesGone(env, 'traffic reset', () => env.recorded.provider.reset(env.recorded.target));
}

/**
 * Removes what the recorded provider made for the release (subsets, canary backendRefs,
 * the canary Ingress) once the canary pods are gone. A routed object the user already
 * deleted is done, not an error, or deleting a namespace would wait forever on the finalizer.
 */
export async function cleanupTraffic(env: TeardownEnv): Promise<void> {
  await unlessRoutesGone(env, 'traffic cleanup', () => env.recorded.provider.cleanup(env.recorded.target));
}

/**
 * Deletes the canary Deployment and the canary and preview Services: every Deployment and
 * Service this release owns (found by ownerReference, so a name changed in the spec
 * mid-release still finds the old ones, and an object of the same name that is not the
 * release's is never deleted).
 */
async function deleteCanary(env: TeardownEnv): Promise<void> {
  const { cd, ctx } = env;
  const uid = cd.metadata.uid ?? '';
  const ns = cd.metadata.namespace;
  // By owner, from the caches of what releases make (label-selected).
  for (const d of ctx.cache(DeploymentKind, { labelSelector: OwnerLabel }).byIndex('controller-owner', uid)) {
    if (d.metadata.namespace !== ns || d.metadata.deletionTimestamp) continue;
    await ctx.client.delete(DeploymentKind, ns, d.metadata.name ?? '', {
      propagationPolicy: 'Background',
      preconditions: { uid: d.metadata.uid },
    });
  }
  for (const svc of ctx.cache(ServiceKind, { labelSelector: OwnerLabel }).byIndex('controller-owner', uid)) {
    if (svc.metadata.namespace !== ns || svc.metadata.deletionTimestamp) continue;
    const role = svc.metadata.labels?.[RoleLabel];
    if (role !== 'canary' && role !== 'preview') continue;
    await ctx.client.delete(ServiceKind, ns, svc.metadata.name ?? '', {
      preconditions: { uid: svc.metadata.uid },
    });
  }
}
