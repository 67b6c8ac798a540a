import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withLock } from './lock.ts';

test('withLock runs one holder at a time', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'codedance-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lock = join(dir, '.lock');
  let inside = 0;
  let most = 0;
  const enter = (): void => {
    inside += 1;
    most = Math.max(most, inside);
  };
  // The first holder keeps the lock until the second caller has seen it held (its pid),
  // so the order does not depend on how fast the file system answers three callers.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const first = withLock(lock, async () => {
    enter();
    holding();
    await released;
    inside -= 1;
  });
  await held;
  const waits: number[] = [];
  const holder = async (): Promise<void> => {
    enter();
    await sleep(10);
    inside -= 1;
  };
  const second = withLock(lock, holder, (pid) => {
    waits.push(pid);
    release();
  });
  const third = withLock(lock, holder);
  await Promise.all([first, second, third]);
  assert.equal(most, 1);
  assert.deepEqual(waits, [process.pid]);
});

test('withLock takes over a lock left by a dead process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'codedance-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lock = join(dir, '.lock');
  await mkdir(lock);
  // A pid far above pid_max is never alive.
  await writeFile(join(lock, 'pid'), '999999999');
  assert.equal(await withLock(lock, async () => 'ran'), 'ran');
});
