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
  const holder = async (): Promise<void> => {
    inside += 1;
    most = Math.max(most, inside);
    // Long enough that the second caller sees the first holder's pid while it is held.
    await sleep(300);
    inside -= 1;
  };
  const waits: number[] = [];
  await Promise.all([
    withLock(lock, holder),
    withLock(lock, holder, (pid) => waits.push(pid)),
    withLock(lock, holder),
  ]);
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
