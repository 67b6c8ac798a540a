/**
 * What a build recipe is: how to build one component from its pinned Go module. One
 * file per component in this folder; the runner that caches, locks and reports progress
 * is ../build.ts (`ensureBuilt`), which also runs the packaging tools' recipes (../tools.ts).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildComponent } from '../build.ts';
import { runCommand } from '../exec.ts';

/** The wrappers' Go sources (`src/cluster/go/<component>/main.go`). */
export const goSourceDir = fileURLToPath(new URL('../go/', import.meta.url));

/** The `go` command found by `findGo` (../build.ts), its version and the environment to run it with. */
export interface GoToolchain {
  go: string;
  version: string;
  env: NodeJS.ProcessEnv;
}

/** What a recipe's `build` gets. */
export interface BuildContext {
  go: GoToolchain;
  workDir: string;
  /** Where the finished binary must be written (a temporary name inside the bin dir). */
  output: string;
  logPath: string;
  step: (step: string) => void;
  onLine: (line: string) => void;
}

/** A recipe: how to build one component from its pinned Go module. */
export interface ComponentBuild {
  component: BuildComponent;
  version: string;
  /** The binary's file name inside its bin dir. */
  binary: string;
  /** Names to symlink to the binary inside the same dir. */
  links: readonly string[];
  /** Hash of every input besides the Go toolchain: versions, wrapper source, flags. */
  fingerprint: () => Promise<string>;
  build: (ctx: BuildContext) => Promise<void>;
  /** Arguments that make the binary print its version, to check the result runs. */
  versionArgs: string[];
}

/** A short hash of the parts (a recipe's fingerprint). */
export function hash(...parts: string[]): string {
  const digest = createHash('sha256');
  for (const part of parts) digest.update(part).update('\0');
  return digest.digest('hex').slice(0, 16);
}

// -trimpath keeps the compile cache independent of where the wrapper module sits, so a
// rebuild in another home (CI, a second checkout) still hits the shared Go build cache.
export const goBuildFlags = ['-trimpath'];

/**
 * `go install <pkg>@<version>` into a scratch GOBIN, then moved into place: the recipe of a
 * component whose binary is named as the component and builds from its module as is.
 */
export function goInstall(
  component: BuildComponent,
  version: string,
  target: string,
  ldflags: string,
  versionArgs: string[],
): ComponentBuild {
  return {
    component,
    version,
    binary: component,
    links: [],
    versionArgs,
    fingerprint: async () => hash(target, ldflags, ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(`compiling ${target}`);
      const gobin = join(ctx.workDir, 'gobin');
      await mkdir(gobin, { recursive: true });
      await runCommand(ctx.go.go, ['install', '-v', ...goBuildFlags, '-ldflags', ldflags, target], {
        cwd: ctx.workDir,
        env: { ...ctx.go.env, GOBIN: gobin },
        logPath: ctx.logPath,
        onLine: ctx.onLine,
      });
      await rename(join(gobin, component), ctx.output);
    },
  };
}
