/**
 * The packaging tools, built from their pinned Go modules like the control plane
 * (same cache, `$CODEDANCE_HOME/bin/<name>-<version>/`, same per-build lock and progress):
 *
 * - `helm` (`helm.sh/helm/v4/cmd/helm`): lints, renders, installs the chart;
 * - `crane` (`github.com/google/go-containerregistry/cmd/crane`): pushes and pulls images;
 * - `registry` (same module, `cmd/registry`): an in-memory OCI registry for tests;
 * - `victoria-metrics` (`github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics`):
 *   single-node VictoriaMetrics, a Prometheus-compatible store the analysis is tested on.
 *
 * They are built on first use (by the image, chart and metric-store tests, or `npm run image`), not by
 * `codedance cluster build`: a developer who never packages never waits for them.
 */
import { join } from 'node:path';
import { ensureBuilt, type BuildProgress } from './build.ts';
import { goInstall, type ComponentBuild } from './recipes/recipe.ts';
import { binaryDir, codedanceHome } from './paths.ts';
import { goContainerRegistryVersion, helmVersion, victoriaMetricsVersion } from './versions.ts';

/** A packaging tool. */
export type Tool = 'helm' | 'crane' | 'registry' | 'victoria-metrics';

/** Options of {@link ensureTools}. */
export interface EnsureToolsOptions {
  /** @default `$CODEDANCE_HOME` or `~/.codedance` */
  home?: string;
  /** Build progress (a cold build of helm takes minutes). */
  onProgress?: (progress: BuildProgress) => void;
}

/** Makes sure each tool is built for its pinned version; returns the binaries' paths. */
export async function ensureTools<T extends Tool>(
  tools: T[],
  options: EnsureToolsOptions = {},
): Promise<Record<T, string>> {
  const home = options.home ?? codedanceHome();
  const recipes = tools.map((tool) => recipe(tool));
  await ensureBuilt(recipes, { home, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  const paths = {} as Record<T, string>;
  for (const [i, tool] of tools.entries())
    paths[tool] = join(binaryDir(home, tool, recipes[i]!.version), tool);
  return paths;
}

function recipe(tool: Tool): ComponentBuild {
  switch (tool) {
    case 'helm':
      // The version stamps helm's Makefile sets; without them `helm version` says v4-dev.
      return goInstall(
        tool,
        helmVersion,
        `helm.sh/helm/v4/cmd/helm@${helmVersion}`,
        [
          '-s -w',
          `-X helm.sh/helm/v4/internal/version.version=${helmVersion}`,
          '-X helm.sh/helm/v4/internal/version.metadata=',
          '-X helm.sh/helm/v4/internal/version.gitTreeState=clean',
        ].join(' '),
        ['version'],
      );
    case 'crane':
      return goInstall(
        tool,
        goContainerRegistryVersion,
        `github.com/google/go-containerregistry/cmd/crane@${goContainerRegistryVersion}`,
        '-s -w',
        ['version'],
      );
    case 'registry':
      return goInstall(
        tool,
        goContainerRegistryVersion,
        `github.com/google/go-containerregistry/cmd/registry@${goContainerRegistryVersion}`,
        '-s -w',
        ['-help'],
      );
    case 'victoria-metrics':
      // The version stamp of VictoriaMetrics' Makefile; without it `-version` says nothing useful.
      return goInstall(
        tool,
        victoriaMetricsVersion,
        `github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@${victoriaMetricsVersion}`,
        [
          '-s -w',
          `-X github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo.Version=victoria-metrics-${victoriaMetricsVersion}`,
        ].join(' '),
        ['-version'],
      );
  }
}
