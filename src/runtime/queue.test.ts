import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkQueue, type QueueOutcome } from './queue.ts';
import { fakeClock, settle } from './clock.ts';

/** A handler whose runs are resolved by the test, recording starts with their virtual time. */
function controlledHandler(clock: { now(): number }) {
  const starts: { key: string; at: number }[] = [];
  const waiting = new Map<string, (o: QueueOutcome) => void>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const perKey = new Map<string, number>();
  return {
    starts,
    get maxConcurrent() {
      return maxConcurrent;
    },
    perKeyMax: new Map<string, number>(),
    handle(key: string): Promise<QueueOutcome> {
      starts.push({ key, at: clock.now() });
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      const running = (perKey.get(key) ?? 0) + 1;
      perKey.set(key, running);
      this.perKeyMax.set(key, Math.max(this.perKeyMax.get(key) ?? 0, running));
      return new Promise((resolve) => {
        waiting.set(key, (o) => {
          concurrent--;
          perKey.set(key, (perKey.get(key) ?? 1) - 1);
          resolve(o);
        });
      });
    },
    async finish(key: string, outcome: QueueOutcome = { kind: 'done' }) {
      const resolve = waiting.get(key);
      assert.ok(resolve, `${key} is not running`);
      waiting.delete(key);
      resolve(outcome);
      await settle();
    },
  };
}

test('a key added many times before it runs is handled once', async () => {
  const clock = fakeClock();
  const seen: string[] = [];
  const queue = createWorkQueue({
    clock,
    concurrency: 1,
    handle: async (key) => {
      seen.push(key);
      return { kind: 'done' };
    },
  });
  queue.add('a', 10);
  queue.add('a', 10);
  queue.add('b', 10);
  queue.add('a', 20);
  assert.equal(queue.depth(), 2);
  await clock.advance(10);
  assert.deepEqual(seen, ['a', 'b']);
  await clock.advance(100);
  assert.deepEqual(seen, ['a', 'b']);
});

test('a key is never handled twice at once; an add during a run re-runs it after', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const queue = createWorkQueue({ clock, concurrency: 4, handle: (k) => h.handle(k) });
  queue.add('a');
  await settle();
  assert.equal(h.starts.length, 1);
  queue.add('a');
  queue.add('a');
  await clock.advance(1000);
  assert.equal(h.starts.length, 1, 'still running: not started again');
  assert.equal(queue.depth(), 1);
  await h.finish('a');
  assert.equal(h.starts.length, 2, 'run again once the first run ended');
  await h.finish('a');
  await clock.advance(1000);
  assert.equal(h.starts.length, 2);
  assert.equal(h.perKeyMax.get('a'), 1);
});

test('concurrency is bounded', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const queue = createWorkQueue({ clock, concurrency: 2, handle: (k) => h.handle(k) });
  for (const k of ['a', 'b', 'c', 'd']) queue.add(k);
  await settle();
  assert.deepEqual(
    h.starts.map((s) => s.key),
    ['a', 'b'],
  );
  assert.equal(queue.running(), 2);
  await h.finish('a');
  assert.deepEqual(
    h.starts.map((s) => s.key),
    ['a', 'b', 'c'],
  );
  await h.finish('b');
  await h.finish('c');
  await h.finish('d');
  assert.equal(h.maxConcurrent, 2);
});

test('retries back off exponentially per key and reset on success', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const queue = createWorkQueue({
    clock,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2 },
    handle: (k) => h.handle(k),
  });
  queue.add('a');
  await settle();
  for (const expected of [100, 200, 400, 800, 1000, 1000]) {
    const before = h.starts.length;
    const startedAt = clock.now();
    await h.finish('a', { kind: 'retry' });
    await clock.advance(expected - 1);
    assert.equal(h.starts.length, before, `not before ${expected}ms`);
    await clock.advance(1);
    assert.equal(h.starts.length, before + 1, `retried after ${expected}ms`);
    assert.equal(h.starts.at(-1)!.at - startedAt, expected);
  }
  assert.equal(queue.failures('a'), 6);
  await h.finish('a', { kind: 'done' });
  assert.equal(queue.failures('a'), 0);
  queue.add('a');
  await settle();
  await h.finish('a', { kind: 'retry' });
  await clock.advance(100);
  assert.equal(h.starts.at(-1)!.at - h.starts.at(-2)!.at, 100, 'backoff starts over after a success');
  await h.finish('a');
});

test('a thrown handler error counts as a retry', async () => {
  const clock = fakeClock();
  let calls = 0;
  const errors: unknown[] = [];
  const queue = createWorkQueue({
    clock,
    backoff: { initialMs: 50 },
    handle: async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      return { kind: 'done' };
    },
    onHandlerError: (_k, err) => errors.push(err),
  });
  queue.add('x');
  await settle();
  assert.equal(calls, 1);
  assert.equal(errors.length, 1);
  await clock.advance(50);
  assert.equal(calls, 2);
  assert.equal(queue.failures('x'), 0);
});

test('the earliest due time wins for a delayed requeue', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const queue = createWorkQueue({ clock, handle: (k) => h.handle(k) });
  queue.add('a', 5000);
  queue.add('a', 1000);
  queue.add('a', 3000);
  await clock.advance(999);
  assert.equal(h.starts.length, 0);
  await clock.advance(1);
  assert.equal(h.starts.length, 1);
  await h.finish('a', { kind: 'requeue', afterMs: 2000 });
  queue.add('a', 500); // a change before the requeue is due runs it sooner
  await clock.advance(500);
  assert.equal(h.starts.length, 2);
  await h.finish('a');
  await clock.advance(5000);
  assert.equal(h.starts.length, 2, 'the later requeue was folded into the earlier run');
});

test('due keys run in due order and shutdown waits for running handlers', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const queue = createWorkQueue({ clock, handle: (k) => h.handle(k) });
  queue.add('late', 30);
  queue.add('early', 10);
  queue.add('mid', 20);
  await clock.advance(30);
  assert.deepEqual(
    h.starts.map((s) => s.key),
    ['early'],
  );
  await h.finish('early');
  await h.finish('mid');
  assert.deepEqual(
    h.starts.map((s) => s.key),
    ['early', 'mid', 'late'],
  );
  let done = false;
  const stopping = queue.shutdown().then(() => (done = true));
  queue.add('after-shutdown');
  await settle();
  assert.equal(done, false, 'waits for the running handler');
  await h.finish('late');
  await stopping;
  assert.equal(done, true);
  assert.equal(h.starts.length, 3);
});

test('retries of many keys failing at once are spread by the overall limit; first runs and requeues are not', async () => {
  const clock = fakeClock();
  const starts: { key: string; at: number }[] = [];
  const failing = new Set(['a', 'b', 'c', 'd', 'e']);
  const queue = createWorkQueue({
    clock,
    concurrency: 10,
    backoff: { initialMs: 10, maxMs: 10, factor: 1 },
    retryRate: { qps: 10, burst: 2 },
    handle: async (key) => {
      starts.push({ key, at: clock.now() });
      if (failing.has(key)) {
        failing.delete(key);
        return { kind: 'retry' };
      }
      return { kind: 'done' };
    },
  });
  for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
  await clock.advance(0);
  assert.equal(starts.length, 5, 'first runs are not limited');
  await clock.advance(1_000);
  const retries = starts
    .slice(5)
    .map((s) => s.at)
    .sort((x, y) => x - y);
  // Burst 2: two retries after their own 10ms backoff, then one per 100ms.
  assert.deepEqual(retries, [10, 10, 100, 200, 300]);
  queue.add('z');
  await clock.advance(0);
  assert.equal(starts.at(-1)?.at, 1_000, 'a new key runs at once although retries used the bucket');
  await queue.shutdown();
});

test('onStart tells how long a due key waited for a worker', async () => {
  const clock = fakeClock();
  const h = controlledHandler(clock);
  const waited: [string, number][] = [];
  const queue = createWorkQueue({
    clock,
    concurrency: 1,
    handle: (key) => h.handle(key),
    onStart: (key, ms) => waited.push([key, ms]),
  });
  queue.add('a');
  queue.add('b', 10);
  await settle();
  // b falls due at 10 while a holds the only worker; a ends at 25.
  await clock.advance(25);
  await h.finish('a');
  assert.deepEqual(waited, [
    ['a', 0],
    ['b', 15],
  ]);
  await h.finish('b');
  await queue.shutdown();
});
