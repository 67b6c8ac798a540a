/**
 * Timestamps of observable events, taken on the watcher side.
 *
 * A benchmark never asks the controller when it did something: it watches the objects
 * (through the runtime's own informers, the same watch machinery the controller uses)
 * and notes the wall-clock time at which each change arrives. A figure measured between
 * two such timestamps therefore includes one watch delivery at each end, which is the
 * honest view of a user's `kubectl get -w`; the write round trip benchmark reports that
 * delivery latency too, so readers can subtract it.
 */
import { createInformer, type Informer } from '../src/runtime/informer.ts';
import type { KubeClient, KubeObject } from '../src/runtime/client.ts';
import type { ResourceKind } from '../src/runtime/kinds.ts';
import type { Store, StoreChange } from '../src/runtime/store.ts';
import { now } from './stats.ts';

/** A predicate over the watched objects; true once the awaited state is reached. */
export type Check<T extends KubeObject> = (store: Store<T>) => boolean;

/** One kind in one namespace, watched, with waiters resolved at the first change that satisfies them. */
export interface Observer<T extends KubeObject> {
  readonly store: Store<T>;
  /**
   * Resolves with the time ({@link now}, ms since the epoch) of the first change, from now on, after
   * which `check` holds (or now, when it already holds). Rejects after `timeoutMs`.
   */
  when(describe: string, check: Check<T>, timeoutMs: number): Promise<number>;
  /** Calls `listener` with every change and the time it arrived; returns the unsubscribe function. */
  onChange(listener: (change: StoreChange<T>, at: number) => void): () => void;
  stop(): Promise<void>;
}

/** Starts watching `kind` in `namespace` and resolves once the first list is in. */
export async function observe<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind<T>,
  namespace: string,
  options: { labelSelector?: string } = {},
): Promise<Observer<T>> {
  const informer: Informer<T> = createInformer<T>(client, kind, {
    namespaces: [namespace],
    labelSelector: options.labelSelector,
  });
  const abort = new AbortController();
  const running = informer.start(abort.signal);
  await informer.store.ready();
  return {
    store: informer.store,
    when(describe, check, timeoutMs) {
      return new Promise<number>((resolve, reject) => {
        if (check(informer.store)) {
          resolve(now());
          return;
        }
        const timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`timed out after ${timeoutMs / 1000}s waiting for ${describe}`));
        }, timeoutMs);
        const unsubscribe = informer.subscribe(() => {
          // The time the change reached us, before evaluating anything.
          const at = now();
          if (!check(informer.store)) return;
          clearTimeout(timer);
          unsubscribe();
          resolve(at);
        });
      });
    },
    onChange(listener) {
      return informer.subscribe((change) => listener(change, now()));
    },
    async stop() {
      abort.abort();
      await running;
    },
  };
}
