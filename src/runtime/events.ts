/**
 * events.k8s.io/v1 Events, through a recorder bound to one controller.
 *
 * Every Event carries `reportingController: codedance.io/<controller>` and
 * `reportingInstance: <identity>`. The same event (same object, type, reason, action and
 * note) repeated within {@link EventRecorderOptions.seriesWindowMs} is folded into the first
 * one's `series` (count + lastObservedTime) instead of creating a new object, as
 * client-go's events broadcaster does.
 *
 * Publishing never throws: Events are best effort, failures are logged.
 */
import type { KubeClient, KubeObject } from './client.ts';
import { Event as EventKind, type ResourceKind, apiVersionOf } from './kinds.ts';
import { realClock, type Clock } from './clock.ts';
import type { Logger } from './logging.ts';

/** What to publish about an object. */
export interface EventInput {
  /** @default 'Normal' */
  type?: 'Normal' | 'Warning';
  /** PascalCase, machine-readable (e.g. `WeightChanged`). */
  reason: string;
  /** Human-readable, at most 1 kB. */
  note?: string;
  /** What the controller did or failed to do, PascalCase (e.g. `Reconcile`). @default reason */
  action?: string;
  /** A second object the event is about. */
  related?: KubeObject;
}

/** Publishes Events about objects. */
export interface EventRecorder {
  publish(regarding: KubeObject, event: EventInput): Promise<void>;
}

/** Recorder settings. */
export interface EventRecorderOptions {
  client: KubeClient;
  /** The controller's name; Events say `codedance.io/<controller>`. */
  controller: string;
  /** This process's identity (hostname + random id). */
  instance: string;
  log?: Logger;
  /** @default realClock */
  clock?: Clock;
  /** Repeats within this window join a series. @default 360000 (6 minutes, like client-go) */
  seriesWindowMs?: number;
  /** Distinct events remembered for series. @default 4096 */
  maxTracked?: number;
  /** Kind of objects that lack apiVersion/kind. */
  defaultKind?: ResourceKind;
}

/** An events.k8s.io/v1 Event as written. */
export interface KubeEvent extends KubeObject {
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  note?: string;
  type: 'Normal' | 'Warning';
  regarding: ObjectReference;
  related?: ObjectReference;
  series?: { count: number; lastObservedTime: string };
}

/** Reference to an object, as Events write it. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

/** `metav1.MicroTime`: RFC 3339 with microseconds. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const pascalCase = /^[A-Z][A-Za-z0-9]*$/;

/** Creates a recorder for one controller. */
export function createEventRecorder(options: EventRecorderOptions): EventRecorder {
  const clock = options.clock ?? realClock;
  const windowMs = options.seriesWindowMs ?? 6 * 60_000;
  const maxTracked = options.maxTracked ?? 4096;
  const reportingController = `codedance.io/${options.controller}`;
  /** Fold key -> the Event to extend; insertion order doubles as LRU order. */
  const tracked = new Map<string, { namespace: string; name: string; count: number; lastMs: number }>();

  function reference(obj: KubeObject): ObjectReference {
    const fallback = options.defaultKind;
    return {
      apiVersion: obj.apiVersion ?? (fallback ? apiVersionOf(fallback) : undefined),
      kind: obj.kind ?? fallback?.kind,
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
    };
  }

  async function write(regarding: KubeObject, input: EventInput, foldKey: string): Promise<void> {
    const now = clock.now();
    const seen = tracked.get(foldKey);
    if (seen && now - seen.lastMs < windowMs) {
      seen.count++;
      seen.lastMs = now;
      tracked.delete(foldKey);
      tracked.set(foldKey, seen);
      try {
        await options.client.patch(
          EventKind,
          seen.namespace,
          seen.name,
          { series: { count: seen.count, lastObservedTime: formatMicroTime(now) } },
          'merge',
        );
        return;
      } catch (err) {
        // The Event may have expired (1h TTL) or been deleted: start a new one.
        options.log?.debug({ err, reason: input.reason }, 'event series update failed; creating a new event');
      }
    }
    const namespace = regarding.metadata.namespace || 'default';
    const name = `${regarding.metadata.name ?? 'object'}.${now.toString(16)}${Math.floor(
      Math.random() * 0xffff,
    )
      .toString(16)
      .padStart(4, '0')}`;
    const event: KubeEvent = {
      apiVersion: apiVersionOf(EventKind),
      kind: EventKind.kind,
      metadata: { name, namespace },
      eventTime: formatMicroTime(now),
      reportingController,
      reportingInstance: options.instance,
      action: input.action ?? input.reason,
      reason: input.reason,
      type: input.type ?? 'Normal',
      regarding: reference(regarding),
    };
    if (input.note) event.note = input.note.length > 1024 ? `${input.note.slice(0, 1021)}...` : input.note;
    if (input.related) event.related = reference(input.related);
    await options.client.create(EventKind, event);
    tracked.delete(foldKey);
    tracked.set(foldKey, { namespace, name, count: 1, lastMs: now });
    while (tracked.size > maxTracked) {
      const oldest = tracked.keys().next().value;
      if (oldest === undefined) break;
      tracked.delete(oldest);
    }
  }

  const chains = new Map<string, Promise<void>>();
  return {
    publish(regarding, input) {
      if (!pascalCase.test(input.reason))
        options.log?.warn({ reason: input.reason }, 'event reason should be PascalCase');
      const foldKey = [
        regarding.metadata.uid ?? `${regarding.metadata.namespace}/${regarding.metadata.name}`,
        input.type ?? 'Normal',
        input.reason,
        input.action ?? '',
        input.note ?? '',
      ].join('\u0000');
      // Publishes of the same event run one after another, so a repeat sees the first one's name.
      const previous = chains.get(foldKey) ?? Promise.resolve();
      const next = previous
        .then(() => write(regarding, input, foldKey))
        .catch((err: unknown) => {
          options.log?.warn(
            {
              err,
              reason: input.reason,
              object: `${regarding.metadata.namespace ?? ''}/${regarding.metadata.name ?? ''}`,
            },
            'event not recorded',
          );
        });
      chains.set(foldKey, next);
      void next.finally(() => {
        if (chains.get(foldKey) === next) chains.delete(foldKey);
      });
      return next;
    },
  };
}
