/**
 * The WebApp reconcile: one pass from a WebApp to its applied children and its status.
 *
 * Order of work, each step a span under `webapp.reconcile`:
 * 1. refuse what cannot work (checks the schema cannot express; a child name taken by an
 *    object the WebApp does not control) — Failed status plus a TerminalError, so the
 *    runtime reports it once and waits for a change instead of retrying;
 * 2. plan the release (`release.ts`): which image and replica count the Deployment gets;
 * 3. build the children (`webapp.build`) and server-side apply each
 *    (`webapp.apply ConfigMap|Deployment|Service`); `apply()` skips writes that would change
 *    nothing, so a steady WebApp costs no API requests, and restores any drift;
 * 4. create, update or delete the CanaryDeployment (`webapp.release`);
 * 5. write the status and the Events of its transitions (`webapp.status`).
 *
 * Any other error (API unreachable, a conflict) is written to status as a retry message
 * and rethrown: the runtime retries the key with exponential backoff.
 *
 * Children are applied under their own field manager, `codedance-webapp`, so a partial
 * apply by another part of Codedance (the release engine scales and promotes the same
 * Deployment) can never remove fields the WebApp set, and the reverse.
 */
import type { Span } from '@opentelemetry/api';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { WebApp, WebAppStatus } from '../api/webapp.ts';
import { Action } from '../runtime/action.ts';
import { apply, applyStatus } from '../runtime/apply.ts';
import { KubeApiError, type KubeObject } from '../runtime/client.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { describeError, TerminalError } from '../runtime/errors.ts';
import * as kinds from '../runtime/kinds.ts';
import { apiVersionOf } from '../runtime/kinds.ts';
import type { Store } from '../runtime/store.ts';
import { inSpan } from '../tracing/span.ts';
import { buildChildren, childNames, configData, configHash, isOwnedBy } from './children.ts';
import type { Deployment } from '../runtime/core-types.ts';
import { planRelease, type CanaryAction } from './release.ts';
import {
  failedStatus,
  nextStatus,
  pendingStatus,
  retryingStatus,
  transitionEvents,
  type Failure,
} from './status.ts';
import { validateWebApp } from './validate.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';

/** Field manager of every write the WebApp controller makes (children, CanaryDeployment, status). */
export const WebAppFieldManager = 'codedance-webapp';

/** Reconciles one WebApp that is not being deleted (the runtime's finalizer handles that). */
export async function reconcileWebApp(webapp: WebApp, ctx: ReconcileContext): Promise<Action> {
  return inSpan('webapp.reconcile', spanAttributes(webapp), async (span) => {
    const action = await reconcileSteps(webapp, ctx, span);
    span.setAttribute('codedance.action', action.kind);
    return action;
  });
}

/** Attributes every WebApp span starts with. */
export function spanAttributes(webapp: WebApp): Record<string, string | number> {
  return {
    'k8s.namespace.name': webapp.metadata.namespace ?? '',
    'codedance.webapp.name': webapp.metadata.name ?? '',
    'codedance.webapp.generation': webapp.metadata.generation ?? 0,
  };
}

async function reconcileSteps(webapp: WebApp, ctx: ReconcileContext, span: Span): Promise<Action> {
  const problems = validateWebApp(webapp);
  if (problems.length > 0) return fail(webapp, ctx, { reason: 'InvalidSpec', message: problems.join('; ') });

  const namespace = webapp.metadata.namespace;
  const names = childNames(webapp);
  const stores = {
    configMap: ctx.cache(kinds.ConfigMap),
    deployment: ctx.cache(kinds.Deployment),
    service: ctx.cache(kinds.Service),
    canary: ctx.cache(CanaryDeploymentKind),
  };
  // Ours carry the children's label and are cached whole; anyone else's of that name is
  // seen through the metadata-only caches, which is all a conflict needs. One of ours that
  // lost its label is absent (the apply puts the label back).
  const byName = <T extends KubeObject>(
    kind: kinds.ResourceKind,
    store: Store<T>,
    name: string,
  ): T | undefined => {
    const mine = store.get(namespace, name);
    if (mine) return mine;
    const other = ctx.cache<T>(kind, { metadataOnly: true }).get(namespace, name);
    return other && !isOwnedBy(other, webapp) ? other : undefined;
  };
  const current = {
    configMap: byName(kinds.ConfigMap, stores.configMap, names.configMap),
    deployment: byName(kinds.Deployment, stores.deployment, names.deployment),
    service: byName(kinds.Service, stores.service, names.service),
    canary: stores.canary.get(namespace, names.canary),
  };
  // A CanaryDeployment of that name only matters when the WebApp releases through one;
  // otherwise it is someone else's and is neither a conflict nor ours to delete.
  const candidates = webapp.spec.release
    ? Object.values(current)
    : [current.configMap, current.deployment, current.service];
  const taken = candidates.filter(
    (obj): obj is NonNullable<typeof obj> => obj !== undefined && !isOwnedBy(obj, webapp),
  );
  if (taken.length > 0) {
    const what = taken.map((obj) => `${obj.kind ?? 'object'} ${obj.metadata.name}`).join(', ');
    return fail(webapp, ctx, {
      reason: 'NameConflict',
      message: `${what} already exists and is not controlled by this WebApp; delete or rename it (the WebApp resumes on its own)`,
    });
  }

  if (webapp.status?.phase === undefined) {
    // First sight: say so before creating anything, so the state machine starts at Pending.
    await inSpan('webapp.status', { 'codedance.phase': 'Pending' }, () =>
      writeStatus(webapp, ctx, pendingStatus(webapp, ctx.now())),
    );
  }

  const ownCanary = current.canary && isOwnedBy(current.canary, webapp) ? current.canary : undefined;
  const plan = planRelease(webapp, current.deployment, ownCanary);
  span.setAttribute('codedance.release.outcome', plan.outcome);
  const children = await inSpan(
    'webapp.build',
    { 'codedance.image': plan.image, 'codedance.replicas': plan.replicas },
    async () => buildChildren(webapp, plan),
  );

  let deployment: Deployment;
  try {
    await applyChild(webapp, ctx, kinds.ConfigMap, children.configMap, stores.configMap, current.configMap);
    deployment = await applyChild(
      webapp,
      ctx,
      kinds.Deployment,
      children.deployment,
      stores.deployment,
      current.deployment,
    );
    await applyChild(webapp, ctx, kinds.Service, children.service, stores.service, current.service);
    await inSpan('webapp.release', { 'codedance.release.action': plan.canary.kind }, () =>
      syncCanary(webapp, ctx, plan.canary, stores.canary, ownCanary),
    );
  } catch (err) {
    const invalid = apiErrorOf(err);
    if (invalid && invalid.statusCode === 422) {
      // The API server refused what the WebApp asks for: only a spec change can help.
      return fail(webapp, ctx, {
        reason: 'InvalidChild',
        message: `the API server refused a child of this WebApp: ${invalid.message}`,
      });
    }
    await writeStatus(webapp, ctx, retryingStatus(webapp, describeError(err), ctx.now())).catch(
      (statusErr: unknown) => ctx.log.warn({ err: statusErr }, 'could not record the retry in status'),
    );
    throw err;
  }

  const status = nextStatus(webapp, {
    deployment,
    plan,
    configHash: configHash(configData(webapp)),
    now: ctx.now(),
  });
  await inSpan('webapp.status', { 'codedance.phase': status.phase ?? '' }, () =>
    writeStatus(webapp, ctx, status),
  );
  for (const event of transitionEvents(webapp.status, status)) await ctx.events.publish(webapp, event);
  span.setAttribute('codedance.phase', status.phase ?? '');
  // Rollout progress and release progress arrive as changes of owned objects.
  return Action.awaitChange();
}

/**
 * Applies one child and publishes an Event when the API server stored a change:
 * Created / Recreated (it had gone missing) / Updated (the spec changed) / DriftRepaired
 * (someone else changed it while the spec did not).
 */
async function applyChild<T extends KubeObject>(
  webapp: WebApp,
  ctx: ReconcileContext,
  kind: kinds.ResourceKind<T>,
  desired: T,
  store: Store<T>,
  current: T | undefined,
): Promise<T> {
  return inSpan(
    `webapp.apply ${kind.kind}`,
    { 'k8s.object.name': desired.metadata.name ?? '' },
    async (span) => {
      const stored = await apply(ctx.client, kind, desired, {
        store,
        current,
        fieldManager: WebAppFieldManager,
      });
      const written =
        current === undefined || stored.metadata.resourceVersion !== current.metadata.resourceVersion;
      span.setAttribute('codedance.written', written);
      if (!written) return stored;
      const what = `${kind.kind} ${desired.metadata.name}`;
      const created = webapp.status?.phase === 'Running' || webapp.status?.phase === 'Creating';
      const specChanged = webapp.metadata.generation !== webapp.status?.observedGeneration;
      if (current === undefined) {
        const event = created
          ? { reason: 'Recreated', note: `recreated missing ${what}` }
          : { reason: 'Created', note: `created ${what}` };
        await ctx.events.publish(webapp, { ...event, action: 'Create', related: stored });
      } else if (specChanged) {
        await ctx.events.publish(webapp, {
          reason: 'Updated',
          note: `updated ${what} to the new spec`,
          action: 'Update',
          related: stored,
        });
      } else {
        await ctx.events.publish(webapp, {
          reason: 'DriftRepaired',
          note: `restored ${what}, changed outside the WebApp`,
          action: 'Update',
          related: stored,
        });
      }
      return stored;
    },
  );
}

/** Carries out the plan's CanaryDeployment action. */
async function syncCanary(
  webapp: WebApp,
  ctx: ReconcileContext,
  action: CanaryAction,
  store: Store<CanaryDeployment>,
  current: CanaryDeployment | undefined,
): Promise<void> {
  if (action.kind === 'apply') {
    const stored = await apply(ctx.client, CanaryDeploymentKind, action.object, {
      store,
      current,
      fieldManager: WebAppFieldManager,
    });
    if (current === undefined) {
      const note = `created CanaryDeployment ${action.object.metadata.name} for ${action.object.spec.canaryVersion}`;
      await ctx.events.publish(webapp, {
        reason: 'ReleaseCreated',
        note,
        action: 'Release',
        related: stored,
      });
    }
  } else if (action.kind === 'delete' && current && !current.metadata.deletionTimestamp) {
    await ctx.client.delete(CanaryDeploymentKind, current.metadata.namespace, current.metadata.name ?? '', {
      preconditions: { uid: current.metadata.uid },
    });
    const note = `deleted CanaryDeployment ${current.metadata.name}: ${action.reason}`;
    await ctx.events.publish(webapp, { reason: 'ReleaseAborted', note, action: 'Release', related: current });
  }
}

/** Writes a Failed status and throws the TerminalError the runtime reports (Event + condition) without retrying. */
async function fail(webapp: WebApp, ctx: ReconcileContext, failure: Failure): Promise<never> {
  await inSpan('webapp.status', { 'codedance.phase': 'Failed' }, () =>
    writeStatus(webapp, ctx, failedStatus(webapp, failure, ctx.now())),
  );
  throw new TerminalError(failure.message, { reason: failure.reason, conditionType: 'Ready' });
}

/** Applies `status` to the WebApp's status subresource (skipped when nothing changes). */
export async function writeStatus(
  webapp: WebApp,
  ctx: ReconcileContext,
  status: WebAppStatus,
): Promise<void> {
  await applyStatus(
    ctx.client,
    WebAppKind,
    {
      apiVersion: apiVersionOf(WebAppKind),
      kind: WebAppKind.kind,
      metadata: { name: webapp.metadata.name, namespace: webapp.metadata.namespace },
      status,
    },
    { current: webapp, fieldManager: WebAppFieldManager },
  );
}

/** The API server's answer inside an error's cause chain, if there is one. */
function apiErrorOf(err: unknown): KubeApiError | undefined {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof KubeApiError) return current;
    current = current.cause;
  }
  return undefined;
}
