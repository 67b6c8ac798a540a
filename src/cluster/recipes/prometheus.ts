/**
 * prometheus: `go install github.com/prometheus/prometheus/cmd/prometheus@<version>` with
 * the `remove_all_sd` tag (only file and HTTP service discovery, which is all the local
 * cluster uses, so the cloud providers' discovery SDKs are not compiled) and no web UI
 * assets (the HTTP API, which is all Codedance queries, works without them).
 */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../exec.ts';
import { prometheusRelease, prometheusVersion } from '../versions.ts';
import { goBuildFlags, hash, type ComponentBuild } from './recipe.ts';

function prometheusLdflags(): string {
  // What `prometheus --version` and the build_info metric report.
  return [
    '-s -w',
    `-X github.com/prometheus/common/version.Version=${prometheusRelease()}`,
    `-X github.com/prometheus/common/version.Revision=${prometheusVersion}`,
    '-X github.com/prometheus/common/version.Branch=HEAD',
    '-X github.com/prometheus/common/version.BuildUser=codedance',
  ].join(' ');
}

// Only the file and HTTP service discoveries: the local cluster registers targets in files.
const prometheusTags = 'remove_all_sd';

export function prometheusBuild(): ComponentBuild {
  return {
    component: 'prometheus',
    version: prometheusVersion,
    binary: 'prometheus',
    links: [],
    versionArgs: ['--version'],
    fingerprint: async () => hash(prometheusVersion, prometheusTags, prometheusLdflags(), ...goBuildFlags),
    build: async (ctx) => {
      ctx.step(
        `compiling github.com/prometheus/prometheus/cmd/prometheus@${prometheusVersion} (Prometheus ${prometheusRelease()})`,
      );
      const gobin = join(ctx.workDir, 'gobin');
      await mkdir(gobin, { recursive: true });
      await runCommand(
        ctx.go.go,
        [
          'install',
          '-v',
          ...goBuildFlags,
          '-tags',
          prometheusTags,
          '-ldflags',
          prometheusLdflags(),
          `github.com/prometheus/prometheus/cmd/prometheus@${prometheusVersion}`,
        ],
        { cwd: ctx.workDir, env: { ...ctx.go.env, GOBIN: gobin }, logPath: ctx.logPath, onLine: ctx.onLine },
      );
      await rename(join(gobin, 'prometheus'), ctx.output);
    },
  };
}
