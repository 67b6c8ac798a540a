/**
 * The Kubernetes Events about one release, for its timeline, read with the person's own
 * client: the API server decides whether they may list Events in that namespace (the
 * `view` role may), and its audit log names them.
 *
 * Read through the core `v1` Events API, which every Event is also served as (the
 * controller writes `events.k8s.io/v1`) and which the built-in `view` and `edit` roles
 * grant, filtered on the server by the release's kind and name. Events of an earlier
 * release of the same name (another uid) are left out.
 */
import { KubeApiError, type KubeClient } from '../runtime/client.ts';
import type { EventView } from './contract.ts';

/** A core v1 Event, as far as the timeline reads it. */
export interface CoreEvent {
  metadata?: { creationTimestamp?: string };
  involvedObject?: { kind?: string; name?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  reportingComponent?: string;
  source?: { component?: string };
}

/** Events or why not, with the status to answer. */
export type EventsOutcome =
  | { ok: true; events: EventView[] }
  | { ok: false; status: number; message: string };

/** At most this many Events are read (a crash-looping canary folds its repeats into series). */
const LIMIT = 500;

/** The view of one Event: times from whichever fields its writer filled, repeats counted. */
export function eventView(event: CoreEvent): EventView | undefined {
  const first = event.eventTime || event.firstTimestamp || event.metadata?.creationTimestamp;
  const last = event.series?.lastObservedTime || event.lastTimestamp || first;
  if (!last) return undefined;
  const count = Math.max(1, event.series?.count ?? event.count ?? 1);
  return {
    time: last,
    ...(first && first !== last ? { firstTime: first } : {}),
    type: event.type === 'Warning' ? 'Warning' : 'Normal',
    reason: event.reason ?? '',
    note: event.message ?? '',
    count,
    reporter: event.reportingComponent || event.source?.component || undefined,
  };
}

/** The Events about CanaryDeployment `namespace/name` (of `uid`, when given), oldest first. */
export async function releaseEvents(
  client: KubeClient,
  namespace: string,
  name: string,
  uid?: string,
): Promise<EventsOutcome> {
  const selector = `involvedObject.kind=CanaryDeployment,involvedObject.name=${name}`;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/events?fieldSelector=${encodeURIComponent(selector)}&limit=${LIMIT}`;
  try {
    const list = await client.raw<{ items?: CoreEvent[] }>('GET', path);
    const events = (list.items ?? [])
      .filter((e) => !uid || !e.involvedObject?.uid || e.involvedObject.uid === uid)
      .flatMap((e) => eventView(e) ?? [])
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    return { ok: true, events };
  } catch (err) {
    // The API server's refusal (no right to list Events there) is the answer, in its words.
    if (err instanceof KubeApiError && err.statusCode >= 400 && err.statusCode < 500)
      return { ok: false, status: err.statusCode, message: err.message };
    throw err;
  }
}
