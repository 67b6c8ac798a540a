/**
 * Helpers of the packaging tests: the packaging tools built on first use (with progress
 * on stderr, since a cold helm build takes minutes), a child process with its output
 * collected, and the image built once per test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { formatBuildProgress } from '../../../src/cluster/build.ts';
import { ensureTools, type Tool } from '../../../src/cluster/tools.ts';
import { buildImage, type BuiltImage } from '../../../src/image/build.ts';

/** The tools' paths, building them first if needed (progress and timing on stderr). */
export async function tools<T extends Tool>(names: T[]): Promise<Record<T, string>> {
  const started = Date.now();
  const paths = await ensureTools(names, {
    onProgress: (p) => process.stderr.write(`[package tests] ${formatBuildProgress(p)}\n`),
  });
  process.stderr.write(
    `[package tests] ${names.join(', ')} ready after ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  return paths;
}

/** Runs a command to completion; rejects with its output on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.trim() || stdout.trim()}`));
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running child whose output lines are collected. */
export interface Background {
  child: ChildProcess;
  lines: string[];
  /** Set when the child has exited or could not start. */
  ended: () => string | undefined;
  stop: () => Promise<void>;
}

/** `command` resolved on this process's PATH (a child may get another PATH, e.g. an image's). */
export function onPath(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  throw new Error(`${command} not found on PATH`);
}

/** Starts `command` in the background; `stop()` sends SIGTERM and waits (SIGKILL after 15s). */
export function background(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Background {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let ended: string | undefined;
  child.on('error', (err) => (ended = `could not start ${command}: ${err.message}`));
  child.on('exit', (code, signal) => (ended ??= `exited with ${code ?? signal}`));
  const collect = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    };
  };
  child.stdout?.on('data', collect());
  child.stderr?.on('data', collect());
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    ended: () => ended,
    stop: async () => {
      if (ended) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Builds the image into a fresh temporary folder (removed by `cleanup`), timing it on stderr. */
export async function buildTestImage(
  label: string,
): Promise<{ image: BuiltImage; cleanup: () => Promise<void> }> {
  const outDir = await mkdtemp(join(tmpdir(), 'codedance-image-test-'));
  const started = Date.now();
  const image = await buildImage({ outDir });
  process.stderr.write(
    `[package tests] image build ${label}: ${((Date.now() - started) / 1000).toFixed(1)}s, ${image.digest}, ${(image.compressedSize / 1024 / 1024).toFixed(1)} MiB compressed\n`,
  );
  return { image, cleanup: () => rm(outDir, { recursive: true, force: true }) };
}
