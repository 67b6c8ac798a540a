/**
 * Starting and stopping the control-plane processes.
 *
 * Each component runs detached in its own process group with stdout and stderr appended
 * to a log file, so it outlives the command that started it (`cluster up` returns while
 * the cluster keeps running) and another process can stop it later by pid.
 *
 * Guarantee: {@link stopProcess} only signals a pid whose command line still starts with
 * the command we recorded, so a pid reused by an unrelated process is never killed.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** What is needed to start (and later restart) one component. */
export interface ProcessSpec {
  command: string;
  args: string[];
  logPath: string;
  /** Extra environment on top of the caller's. */
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts `spec` detached and returns its pid. */
export function startProcess(spec: ProcessSpec): number {
  const log = openSync(spec.logPath, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined)
      throw new Error(`could not start ${spec.command}: check that it exists and is executable`);
    // Surfaces ENOENT and friends as an exception in the caller's log instead of a crash.
    child.on('error', () => {});
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** The command line of a running pid, or undefined if there is no such (live) process. */
function commandLine(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie has exited; its parent just has not reaped it yet.
    if (/^\d+ \(.*\) Z /.test(stat)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and still runs `command` (the path we started it with). */
export function isRunning(pid: number, command: string): boolean {
  const argv = commandLine(pid);
  return argv !== undefined && argv[0] === command;
}

/**
 * Stops `pid` if it still runs `command`: SIGTERM, then SIGKILL after `graceMs`.
 * Resolves true when something was stopped.
 */
export async function stopProcess(pid: number, command: string, graceMs = 10_000): Promise<boolean> {
  if (!isRunning(pid, command)) return false;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid, command)) return true;
    await sleep(100);
  }
  signal('SIGKILL');
  while (isRunning(pid, command)) await sleep(50);
  return true;
}

/** Resident memory of a pid in bytes (from /proc), or undefined when it is gone. */
export function residentMemoryBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
