/**
 * Telling the user why a notification receiver was left out: a Warning Event on the
 * release (and on the WebApp that made it, if any) and the `NotificationsReady`
 * condition on the release, both naming the Secret and what to do (e.g. the label that
 * opts a Secret in to notifications).
 *
 * Runs after a notification was sent in the background, so the condition is written with
 * its own field manager ({@link NotificationFieldManager}): it never removes the
 * reconciler's status fields, and the reconciler's own status apply leaves it in place.
 * A condition that is already as it should be costs no request (the apply skip rule);
 * the condition is first written only when something is wrong, and set back to True
 * once every receiver resolves again.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import type { ReceiverProblem } from '../notify/resolve.ts';
import { applyStatus } from '../runtime/apply.ts';
import type { KubeObject } from '../runtime/client.ts';
import { getCondition, setCondition } from '../runtime/conditions.ts';
import type { ReconcileContext } from '../runtime/controller.ts';
import { describeError } from '../runtime/errors.ts';
import { apiVersionOf } from '../runtime/kinds.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';

/** The condition type on a CanaryDeployment. */
export const NotificationsReadyCondition = 'NotificationsReady';
/** Field manager of the condition's writes. */
export const NotificationFieldManager = 'codedance-notify';

/** Event reasons: a Secret without the opt-in label, a URL the policy refused, and any other receiver left out. */
export const NotificationEventReasons = {
  refused: 'NotificationSecretRefused',
  urlRefused: 'NotificationURLRefused',
  invalid: 'NotificationReceiverInvalid',
} as const;

/**
 * Reports the outcome of resolving a release's receivers: Events for each distinct
 * problem, and the condition. Never throws (failures are logged).
 */
export async function reportNotificationProblems(
  cd: CanaryDeployment,
  ctx: ReconcileContext,
  problems: readonly ReceiverProblem[],
): Promise<void> {
  const regarding = [cd as KubeObject, ...webAppOwner(cd)];
  const seen = new Set<string>();
  const events: Promise<void>[] = [];
  for (const problem of problems) {
    if (seen.has(problem.message)) continue;
    seen.add(problem.message);
    const reason =
      problem.reason === 'SecretNotOptedIn'
        ? NotificationEventReasons.refused
        : problem.refused
          ? NotificationEventReasons.urlRefused
          : NotificationEventReasons.invalid;
    const note = `notification ${problem.receiver} left out: ${problem.message}`;
    for (const object of regarding)
      events.push(ctx.events.publish(object, { type: 'Warning', reason, note, action: 'Notify' }));
  }
  await Promise.all(events);

  const current = getCondition(cd.status?.conditions, NotificationsReadyCondition);
  // Nothing wrong and nothing to clear: no condition, no request.
  if (problems.length === 0 && (!current || current.status === 'True')) return;
  const first = problems[0];
  const update = first
    ? {
        type: NotificationsReadyCondition,
        status: 'False' as const,
        reason: first.reason,
        message: [...seen].join('; ').slice(0, 1024),
        observedGeneration: cd.metadata.generation,
      }
    : {
        type: NotificationsReadyCondition,
        status: 'True' as const,
        reason: 'ReceiversResolved',
        message: 'every notification receiver resolved',
        observedGeneration: cd.metadata.generation,
      };
  const condition = setCondition(cd.status?.conditions, update, ctx.now()).find(
    (c) => c.type === NotificationsReadyCondition,
  );
  try {
    await applyStatus<KubeObject>(
      ctx.client,
      CanaryDeploymentKind,
      {
        apiVersion: apiVersionOf(CanaryDeploymentKind),
        kind: CanaryDeploymentKind.kind,
        metadata: { name: cd.metadata.name, namespace: cd.metadata.namespace },
        status: { conditions: [condition] },
      } as KubeObject,
      { current: cd as KubeObject, fieldManager: NotificationFieldManager },
    );
  } catch (err) {
    ctx.log.warn(
      { err },
      `could not set the ${NotificationsReadyCondition} condition: ${describeError(err)}`,
    );
  }
}

/** The WebApp controlling the release, as an object Events can point at (none for a release made by hand). */
function webAppOwner(cd: CanaryDeployment): KubeObject[] {
  const owner = cd.metadata.ownerReferences?.find(
    (ref) =>
      ref.controller === true && ref.kind === WebAppKind.kind && ref.apiVersion === apiVersionOf(WebAppKind),
  );
  if (!owner) return [];
  return [
    {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      metadata: { name: owner.name, namespace: cd.metadata.namespace, uid: owner.uid },
    },
  ];
}
