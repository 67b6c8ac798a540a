/**
 * `go mod download -json` of one pinned module: where the Go module cache extracted it
 * (read-only) and its checksum. The peers' recipes build from that folder and their CRDs
 * and RBAC are read from it.
 */
import { mkdir } from 'node:fs/promises';
import { CommandError, runCommand } from './exec.ts';
import type { GoToolchain } from './recipes/recipe.ts';
import { errorMessage } from '../runtime/errors.ts';

/** A module extracted in the Go module cache. */
export interface DownloadedModule {
  /** Its folder (read-only, as the module cache keeps it). */
  dir: string;
  sum: string;
}

/**
 * Downloads `module@version` (once: the module cache keeps it and checks its sum). Run
 * in `cwd`, a folder outside any Go module, so no go.mod is read or changed.
 */
export async function downloadGoModule(
  go: GoToolchain,
  module: string,
  version: string,
  options: { cwd: string; logPath: string },
): Promise<DownloadedModule> {
  const target = `${module}@${version}`;
  await mkdir(options.cwd, { recursive: true });
  let output: string;
  try {
    output = await runCommand(go.go, ['mod', 'download', '-json', target], {
      cwd: options.cwd,
      env: go.env,
      logPath: options.logPath,
    });
  } catch (err) {
    // On failure `go mod download -json` still prints the JSON, with an Error field.
    const detail = err instanceof CommandError ? err.tail.join('\n').trim() : errorMessage(err);
    throw new Error(
      `fetching ${target} failed (is the Go module proxy reachable? log: ${options.logPath}): ${detail}`,
      { cause: err },
    );
  }
  const info = JSON.parse(output) as { Dir?: string; Sum?: string; Error?: string };
  if (!info.Dir) throw new Error(`go mod download ${target} gave no folder: ${info.Error ?? output}`);
  return { dir: info.Dir, sum: info.Sum ?? '' };
}
