/**
 * Carrying out the state machine's effects against the cluster, in the order given.
 *
 * Each effect is idempotent (server-side apply skipped when nothing changes, provider
 * calls that write only what differs, deletes of what the cache still holds), so a
 * controller that dies half-way and does them again changes nothing twice.
 * Events and notifications never hold a release up: Events are published together at
 * the end of a batch; notifications are sent in the background.
 */
import { RoleLabel, type CanaryDeployment, type NotificationEvent } from '../api/canary-deployment.ts';
import { isConflict, type KubeClient } from '../runtime/client.ts';
import { apply } from '../runtime/apply.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { Deployment as DeploymentKind, Service as ServiceKind } from '../runtime/kinds.ts';
import { isTrafficError, trafficProvider, type TrafficProvider, type TrafficTarget } from '../traffic/index.ts';
import type { ReceiverProblem } from '../notify/resolve.ts';
import { reportNotificationProblems } from './notification-problems.ts';
import type { Effect, ReleaseSettings } from './phases.ts';
import {
  buildCanaryDeployment,
  buildCanaryService,
  canaryDeploymentName,
  canarySelector,
  canaryServiceName,
  promotionPatch,
  releasedContainer,
  stableLabelPatch,
  stableSelector,
  type Deployment,
  type Service,
} from './workloads.ts';

/**
 * Sends a notification about a release; must not throw (it runs in the background).
 * Resolves with the receivers it had to leave out, which are reported on the release.
 */
export type Notifier = (event: NotificationEvent, cd: CanaryDeployment, message: string) => Promise<readonly ReceiverProblem[] | void>;

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
}

/** Everything the effects of one reconcile act with: the input plus the provider's view. */
export interface ReleaseEnv extends ReleaseEnvInput {
  provider: TrafficProvider;
  target: TrafficTarget;
}

const providers = new WeakMap<KubeClient, Map<string, TrafficProvider>>();

function providerFor(client: KubeClient, name: ReleaseSettings['provider']): TrafficProvider {
  let byName = providers.get(client);
  if (!byName) {
    byName = new Map();
    providers.set(client, byName);
  }
  let provider = byName.get(name);
  if (!provider) {
    provider = trafficProvider(name, { client });
    byName.set(name, provider);
  }
  return provider;
}

/** Builds the environment, including the provider's view of the release. */
export function releaseEnv(input: ReleaseEnvInput): ReleaseEnv {
  const { cd, settings, service, stable } = input;
  const serviceName = cd.spec.service?.name ?? cd.spec.targetDeployment;
  const target: TrafficTarget = {
    namespace: cd.metadata.namespace ?? '',
    owner: { name: cd.metadata.name ?? '', uid: cd.metadata.uid ?? '' },
    service: { name: serviceName, port: cd.spec.service?.port ?? service?.spec?.ports?.[0]?.port ?? 80 },
    canaryService: canaryServiceName(serviceName),
    stableDeployment: cd.spec.targetDeployment,
    canaryDeployment: canaryDeploymentName(cd.spec.targetDeployment),
    traffic: cd.spec.traffic ?? {},
    selectors: {
      stable: settings.provider === 'Istio' ? stableSelector : { ...(service?.spec?.selector ?? {}) },
      canary: canarySelector(cd.metadata.name ?? ''),
    },
    totalReplicas: cd.status?.stableReplicas ?? stable?.spec?.replicas,
  };
  return { ...input, provider: providerFor(input.ctx.client, settings.provider), target };
}

/** Runs `effects` in order; Events are published together once the writes are done. */
export async function executeEffects(env: ReleaseEnv, effects: readonly Effect[]): Promise<void> {
  const events: Promise<void>[] = [];
  try {
    for (const effect of effects) {
      switch (effect.type) {
        case 'ensureCanary':
          await ensureCanary(env, effect.image);
          break;
        case 'prepareTraffic':
          await env.provider.prepare(env.target);
          break;
        case 'setWeight':
          await env.provider.setWeight(env.target, effect.weight);
          env.ctx.log.info({ weight: effect.weight }, 'weight set');
          break;
        case 'promoteStable':
          await promoteStable(env, effect.image);
          break;
        case 'resetTraffic':
          await resetTraffic(env);
          env.ctx.log.info('traffic reset: all on stable');
          break;
        case 'deleteCanary':
          await deleteCanary(env);
          break;
        case 'event':
          events.push(env.ctx.events.publish(env.cd, { type: effect.eventType, reason: effect.reason, note: effect.note }));
          break;
        case 'notify':
          if (env.notify) {
            env
              .notify(effect.event, env.cd, effect.message)
              .then((problems) => reportNotificationProblems(env.cd, env.ctx, problems ?? []))
              .catch((err: unknown) => env.ctx.log.warn({ err }, 'notification failed'));
          }
          break;
      }
    }
  } finally {
    await Promise.all(events);
  }
}

/** Label keys the canary pods must not carry so the stable Service never selects them (see workloads.ts). */
function labelsToDrop(env: ReleaseEnv): string[] {
  // Istio routes by subsets of the stable host, so its canary pods stay endpoints of it
  // (the VirtualService alone decides who gets traffic, a BlueGreen preview included).
  const separate = env.settings.provider === 'Nginx' || env.settings.provider === 'GatewayAPI';
  return separate ? Object.keys(env.service?.spec?.selector ?? {}) : [];
}

async function ensureCanary(env: ReleaseEnv, image: string): Promise<void> {
  const { cd, ctx, settings, stable } = env;
  if (!stable) throw new Error(`Deployment ${cd.spec.targetDeployment} not found`);
  const needsService = settings.provider !== 'Replicas';
  if (needsService && !env.service) {
    throw new Error(`Service ${env.target.service.name} not found: traffic provider ${settings.provider} routes through it (set spec.service.name)`);
  }
  if (settings.provider === 'Istio' && stable.spec?.template?.metadata?.labels?.[RoleLabel] !== 'stable') {
    // The stable subset needs a label canary pods lack; adding one to the template is allowed.
    await ctx.client.patch(DeploymentKind, cd.metadata.namespace, cd.spec.targetDeployment, stableLabelPatch(), 'strategic');
  }
  // Replicas: the provider owns the canary's replica count (created at 0, never applied).
  const replicas = settings.provider === 'Replicas' ? undefined : (cd.status?.stableReplicas ?? stable.spec?.replicas ?? 1);
  const desired = buildCanaryDeployment({ cd, stable, image, replicas, dropLabels: labelsToDrop(env), extraLabels: env.extraLabels });
  if (!env.canary) {
    try {
      await ctx.client.create(DeploymentKind, { ...desired, spec: { ...desired.spec, replicas: replicas ?? 0 } });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await apply(ctx.client, DeploymentKind, desired);
    }
  } else {
    await apply(ctx.client, DeploymentKind, desired, { current: env.canary });
  }
  if (env.service && needsService) {
    const services = ctx.cache<Service>(ServiceKind);
    const canaryService = buildCanaryService(cd, env.service, env.target.canaryService, 'canary');
    await apply(ctx.client, ServiceKind, canaryService, { store: services });
    if (settings.blueGreen) {
      const previewName = cd.spec.strategy?.blueGreen?.previewService ?? `${env.target.service.name}-preview`;
      await apply(ctx.client, ServiceKind, buildCanaryService(cd, env.service, previewName, 'preview'), { store: services });
    }
  }
}

async function promoteStable(env: ReleaseEnv, image: string): Promise<void> {
  const { cd, ctx, settings, stable } = env;
  const container = releasedContainer(stable?.spec?.template, cd.spec.container);
  if (!stable || !container) throw new Error(`Deployment ${cd.spec.targetDeployment} (or its container) not found`);
  // Replicas: stable was scaled down to make room; it rolls the new version out at full size.
  const replicas = settings.provider === 'Replicas' ? env.target.totalReplicas : undefined;
  await ctx.client.patch(DeploymentKind, cd.metadata.namespace, cd.spec.targetDeployment, promotionPatch(container.name, image, replicas), 'strategic');
}

/**
 * Runs a traffic call for which a routed object that is gone (or never had our route)
 * means nothing to do: it sends nothing to the canary and holds nothing of ours.
 */
async function unlessRoutesGone(env: ReleaseEnv, what: string, call: () => Promise<unknown>): Promise<void> {
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

async function resetTraffic(env: ReleaseEnv): Promise<void> {
  await unlessRoutesGone(env, 'traffic reset', () => env.provider.reset(env.target));
}

/**
 * Removes what the provider made for the release (subsets, canary backendRefs, the canary
 * Ingress) once the canary pods are gone. A routed object the user already deleted is
 * done, not an error, or deleting a namespace would wait forever on the finalizer.
 */
export async function cleanupTraffic(env: ReleaseEnv): Promise<void> {
  await unlessRoutesGone(env, 'traffic cleanup', () => env.provider.cleanup(env.target));
}

async function deleteCanary(env: ReleaseEnv): Promise<void> {
  const { cd, ctx } = env;
  const ns = cd.metadata.namespace;
  if (env.canary) await ctx.client.delete(DeploymentKind, ns, env.canary.metadata.name ?? '', { propagationPolicy: 'Background' });
  const services = ctx.cache<Service>(ServiceKind);
  const previewName = cd.spec.strategy?.blueGreen?.previewService ?? `${env.target.service.name}-preview`;
  for (const name of [env.target.canaryService, previewName]) {
    const svc = services.get(ns, name);
    if (svc && svc.metadata.ownerReferences?.some((o) => o.uid === cd.metadata.uid)) await ctx.client.delete(ServiceKind, ns, name);
  }
}
