/** etcd: a wrapper around `etcdmain.Main` of `go.etcd.io/etcd/server/v3`. */
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { etcdVersion, minimumGoVersion } from '../versions.ts';
import { goBuildFlags, goSourceDir, hash, type ComponentBuild } from './recipe.ts';

export function etcdBuild(): ComponentBuild {
  const source = join(goSourceDir, 'etcd', 'main.go');
  return {
    component: 'etcd',
    version: etcdVersion,
    binary: 'etcd',
    links: [],
    versionArgs: ['--version'],
    fingerprint: async () => hash(etcdVersion, await readFile(source, 'utf8'), ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(`resolving go.etcd.io/etcd/server/v3@${etcdVersion}`);
      await writeFile(
        join(ctx.workDir, 'go.mod'),
        `module codedance.local/etcd\n\ngo ${minimumGoVersion}.0\n\nrequire go.etcd.io/etcd/server/v3 ${etcdVersion}\n`,
      );
      await copyFile(source, join(ctx.workDir, 'main.go'));
      await rm(join(ctx.workDir, 'go.sum'), { force: true });
      await runCommand(ctx.go.go, ['mod', 'tidy'], {
        cwd: ctx.workDir,
        env: ctx.go.env,
        logPath: ctx.logPath,
      });
      ctx.step('compiling');
      await runCommand(
        ctx.go.go,
        ['build', '-v', ...goBuildFlags, '-ldflags', '-s -w', '-o', ctx.output, '.'],
        {
          cwd: ctx.workDir,
          env: ctx.go.env,
          logPath: ctx.logPath,
          onLine: ctx.onLine,
        },
      );
    },
  };
}
