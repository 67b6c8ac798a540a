import type { Pod } from '../runtime/core-types.ts';
import type { PodHealth } from './model.ts';

/** The Pod shape (declared once, in src/runtime/core-types.ts). */
export type { Pod };

export interface PodHealthOptions {
  now: number;
  /** How long a pod may stay not Ready. */
  notReadyGraceMs: number;
  /** Only pods running this image in `container` are judged. */
  image: string;
  container: string | undefined;
}

/** The verdict on a set of canary pods. */
export function assessPods(pods: readonly Pod[], options: PodHealthOptions): PodHealth {
  let recheckAt: number | undefined;
  let notReady: PodHealth | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp || !runsImage(pod, options)) continue;
    const name = pod.metadata.name ?? '?';
    for (const cs of pod.status?.containerStatuses ?? []) {
      if (cs.state?.waiting?.reason === 'CrashLoopBackOff') {
        return {
          healthy: false,
          reason: 'CrashLoopBackOff',
          pod: name,
          message: `pod ${name}: container ${cs.name} is in CrashLoopBackOff (${cs.restartCount ?? 0} restarts)`,
        };
      }
      if (cs.lastState?.terminated?.reason === 'OOMKilled' || cs.state?.terminated?.reason === 'OOMKilled') {
        return {
          healthy: false,
          reason: 'OOMKilled',
          pod: name,
          message: `pod ${name}: container ${cs.name} was OOMKilled`,
        };
      }
    }
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True' || pod.status?.phase === 'Succeeded') continue;
    const since = Math.max(
      parse(pod.status?.startTime) ?? parse(pod.metadata.creationTimestamp) ?? options.now,
      parse(ready?.lastTransitionTime) ?? 0,
    );
    const deadline = since + options.notReadyGraceMs;
    if (deadline <= options.now) {
      notReady ??= {
        healthy: false,
        reason: 'NotReady',
        pod: name,
        message: `pod ${name} has not been Ready for ${Math.round((options.now - since) / 1000)}s (grace ${Math.round(options.notReadyGraceMs / 1000)}s)`,
      };
    } else {
      recheckAt = recheckAt === undefined ? deadline : Math.min(recheckAt, deadline);
    }
  }
  if (notReady) return notReady;
  return recheckAt === undefined ? { healthy: true } : { healthy: true, recheckAt };
}

function runsImage(pod: Pod, options: PodHealthOptions): boolean {
  const containers = pod.spec?.containers ?? [];
  const container =
    options.container === undefined ? containers[0] : containers.find((c) => c.name === options.container);
  return container?.image === options.image;
}

function parse(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
