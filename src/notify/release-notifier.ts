/**
 * The one function the release reconciler calls: resolve a CanaryDeployment's
 * receivers from its Secrets and send it one event.
 *
 * Costs one GET per referenced Secret per event (a release sends a handful of events),
 * so credentials rotated in a Secret take effect at the next event.
 */
import type { CanaryDeployment, NotificationEvent } from '../api/canary-deployment.ts';
import type { KubeClient } from '../runtime/client.ts';
import { notify, type NotifyOptions, type NotifyReport } from './notify.ts';
import { resolveReceivers, type ReceiverProblem, type ResolveOptions } from './resolve.ts';

export interface ReleaseNotifierOptions extends Omit<NotifyOptions, 'message'>, ResolveOptions {
  /** Called once per event with what happened (log failures and problems here). @default none */
  onReport?: (report: NotifyReport & { problems: ReceiverProblem[]; release: string }) => void;
}

/** What one call of a release notifier did: `undefined` when the release has no receivers. */
export type ReleaseNotifyReport = NotifyReport & { problems: ReceiverProblem[]; release: string };

/**
 * `(event, release, message) => Promise<report>` for the reconciler. The promise never
 * rejects and settles when delivery ends (bounded by the deadline) with what happened:
 * the receivers left out and why (`problems`, empty when every receiver resolved) and
 * each delivery, so the caller can report them on the release; callers need not await it.
 */
export function releaseNotifier(
  client: Pick<KubeClient, 'get'>,
  options: ReleaseNotifierOptions = {},
): (
  event: NotificationEvent,
  release: CanaryDeployment,
  message?: string,
) => Promise<ReleaseNotifyReport | undefined> {
  const { onReport, allowInternal, ...notifyOptions } = options;
  return async (event, release, message) => {
    const specs = release.spec.notifications;
    if (!specs || specs.length === 0) return undefined;
    const namespace = release.metadata.namespace ?? '';
    let full: ReleaseNotifyReport | undefined;
    try {
      const { receivers, problems } = await resolveReceivers(client, namespace, specs, {
        allowInternal: allowInternal ?? false,
      });
      const report = await notify(event, release, receivers, { ...notifyOptions, message });
      full = { ...report, problems, release: `${namespace}/${release.metadata.name ?? ''}` };
      onReport?.(full);
    } catch {
      // resolveReceivers and notify do not throw; onReport is the caller's and must not escape either.
    }
    return full;
  };
}
