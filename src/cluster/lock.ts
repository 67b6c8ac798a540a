/**
 * A cross-process lock on a directory name, so two commands (say `cluster up` in two
 * terminals) do not build the same binary or start the same cluster at once.
 *
 * `mkdir` is atomic; the holder's pid is written inside so a lock left by a process that
 * died is taken over instead of waited on forever.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a lock may lack its holder's pid before it counts as abandoned. */
const ABANDONED_WITHOUT_PID_MS = 2000;

/** True when a process with this pid exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` while holding the lock at `path`. Calls `onWait` once if a live process
 * (this one included) holds it, then polls until it is released. Not reentrant: `fn` must
 * not take the same lock again.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  onWait?: (holderPid: number) => void,
): Promise<T> {
  let waited = false;
  let pidlessSince: number | undefined;
  for (;;) {
    try {
      await mkdir(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(join(path, 'pid'), 'utf8').catch(() => ''), 10);
    if (Number.isFinite(holder) && isProcessAlive(holder)) {
      pidlessSince = undefined;
      if (!waited) onWait?.(holder);
      waited = true;
      await sleep(200);
      continue;
    }
    if (!Number.isFinite(holder)) {
      // The holder is between mkdir and writing its pid, or has just released the lock:
      // look again soon. Only a lock without a pid for a long while was abandoned (its
      // maker died in between); removing it earlier could remove a live holder's lock.
      pidlessSince ??= Date.now();
      if (Date.now() - pidlessSince < ABANDONED_WITHOUT_PID_MS) {
        await sleep(25);
        continue;
      }
    }
    await rm(path, { recursive: true, force: true });
    pidlessSince = undefined;
  }
  await writeFile(join(path, 'pid'), String(process.pid));
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
