/**
 * Argo Rollouts' controller (a peer of the benchmark). Its go.mod has `replace`
 * directives, which `go install module@version` refuses, so it is built inside its own
 * module: downloaded with `go mod download`, copied to a writable folder (the module
 * cache is read-only), then `go build ./cmd/rollouts-controller` there.
 */
import { chmod, cp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { downloadGoModule } from '../go-download.ts';
import { argoRolloutsVersion } from '../versions.ts';
import { goBuildFlags, hash, type ComponentBuild } from './recipe.ts';

export const argoRolloutsModule = 'github.com/argoproj/argo-rollouts';

export function argoRolloutsBuild(): ComponentBuild {
  // The version stamp of Argo's Makefile (its VERSION file: no leading v, which Argo adds);
  // without it `--version` says v99.99.99.
  const ldflags = `-s -w -X ${argoRolloutsModule}/utils/version.version=${argoRolloutsVersion.replace(/^v/, '')}`;
  return {
    component: 'argo-rollouts',
    version: argoRolloutsVersion,
    binary: 'rollouts-controller',
    links: [],
    versionArgs: ['--version'],
    fingerprint: async () => hash(argoRolloutsModule, argoRolloutsVersion, ldflags, ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(`downloading ${argoRolloutsModule}@${argoRolloutsVersion}`);
      const module = await downloadGoModule(ctx.go, argoRolloutsModule, argoRolloutsVersion, {
        cwd: ctx.workDir,
        logPath: ctx.logPath,
      });
      const source = join(ctx.workDir, 'src');
      await rm(source, { recursive: true, force: true });
      await cp(module.dir, source, { recursive: true });
      await makeWritable(source);
      ctx.step('compiling ./cmd/rollouts-controller inside the module');
      await runCommand(
        ctx.go.go,
        ['build', '-v', ...goBuildFlags, '-ldflags', ldflags, '-o', ctx.output, './cmd/rollouts-controller'],
        { cwd: source, env: ctx.go.env, logPath: ctx.logPath, onLine: ctx.onLine },
      );
    },
  };
}

/** The module cache's files are read-only; the copy must be removable by the next build. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    await chmod(path, entry.isDirectory() ? 0o755 : 0o644);
  }
}
