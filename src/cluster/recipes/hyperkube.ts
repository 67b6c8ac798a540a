/**
 * hyperkube: one wrapper around kube-apiserver, kube-controller-manager, kube-scheduler
 * and kubectl (symlinks named after each point at it), so the shared Kubernetes code
 * compiles and links once. Its go.mod is made from k8s.io/kubernetes' own (../gomod.ts).
 */
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { parseGoMod, wrapperGoMod } from '../gomod.ts';
import { kubernetesMajorMinor, kubernetesVersion, stagingVersion } from '../versions.ts';
import { goBuildFlags, goSourceDir, hash, type ComponentBuild } from './recipe.ts';

/** The commands hyperkube answers to, each a symlink beside it. */
export const hyperkubeCommands = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;

function hyperkubeLdflags(): string {
  const { major, minor } = kubernetesMajorMinor();
  // Without the version stamps the server reports v0.0.0 and clients warn about skew.
  return [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=${kubernetesVersion}`,
    `-X k8s.io/component-base/version.gitMajor=${major}`,
    `-X k8s.io/component-base/version.gitMinor=${minor}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
  ].join(' ');
}

export function hyperkubeBuild(): ComponentBuild {
  const source = join(goSourceDir, 'hyperkube', 'main.go');
  return {
    component: 'hyperkube',
    version: kubernetesVersion,
    binary: 'hyperkube',
    links: hyperkubeCommands,
    versionArgs: ['kubectl', 'version', '--client'],
    fingerprint: async () =>
      hash(kubernetesVersion, await readFile(source, 'utf8'), hyperkubeLdflags(), ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(`resolving k8s.io/kubernetes@${kubernetesVersion} and its dependencies`);
      const download = await runCommand(
        ctx.go.go,
        ['mod', 'download', '-json', `k8s.io/kubernetes@${kubernetesVersion}`],
        {
          cwd: ctx.workDir,
          env: ctx.go.env,
          logPath: ctx.logPath,
        },
      );
      const info = JSON.parse(download) as { GoMod?: string; Error?: string };
      if (!info.GoMod)
        throw new Error(
          `go mod download k8s.io/kubernetes@${kubernetesVersion} gave no go.mod: ${info.Error ?? download}`,
        );
      const upstream = parseGoMod(await readFile(info.GoMod, 'utf8'));
      await writeFile(
        join(ctx.workDir, 'go.mod'),
        wrapperGoMod({
          module: 'codedance.local/hyperkube',
          upstream,
          kubernetesVersion,
          stagingVersion: stagingVersion(),
        }),
      );
      await copyFile(source, join(ctx.workDir, 'main.go'));
      await rm(join(ctx.workDir, 'go.sum'), { force: true });
      await runCommand(ctx.go.go, ['mod', 'tidy'], {
        cwd: ctx.workDir,
        env: ctx.go.env,
        logPath: ctx.logPath,
      });
      ctx.step('compiling (the first build takes a while: thousands of packages)');
      await runCommand(
        ctx.go.go,
        ['build', '-v', ...goBuildFlags, '-ldflags', hyperkubeLdflags(), '-o', ctx.output, '.'],
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
