/**
 * An informer: one kind's {@link Store}, kept current by one watcher + reflector per
 * namespace (or one for the whole cluster), with change listeners.
 *
 * Informers are shared: the manager makes one per kind and every controller that
 * watches that kind listens to it.
 *
 * A listener that throws (or returns a promise that rejects) is reported through
 * `onListenerError` and otherwise ignored: the other listeners still get the change,
 * the watch goes on, and the process does not crash. The store already holds the change,
 * so nothing is lost for readers.
 */
import type { KubeObject } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import type { Clock } from './clock.ts';
import { createStore, type IndexFn, type Store, type StoreChange } from './store.ts';
import { reflector } from './reflector.ts';
import type { Transform } from './transform.ts';
import {
  watcher,
  type RestartReason,
  type WatcherClient,
  type WatcherError,
  type WatcherOptions,
} from './watcher.ts';

/** Informer settings. */
export interface InformerOptions<T extends KubeObject> {
  /** Namespaces to watch; ignored for cluster-scoped kinds. @default all namespaces */
  namespaces?: string[];
  labelSelector?: string;
  fieldSelector?: string;
  /** List and watch metadata only (the API server sends `PartialObjectMetadata`); pair it with a transform that names the kind. @default false */
  metadataOnly?: boolean;
  /** What the store keeps of each object (see `transform.ts`). @default the object as sent */
  transform?: Transform<T>;
  /** Extra indexes by name. */
  indexes?: Record<string, IndexFn<T>>;
  /** Server-side watch timeout. @default 300 */
  timeoutSeconds?: number;
  /** @default realClock */
  clock?: Clock;
  /** Called when a list or watch is restarted (for logs and the watch-restarts metric). */
  onRestart?: (kind: ResourceKind, reason: RestartReason, error: WatcherError | undefined) => void;
  /** Called when a listener throws or its promise rejects (for logs). @default a line on stderr */
  onListenerError?: (kind: ResourceKind, error: unknown) => void;
  /** Extra watcher settings (backoff, stall margin...). */
  watcher?: Omit<WatcherOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'metadataOnly' | 'clock'>;
}

/** A running (or not yet started) informer. */
export interface Informer<T extends KubeObject> {
  readonly kind: ResourceKind;
  readonly store: Store<T>;
  /** Registers a change listener; returns a function removing it. */
  subscribe(listener: (change: StoreChange<T>) => void): () => void;
  /** Starts watching (idempotent); resolves when every watcher has stopped after `signal` aborts. */
  start(signal: AbortSignal): Promise<void>;
}

/** Creates an informer for `kind`. */
export function createInformer<T extends KubeObject>(
  client: WatcherClient,
  kind: ResourceKind<T>,
  options: InformerOptions<T> = {},
): Informer<T> {
  const scopes: (string | undefined)[] =
    kind.namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [undefined];
  const sources = scopes.map((s) => s ?? '*');
  const { store, writer } = createStore<T>({ indexes: options.indexes, sources });
  const listeners = new Set<(change: StoreChange<T>) => void>();
  let running: Promise<void> | undefined;

  const report = (error: unknown): void => {
    try {
      if (options.onListenerError) options.onListenerError(kind, error);
      else
        console.error(
          `informer ${kind.kind}: a change listener failed (the watch goes on): ${error instanceof Error ? error.message : String(error)}`,
        );
    } catch {
      // The reporter itself failed: nothing better to do than go on watching.
    }
  };
  const onChange = (change: StoreChange<T>): void => {
    for (const listener of listeners) {
      try {
        const result: unknown = listener(change);
        if (result instanceof Promise) result.catch(report);
      } catch (error) {
        report(error);
      }
    }
  };

  return {
    kind,
    store,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start(signal) {
      running ??= Promise.all(
        scopes.map((scope) =>
          reflector(
            watcher<T>(
              client,
              kind,
              {
                ...options.watcher,
                namespace: scope,
                labelSelector: options.labelSelector,
                fieldSelector: options.fieldSelector,
                metadataOnly: options.metadataOnly,
                timeoutSeconds: options.timeoutSeconds ?? options.watcher?.timeoutSeconds,
                clock: options.clock,
              },
              signal,
              { onRestart: (reason, error) => options.onRestart?.(kind, reason, error) },
            ),
            { writer, scope, source: scope ?? '*', onChange, transform: options.transform },
          ),
        ),
      ).then(() => undefined);
      return running;
    },
  };
}
