/** kwok: `go install sigs.k8s.io/kwok/cmd/kwok@<version>` as is. */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { kwokVersion } from '../versions.ts';
import { goBuildFlags, hash, type ComponentBuild } from './recipe.ts';

export function kwokBuild(): ComponentBuild {
  return {
    component: 'kwok',
    version: kwokVersion,
    binary: 'kwok',
    links: [],
    versionArgs: ['--version'],
    fingerprint: async () => hash(kwokVersion, ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(`compiling sigs.k8s.io/kwok/cmd/kwok@${kwokVersion}`);
      const gobin = join(ctx.workDir, 'gobin');
      await mkdir(gobin, { recursive: true });
      await runCommand(
        ctx.go.go,
        ['install', '-v', ...goBuildFlags, '-ldflags', '-s -w', `sigs.k8s.io/kwok/cmd/kwok@${kwokVersion}`],
        {
          cwd: ctx.workDir,
          env: { ...ctx.go.env, GOBIN: gobin },
          logPath: ctx.logPath,
          onLine: ctx.onLine,
        },
      );
      await rename(join(gobin, 'kwok'), ctx.output);
    },
  };
}
