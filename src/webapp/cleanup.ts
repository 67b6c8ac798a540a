import type { WebApp } from '../api/webapp.ts';
import { Action } from '../runtime/action.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import * as kinds from '../runtime/kinds.ts';
import { inSpan } from '../tracing/span.ts';
import { childNames, isOwnedBy } from './children.ts';
import { spanAttributes, writeStatus } from './reconcile.ts';
import { deletingStatus } from './status.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';

/** How long cleanup waits for the CanaryDeployment's own cleanup before going on without it. @default 120000 */
export const CanaryGraceMs = 120_000;
/** How often cleanup looks again while the CanaryDeployment is going away. */
const CanaryPollMs = 2_000;

/** Runs the cleanup; `Action.requeue` keeps the finalizer until the CanaryDeployment is gone. */
export async function cleanupWebApp(webapp: WebApp, ctx: ReconcileContext): Promise<Action | void> {
  return inSpan('webapp.cleanup', spanAttributes(webapp), async () => {
    const namespace = webapp.metadata.namespace;
    const names = childNames(webapp);
    if (webapp.status?.phase !== 'Deleting') {
      const message = 'cleaning up: release first, then Service, Deployment and ConfigMap';
      await writeStatus(webapp, ctx, deletingStatus(webapp, message, ctx.now()));
      await ctx.events.publish(webapp, { reason: 'Deleting', note: message, action: 'Delete' });
    }

    const canary = ctx.cache(CanaryDeploymentKind).get(namespace, names.canary);
    if (canary && isOwnedBy(canary, webapp)) {
      if (!canary.metadata.deletionTimestamp) {
        await remove(ctx, CanaryDeploymentKind, canary);
        const note = `deleted CanaryDeployment ${names.canary}; waiting for it to reset traffic`;
        await ctx.events.publish(webapp, { reason: 'ReleaseDeleted', note, action: 'Delete' });
      }
      const since = Date.parse(webapp.metadata.deletionTimestamp ?? '') || ctx.now().getTime();
      if (ctx.now().getTime() - since < CanaryGraceMs) return Action.requeue(CanaryPollMs);
      await ctx.events.publish(webapp, {
        type: 'Warning',
        reason: 'CleanupTimeout',
        note:
          `CanaryDeployment ${names.canary} still exists after ${CanaryGraceMs / 1000}s (is the canary controller running?); ` +
          'deleting the rest, garbage collection removes it later',
        action: 'Delete',
      });
    }

    const deleted: string[] = [];
    const children: [kinds.ResourceKind, string][] = [
      [kinds.Service, names.service],
      [kinds.Deployment, names.deployment],
      [kinds.ConfigMap, names.configMap],
    ];
    for (const [kind, name] of children) {
      const child = ctx.cache(kind).get(namespace, name);
      if (!child || !isOwnedBy(child, webapp) || child.metadata.deletionTimestamp) continue;
      await inSpan(`webapp.delete ${kind.kind}`, { 'k8s.object.name': name }, () => remove(ctx, kind, child));
      deleted.push(`${kind.kind} ${name}`);
    }
    if (deleted.length > 0) {
      await ctx.events.publish(webapp, {
        reason: 'Deleted',
        note: `deleted ${deleted.join(', ')}; pods are removed by garbage collection`,
        action: 'Delete',
      });
    }
  });
}

/** Deletes `obj` if it is still the object we saw (uid precondition); gone already is fine. */
async function remove(ctx: ReconcileContext, kind: kinds.ResourceKind, obj: KubeObject): Promise<void> {
  await ctx.client.delete(kind, obj.metadata.namespace, obj.metadata.name ?? '', {
    propagationPolicy: 'Background',
    preconditions: { uid: obj.metadata.uid },
  });
}
