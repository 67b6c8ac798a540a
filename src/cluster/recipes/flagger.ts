/** Flagger: `go install github.com/fluxcd/flagger/cmd/flagger@<version>` as is (a peer of the benchmark). */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { flaggerVersion } from '../versions.ts';
import { goBuildFlags, hash, type ComponentBuild } from './recipe.ts';

export const flaggerModule = 'github.com/fluxcd/flagger';

export function flaggerBuild(): ComponentBuild {
  const target = `${flaggerModule}/cmd/flagger@${flaggerVersion}`;
  // The version stamp of Flagger's own Makefile (pkg/version.REVISION).
  const ldflags = `-s -w -X ${flaggerModule}/pkg/version.REVISION=${flaggerVersion}`;
  return {
    component: 'flagger',
    version: flaggerVersion,
    binary: 'flagger',
    links: [],
    versionArgs: ['-version'],
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
      await rename(join(gobin, 'flagger'), ctx.output);
    },
  };
}
