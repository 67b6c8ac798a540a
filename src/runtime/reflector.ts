/**
 * The reflector: the only writer of a {@link Store}. It applies a watcher's events to the
 * store and reports what actually changed.
 *
 * A full list (`init` … `init-done`) is buffered and swapped into the store in one
 * synchronous step, so readers never see half a list; objects that vanished while the
 * watch was down come out of the swap as deletes.
 */
import type { KubeObject } from './client.ts';
import type { StoreChange, StoreWriter } from './store.ts';
import type { WatcherEvent } from './watcher.ts';
import type { Transform } from './transform.ts';

/** Reflector settings. */
export interface ReflectorOptions<T extends KubeObject> {
  writer: StoreWriter<T>;
  /** The namespace this watcher covers; a relist replaces only it. @default everything */
  scope?: string;
  /** Name of this source for `markSynced`. @default '*' */
  source?: string;
  /** Receives each change after the store holds it. */
  onChange?: (change: StoreChange<T>) => void;
  /** What the store keeps of each object (applied to list items and watch events). @default the object as sent */
  transform?: Transform<T>;
}

/** Consumes `events` into the store until they end. */
export async function reflector<T extends KubeObject>(
  events: AsyncIterable<WatcherEvent<T>>,
  options: ReflectorOptions<T>,
): Promise<void> {
  const apply = reflectorStep(options);
  for await (const event of events) apply(event);
}

/** The reflector's per-event logic, for callers that drive events themselves (and tests). */
export function reflectorStep<T extends KubeObject>(
  options: ReflectorOptions<T>,
): (event: WatcherEvent<T>) => void {
  let buffer: T[] | undefined;
  const keep = options.transform ?? ((obj: T) => obj);
  const emit = (change: StoreChange<T> | undefined): void => {
    if (change) options.onChange?.(change);
  };
  return (event) => {
    switch (event.type) {
      case 'init':
        buffer = [];
        break;
      case 'init-page':
        // Transformed page by page, so a big list's full objects are garbage before the next page.
        (buffer ??= []).push(...event.objects.map(keep));
        break;
      case 'init-done': {
        const changes = options.writer.replace(buffer ?? [], options.scope);
        buffer = undefined;
        options.writer.markSynced(options.source ?? '*');
        for (const change of changes) emit(change);
        break;
      }
      case 'apply':
        emit(options.writer.apply(keep(event.object)));
        break;
      case 'delete':
        emit(options.writer.delete(keep(event.object)));
        break;
    }
  };
}
