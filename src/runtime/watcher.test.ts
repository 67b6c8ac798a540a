import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialState,
  resolveWatcherOptions,
  step,
  type StepResult,
  type WatcherClient,
  type WatcherState,
} from './watcher.ts';
import {
  KubeApiError,
  type KubeObject,
  type ListOptions,
  type ObjectList,
  type WatchEvent,
  type WatchOptions,
} from './client.ts';
import { ConfigMap } from './kinds.ts';
import { fakeClock, settle } from './clock.ts';

type Obj = KubeObject;
const cm = (name: string, rv: string): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

/** A watch stream the test feeds by hand. */
function channel() {
  const queue: (IteratorResult<WatchEvent<Obj>> | Error)[] = [];
  let waiter: ((v: IteratorResult<WatchEvent<Obj>> | Error) => void) | undefined;
  const deliver = (v: IteratorResult<WatchEvent<Obj>> | Error): void => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(v);
    } else queue.push(v);
  };
  return {
    aborted: false,
    push: (event: WatchEvent<Obj>) => deliver({ done: false, value: event }),
    fail: (err: Error) => deliver(err),
    end: () => deliver({ done: true, value: undefined }),
    iterable(signal?: AbortSignal): AsyncIterable<WatchEvent<Obj>> {
      signal?.addEventListener('abort', () => {
        this.aborted = true;
        deliver({ done: true, value: undefined });
      });
      return {
        [Symbol.asyncIterator]: () => ({
          next: async () => {
            const v =
              queue.shift() ??
              (await new Promise<IteratorResult<WatchEvent<Obj>> | Error>((r) => (waiter = r)));
            if (v instanceof Error) throw v;
            return v;
          },
        }),
      };
    },
  };
}

/** A client whose lists come from `pages` and whose watches are channels the test drives. */
function fakeClient(pages: ObjectList<Obj>[][]) {
  const lists: ListOptions[] = [];
  const watches: { options: WatchOptions; stream: ReturnType<typeof channel> }[] = [];
  const listErrors: Error[] = [];
  let listRound = 0;
  let pageIndex = 0;
  const client: WatcherClient = {
    async list<T extends KubeObject>(_kind: unknown, options: ListOptions = {}): Promise<ObjectList<T>> {
      lists.push(options);
      const err = listErrors.shift();
      if (err) throw err;
      if (!options.continue) pageIndex = 0;
      const round = pages[Math.min(listRound, pages.length - 1)]!;
      const page = round[pageIndex++]!;
      if (!page.metadata.continue) listRound++;
      return page as unknown as ObjectList<T>;
    },
    watch<T extends KubeObject>(
      _kind: unknown,
      options: WatchOptions,
      signal?: AbortSignal,
    ): AsyncIterable<WatchEvent<T>> {
      const stream = channel();
      watches.push({ options, stream });
      return stream.iterable(signal) as unknown as AsyncIterable<WatchEvent<T>>;
    },
  };
  return { client, lists, watches, listErrors };
}

const config = (clock = fakeClock()) =>
  resolveWatcherOptions({
    namespace: 'ns',
    timeoutSeconds: 60,
    stallMarginMs: 5000,
    clock,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
  });

test('lists page by page, announces a full list, then watches from its resourceVersion', async () => {
  const { client, lists, watches } = fakeClient([
    [
      { metadata: { resourceVersion: '10', continue: 'c1' }, items: [cm('a', '5')] },
      {
        metadata: { resourceVersion: '10' },
        items: [{ metadata: { name: 'b', namespace: 'ns', resourceVersion: '7' } }],
      },
    ],
  ]);
  const cfg = config();
  let r = await step(initialState<Obj>(), client, ConfigMap, cfg);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['init', 'init-page'],
  );
  assert.equal(r.state.phase, 'listing');
  r = await step(r.state, client, ConfigMap, cfg);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['init-page', 'init-done'],
  );
  assert.equal(lists[1]!.continue, 'c1');
  const page = r.events[0]!;
  assert.ok(page.type === 'init-page');
  assert.equal(page.objects[0]!.kind, 'ConfigMap', 'list items get their kind filled in');
  assert.deepEqual(r.state, { phase: 'watching', resourceVersion: '10', failures: 0 });

  const next = step(r.state, client, ConfigMap, cfg);
  await settle();
  assert.equal(watches.length, 1);
  assert.equal(watches[0]!.options.resourceVersion, '10');
  assert.equal(watches[0]!.options.allowWatchBookmarks, true);
  assert.equal(watches[0]!.options.namespace, 'ns');
  watches[0]!.stream.push({ type: 'ADDED', object: cm('c', '11') });
  r = await next;
  assert.deepEqual(r.events, [{ type: 'apply', object: cm('c', '11') }]);
  assert.equal(r.state.phase === 'watching' && r.state.resourceVersion, '11');
});

test('bookmarks move the resourceVersion; deletes are reported; a clean end resumes from the last one', async () => {
  const { client, watches } = fakeClient([[{ metadata: { resourceVersion: '1' }, items: [] }]]);
  const clock = fakeClock();
  const cfg = config(clock);
  let state: WatcherState<Obj> = { phase: 'watching', resourceVersion: '1', failures: 0 };
  const run = async (feed: () => void | Promise<void>) => {
    const p = step(state, client, ConfigMap, cfg);
    await settle();
    await feed();
    const r = await p;
    state = r.state;
    return r;
  };
  let r = await run(() =>
    watches[0]!.stream.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '50' } } }),
  );
  assert.deepEqual(r.events, []);
  assert.equal(state.phase === 'watching' && state.resourceVersion, '50');
  r = await run(() => watches[0]!.stream.push({ type: 'DELETED', object: cm('a', '51') }));
  assert.deepEqual(r.events, [{ type: 'delete', object: cm('a', '51') }]);
  r = await run(async () => {
    await clock.advance(30_000);
    watches[0]!.stream.end();
  });
  assert.equal(r.delayMs, 0);
  assert.equal(r.restart, undefined);
  assert.ok(state.phase === 'watching' && state.stream === undefined);
  await run(() =>
    watches[1]!.stream.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '60' } } }),
  );
  assert.equal(watches[1]!.options.resourceVersion, '51', 'reconnects from the last resourceVersion seen');
});

test('410 Gone, as an HTTP answer or as an ERROR event, leads to a relist', async () => {
  const { client, watches, lists } = fakeClient([
    [{ metadata: { resourceVersion: '100' }, items: [cm('a', '90')] }],
  ]);
  const cfg = config();
  let p = step<Obj>({ phase: 'watching', resourceVersion: '5', failures: 0 }, client, ConfigMap, cfg);
  await settle();
  watches[0]!.stream.fail(new KubeApiError(410, 'too old resource version'));
  let r = await p;
  assert.equal(r.restart, 'gone');
  assert.equal(r.error?.kind, 'WatchExpired');
  assert.deepEqual(r.state, { phase: 'relisting', failures: 0 });
  assert.equal(watches[0]!.stream.aborted, true);

  p = step<Obj>({ phase: 'watching', resourceVersion: '5', failures: 0 }, client, ConfigMap, cfg);
  await settle();
  watches[1]!.stream.push({
    type: 'ERROR',
    object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' },
  });
  r = await p;
  assert.equal(r.restart, 'gone');
  assert.equal(r.state.phase, 'relisting');

  r = await step(r.state, client, ConfigMap, cfg);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['init', 'init-page', 'init-done'],
  );
  assert.equal(lists.at(-1)!.resourceVersion, undefined, 'a relist reads the latest state');
  assert.equal(r.state.phase === 'watching' && r.state.resourceVersion, '100');
});

test('a silent stream is restarted after the server timeout plus margin, with backoff', async () => {
  const clock = fakeClock();
  const cfg = config(clock);
  const { client, watches } = fakeClient([[{ metadata: { resourceVersion: '1' }, items: [] }]]);
  const p = step<Obj>({ phase: 'watching', resourceVersion: '7', failures: 0 }, client, ConfigMap, cfg);
  let done = false;
  void p.then(() => (done = true));
  await clock.advance(64_999);
  assert.equal(done, false, 'not before 60s + 5s');
  await clock.advance(1);
  const r = await p;
  assert.equal(r.restart, 'stall');
  assert.equal(r.error?.kind, 'WatchStalled');
  assert.equal(r.delayMs, 100);
  assert.equal(watches[0]!.stream.aborted, true);
  assert.deepEqual(r.state, { phase: 'watching', resourceVersion: '7', failures: 1 });
});

test('a stream that closes right after opening backs off instead of spinning', async () => {
  const { client, watches } = fakeClient([[{ metadata: { resourceVersion: '1' }, items: [] }]]);
  const p = step<Obj>({ phase: 'watching', resourceVersion: '9', failures: 0 }, client, ConfigMap, config());
  await settle();
  watches[0]!.stream.end();
  const r = await p;
  assert.equal(r.restart, 'error');
  assert.equal(r.delayMs, 100);
});

test('stream errors back off exponentially; an event resets the backoff', async () => {
  const { client, watches } = fakeClient([[{ metadata: { resourceVersion: '1' }, items: [] }]]);
  const cfg = config();
  let state: WatcherState<Obj> = { phase: 'watching', resourceVersion: '3', failures: 0 };
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p: Promise<StepResult<Obj>> = step(state, client, ConfigMap, cfg);
    await settle();
    watches.at(-1)!.stream.fail(new KubeApiError(0, 'connection reset'));
    const r: StepResult<Obj> = await p;
    assert.equal(r.restart, 'error');
    assert.equal(r.error?.kind, 'WatchFailed');
    delays.push(r.delayMs);
    state = r.state;
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
  assert.ok(watches.every((w) => w.options.resourceVersion === '3'));
  const p = step(state, client, ConfigMap, cfg);
  await settle();
  watches.at(-1)!.stream.push({ type: 'MODIFIED', object: cm('a', '4') });
  const r = await p;
  assert.equal(r.state.failures, 0);
});

test('a failed list is retried from its first page with backoff', async () => {
  const { client, listErrors, lists } = fakeClient([
    [
      { metadata: { resourceVersion: '10', continue: 'c1' }, items: [cm('a', '5')] },
      { metadata: { resourceVersion: '10' }, items: [cm('b', '6')] },
    ],
  ]);
  const cfg = config();
  let r = await step(initialState<Obj>(), client, ConfigMap, cfg);
  listErrors.push(new KubeApiError(410, 'continue token expired'));
  r = await step(r.state, client, ConfigMap, cfg);
  assert.equal(r.error?.kind, 'InitialListFailed');
  assert.equal(r.delayMs, 100);
  assert.deepEqual(r.state, { phase: 'listing', failures: 1 });
  r = await step(r.state, client, ConfigMap, cfg);
  assert.equal(lists.at(-1)!.continue, undefined);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['init', 'init-page'],
  );
});

test('metadata-only: lists and watches ask for it, and an empty list (items: null) is an empty list', async () => {
  const { client, lists, watches } = fakeClient([
    [{ metadata: { resourceVersion: '3' }, items: null as unknown as Obj[] }],
  ]);
  const cfg = resolveWatcherOptions({ namespace: 'ns', metadataOnly: true, clock: fakeClock() });
  const r = await step(initialState<Obj>(), client, ConfigMap, cfg);
  assert.deepEqual(
    r.events.map((e) => e.type),
    ['init', 'init-page', 'init-done'],
  );
  const page = r.events[1]!;
  assert.ok(page.type === 'init-page');
  assert.deepEqual(page.objects, []);
  assert.equal(lists[0]!.metadataOnly, true);
  void step(r.state, client, ConfigMap, cfg);
  await settle();
  assert.equal(watches[0]!.options.metadataOnly, true);
  watches[0]!.stream.end();
});
