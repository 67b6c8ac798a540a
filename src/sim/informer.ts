/**
 * A read-only cache of one kind of object, kept current by list-then-watch.
 *
 * The simulator needs the latest weights at every tick for hundreds of services, so
 * it reads them from memory and lets the API server push changes: one LIST, then one
 * long WATCH per kind (per namespace when scoped). The loop:
 * - resumes a watch that ended from the last resourceVersion seen (bookmarks keep it fresh);
 * - relists after 410 Gone or any failure, with a growing delay;
 * - treats a kind the server does not serve (404, e.g. Istio's CRDs not installed) as
 *   empty, and looks again every `missingKindRetryMs`.
 * `ready` resolves after the first list, or after the first failure so a missing kind
 * never holds the simulator up.
 */
import { isGone, isNotFound, type KubeClient, type KubeObject } from '../runtime/client.ts';
import type { ResourceKind } from '../runtime/kinds.ts';

/** The part of the kube client an informer uses. */
export type WatchClient = Pick<KubeClient, 'list' | 'watch'>;

export interface InformerOptions {
  /** Watch one namespace; all when unset. */
  namespace?: string;
  /** Called on any change (after the cache is updated). */
  onChange?: () => void;
  /** Reports failures; the informer retries on its own. */
  onError?: (err: unknown) => void;
  /** @default 15000 */
  missingKindRetryMs?: number;
}

export interface Informer<T extends KubeObject> {
  readonly kind: ResourceKind;
  /** Resolves once the cache has been filled (or the first attempt failed). */
  readonly ready: Promise<void>;
  get(namespace: string | undefined, name: string): T | undefined;
  list(): IterableIterator<T>;
  stop(): void;
}

const WatchTimeoutSeconds = 240;
const MaxBackoffMs = 30_000;

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Starts caching `kind`; stop it with `stop()`. */
export function informer<T extends KubeObject>(client: WatchClient, kind: ResourceKind, options: InformerOptions = {}): Informer<T> {
  const items = new Map<string, T>();
  const abort = new AbortController();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });

  async function listAll(): Promise<string | undefined> {
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await client.list<T>(kind, { namespace: options.namespace, limit: 500, continue: continueToken });
      for (const item of page.items) fresh.set(keyOf(item), item);
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    // Swap at once so a reader never sees half a list.
    items.clear();
    for (const [key, item] of fresh) items.set(key, item);
    return resourceVersion;
  }

  async function run(): Promise<void> {
    let backoffMs = 500;
    let resourceVersion: string | undefined;
    while (!abort.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await listAll();
          markReady();
          options.onChange?.();
        }
        for await (const event of client.watch<T>(kind, { namespace: options.namespace, resourceVersion, timeoutSeconds: WatchTimeoutSeconds }, abort.signal)) {
          if (event.type === 'ERROR') {
            // 410 (or any error status) in the stream: our resourceVersion is too old.
            resourceVersion = undefined;
            break;
          }
          resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') items.delete(keyOf(event.object));
          else items.set(keyOf(event.object), event.object);
          options.onChange?.();
        }
        backoffMs = 500;
      } catch (err) {
        if (abort.signal.aborted) return;
        markReady();
        resourceVersion = undefined;
        if (isNotFound(err)) {
          items.clear();
          await sleep(options.missingKindRetryMs ?? 15_000);
          continue;
        }
        if (!isGone(err)) options.onError?.(err);
        await sleep(backoffMs);
        backoffMs = Math.min(MaxBackoffMs, backoffMs * 2);
      }
    }
  }

  void run();

  return {
    kind,
    ready,
    get(namespace, name) {
      return items.get(`${namespace ?? ''}/${name}`);
    },
    list() {
      return items.values();
    },
    stop() {
      abort.abort();
      markReady();
    },
  };
}
