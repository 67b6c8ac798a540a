/**
 * The watcher: list, then watch from the list's resourceVersion, forever.
 *
 * It is an explicit state machine ({@link WatcherState}: listing → watching → relisting)
 * advanced by one function, {@link step}; {@link watcher} only loops over it, yields the
 * events and sleeps the delays it asks for.
 *
 * Guarantees:
 * - a full list is announced as `init`, `init-page`* and `init-done`, so a consumer can
 *   buffer it and swap at once;
 * - watches resume from the last resourceVersion seen (objects and bookmarks), so a
 *   reconnect after the server's timeout loses and repeats nothing;
 * - 410 Gone (as an HTTP answer, or as an ERROR event with code 410) leads to a relist;
 * - a stream error, or a stream silent for longer than the server timeout plus a margin,
 *   is restarted with exponential backoff (reset by the next event that arrives).
 * Caveat: events between a relist's list and the restart are not replayed; the relist's
 * `init-done` is the new truth, which is what a level-triggered consumer needs.
 */
import { isGone, type KubeClient, type KubeObject, type WatchEvent } from './client.ts';
import type { ResourceKind } from './kinds.ts';
import { backoffDelay, resolveBackoff, type Backoff, type BackoffOptions } from './backoff.ts';
import { realClock, sleep, type Clock } from './clock.ts';
import { RuntimeError } from './errors.ts';

/** What the watcher reports. */
export type WatcherEvent<T extends KubeObject> =
  /** A full list starts: drop any buffered list. */
  | { type: 'init' }
  /** One page of the current full list. */
  | { type: 'init-page'; objects: T[] }
  /** The full list is complete: it replaces everything known before. */
  | { type: 'init-done'; resourceVersion: string }
  | { type: 'apply'; object: T }
  | { type: 'delete'; object: T };

/** Why the watcher restarted a list or a watch. */
export type RestartReason = 'gone' | 'error' | 'stall';

/** Failed steps, named as the watcher's {@link WatcherError} kinds. */
export type WatcherErrorKind =
  | 'InitialListFailed'
  | 'RelistFailed'
  | 'WatchFailed'
  | 'WatchStalled'
  | 'WatchExpired';

/** An error of one watcher step; the watcher itself keeps going. */
export class WatcherError extends RuntimeError<WatcherErrorKind> {
  constructor(kind: WatcherErrorKind, message: string, cause?: unknown) {
    super(kind, message, cause);
    this.name = 'WatcherError';
  }
}

/** Watcher settings. `undefined` means unset. */
export interface WatcherOptions {
  /** Watch one namespace only. @default all namespaces */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List and watch metadata only (`PartialObjectMetadata`). @default false */
  metadataOnly?: boolean;
  /** Page size of lists. @default 500 */
  pageSize?: number;
  /** Server-side timeout of each watch request, in seconds. @default 300 */
  timeoutSeconds?: number;
  /** Extra silence allowed beyond the timeout before a stream counts as stalled, in ms. @default 30000 */
  stallMarginMs?: number;
  /** Backoff between failed attempts. @default { initialMs: 800, maxMs: 30000, factor: 2, jitter: 0.2 } */
  backoff?: BackoffOptions;
  /** @default realClock */
  clock?: Clock;
  /** @default Math.random */
  random?: () => number;
}

/** Resolved {@link WatcherOptions}. */
export interface WatcherConfig {
  namespace: string | undefined;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
  metadataOnly: boolean;
  pageSize: number;
  timeoutSeconds: number;
  stallMs: number;
  backoff: Backoff;
  clock: Clock;
  random: () => number;
}

/** Fills in every default of {@link WatcherOptions} (the only place they live). */
export function resolveWatcherOptions(options: WatcherOptions = {}): WatcherConfig {
  const timeoutSeconds = options.timeoutSeconds ?? 300;
  return {
    namespace: options.namespace,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
    metadataOnly: options.metadataOnly ?? false,
    pageSize: options.pageSize ?? 500,
    timeoutSeconds,
    stallMs: timeoutSeconds * 1000 + (options.stallMarginMs ?? 30_000),
    backoff: resolveBackoff(options.backoff ?? { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 0.2 }),
    clock: options.clock ?? realClock,
    random: options.random ?? Math.random,
  };
}

/** An open watch stream. */
export interface WatchStream<T extends KubeObject> {
  iterator: AsyncIterator<WatchEvent<T>>;
  abort: AbortController;
  /** When it was opened (clock ms), to tell a server timeout from a stream that closes at once. */
  openedAt: number;
}

/** The watcher's state; `failures` counts consecutive failed attempts (for backoff). */
export type WatcherState<T extends KubeObject> =
  /** The first list: nothing known yet. `continueToken` is set between pages. */
  | { phase: 'listing'; continueToken?: string; failures: number }
  /** Watching from `resourceVersion`; `stream` is unset until the watch is (re)opened. */
  | { phase: 'watching'; resourceVersion: string; stream?: WatchStream<T>; failures: number }
  /** A new full list after the history was lost (410 Gone); it replaces what is known. */
  | { phase: 'relisting'; continueToken?: string; failures: number };

/** What one {@link step} produced. */
export interface StepResult<T extends KubeObject> {
  state: WatcherState<T>;
  events: WatcherEvent<T>[];
  /** Wait this long before the next step (backoff). */
  delayMs: number;
  /** Set when this step gave up a list or stream. */
  restart?: RestartReason;
  error?: WatcherError;
}

/** The API calls the watcher needs (a subset of {@link KubeClient}, easy to fake). */
export type WatcherClient = Pick<KubeClient, 'list' | 'watch'>;

/** The initial state. */
export function initialState<T extends KubeObject>(): WatcherState<T> {
  return { phase: 'listing', failures: 0 };
}

/**
 * Advances the watcher by one step: one list page, or one watch event (opening the
 * watch first if needed). `signal` aborts a pending read.
 */
export async function step<T extends KubeObject>(
  state: WatcherState<T>,
  client: WatcherClient,
  kind: ResourceKind,
  config: WatcherConfig,
  signal?: AbortSignal,
): Promise<StepResult<T>> {
  if (state.phase === 'listing' || state.phase === 'relisting') return listPage(state, client, kind, config);
  return watchNext(state, client, kind, config, signal);
}

async function listPage<T extends KubeObject>(
  state: Extract<WatcherState<T>, { phase: 'listing' | 'relisting' }>,
  client: WatcherClient,
  kind: ResourceKind,
  config: WatcherConfig,
): Promise<StepResult<T>> {
  const first = state.continueToken === undefined;
  try {
    const page = await client.list<T>(kind, {
      namespace: config.namespace,
      labelSelector: config.labelSelector,
      fieldSelector: config.fieldSelector,
      limit: config.pageSize,
      continue: state.continueToken,
      ...(config.metadataOnly ? { metadataOnly: true } : {}),
    });
    const events: WatcherEvent<T>[] = first ? [{ type: 'init' }] : [];
    // List items of built-in kinds come without apiVersion/kind; watch events carry them.
    // Fill them in so every cached object says what it is (Events and owner refs need it).
    const apiVersion = kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
    // An empty metadata-only list (PartialObjectMetadataList) says `items: null`.
    const objects = (page.items ?? []).map((item) =>
      item.kind ? item : { ...item, apiVersion, kind: kind.kind },
    );
    events.push({ type: 'init-page', objects });
    if (page.metadata.continue) {
      return {
        state: { phase: state.phase, continueToken: page.metadata.continue, failures: 0 },
        events,
        delayMs: 0,
      };
    }
    events.push({ type: 'init-done', resourceVersion: page.metadata.resourceVersion ?? '' });
    return {
      state: { phase: 'watching', resourceVersion: page.metadata.resourceVersion ?? '', failures: 0 },
      events,
      delayMs: 0,
    };
  } catch (err) {
    // Any failure restarts the list from its first page (an expired continue token is a 410 too),
    // so the consumer's buffer starts over with the next `init`.
    const failures = state.failures + 1;
    const kindName = state.phase === 'listing' ? 'InitialListFailed' : 'RelistFailed';
    return {
      state: { phase: state.phase, failures },
      events: [],
      delayMs: backoffDelay(config.backoff, failures, config.random),
      restart: isGone(err) ? 'gone' : 'error',
      error: new WatcherError(kindName, `list ${kind.plural} failed`, err),
    };
  }
}

async function watchNext<T extends KubeObject>(
  state: Extract<WatcherState<T>, { phase: 'watching' }>,
  client: WatcherClient,
  kind: ResourceKind,
  config: WatcherConfig,
  signal?: AbortSignal,
): Promise<StepResult<T>> {
  let stream = state.stream;
  if (!stream) {
    const abort = new AbortController();
    const iterable = client.watch<T>(
      kind,
      {
        namespace: config.namespace,
        labelSelector: config.labelSelector,
        fieldSelector: config.fieldSelector,
        resourceVersion: state.resourceVersion,
        timeoutSeconds: config.timeoutSeconds,
        allowWatchBookmarks: true,
        ...(config.metadataOnly ? { metadataOnly: true } : {}),
      },
      signal ? AbortSignal.any([abort.signal, signal]) : abort.signal,
    );
    stream = { iterator: iterable[Symbol.asyncIterator](), abort, openedAt: config.clock.now() };
  }

  const result = await nextWithin(stream.iterator, config.clock, config.stallMs);
  const failed = (reason: RestartReason, error: WatcherError): StepResult<T> => {
    stream.abort.abort();
    const failures = state.failures + 1;
    if (reason === 'gone')
      return { state: { phase: 'relisting', failures: 0 }, events: [], delayMs: 0, restart: reason, error };
    return {
      state: { phase: 'watching', resourceVersion: state.resourceVersion, failures },
      events: [],
      delayMs: backoffDelay(config.backoff, failures, config.random),
      restart: reason,
      error,
    };
  };

  if (result.kind === 'stalled') {
    return failed(
      'stall',
      new WatcherError('WatchStalled', `watch ${kind.plural}: no event or bookmark for ${config.stallMs}ms`),
    );
  }
  if (result.kind === 'error') {
    if (isGone(result.error))
      return failed(
        'gone',
        new WatcherError(
          'WatchExpired',
          `watch ${kind.plural}: resourceVersion ${state.resourceVersion} is gone`,
          result.error,
        ),
      );
    return failed('error', new WatcherError('WatchFailed', `watch ${kind.plural} failed`, result.error));
  }
  if (result.kind === 'done') {
    // The server ended the stream (its timeout): reconnect from where we are, at once.
    // A stream that ends right after opening is a failure in disguise: back off instead of spinning.
    if (config.clock.now() - stream.openedAt < 1000) {
      return failed(
        'error',
        new WatcherError('WatchFailed', `watch ${kind.plural}: stream closed right after opening`),
      );
    }
    return {
      state: { phase: 'watching', resourceVersion: state.resourceVersion, failures: state.failures },
      events: [],
      delayMs: 0,
    };
  }

  const event = result.value;
  const keep = (resourceVersion: string, events: WatcherEvent<T>[]): StepResult<T> => ({
    state: {
      phase: 'watching',
      resourceVersion: resourceVersion || state.resourceVersion,
      stream,
      failures: 0,
    },
    events,
    delayMs: 0,
  });
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
      return keep(event.object.metadata.resourceVersion ?? '', [{ type: 'apply', object: event.object }]);
    case 'DELETED':
      return keep(event.object.metadata.resourceVersion ?? '', [{ type: 'delete', object: event.object }]);
    case 'BOOKMARK':
      return keep(event.object.metadata.resourceVersion ?? '', []);
    case 'ERROR': {
      const status = event.object;
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
        return failed(
          'gone',
          new WatcherError(
            'WatchExpired',
            `watch ${kind.plural}: ${status.message ?? 'resourceVersion too old'}`,
            status,
          ),
        );
      }
      return failed(
        'error',
        new WatcherError('WatchFailed', `watch ${kind.plural}: ${status.message ?? 'ERROR event'}`, status),
      );
    }
    default:
      return keep('', []);
  }
}

type NextResult<T extends KubeObject> =
  | { kind: 'value'; value: WatchEvent<T> }
  | { kind: 'done' }
  | { kind: 'error'; error: unknown }
  | { kind: 'stalled' };

/** Reads the next stream event, or reports a stall if none comes within `ms`. */
function nextWithin<T extends KubeObject>(
  iterator: AsyncIterator<WatchEvent<T>>,
  clock: Clock,
  ms: number,
): Promise<NextResult<T>> {
  return new Promise((resolve) => {
    let settled = false;
    const cancel = clock.setTimer(ms, () => {
      if (settled) return;
      settled = true;
      resolve({ kind: 'stalled' });
    });
    iterator.next().then(
      (r) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(r.done ? { kind: 'done' } : { kind: 'value', value: r.value });
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve({ kind: 'error', error });
      },
    );
  });
}

/** Hooks for logs and metrics. */
export interface WatcherHooks {
  /** A list or stream was given up (and will be retried). */
  onRestart?: (reason: RestartReason, error: WatcherError | undefined) => void;
}

/**
 * Runs the watcher until `signal` aborts, yielding its events.
 * Never throws for API failures: they are retried with backoff and reported to `hooks`.
 */
export async function* watcher<T extends KubeObject>(
  client: WatcherClient,
  kind: ResourceKind,
  options: WatcherOptions,
  signal: AbortSignal,
  hooks: WatcherHooks = {},
): AsyncGenerator<WatcherEvent<T>> {
  const config = resolveWatcherOptions(options);
  let state = initialState<T>();
  try {
    while (!signal.aborted) {
      const result: StepResult<T> = await step(state, client, kind, config, signal);
      state = result.state;
      if (signal.aborted) break;
      if (result.restart) hooks.onRestart?.(result.restart, result.error);
      yield* result.events;
      if (result.delayMs > 0) await sleep(config.clock, result.delayMs, signal);
    }
  } finally {
    if (state.phase === 'watching') state.stream?.abort.abort();
  }
}
