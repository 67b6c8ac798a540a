/**
 * Builds the control-plane binaries from their pinned Go modules and caches them by
 * version under `$CODEDANCE_HOME/bin/<name>-<version>/`.
 *
 * The runner: the recipes (one file per binary under ./recipes/: hyperkube, etcd, kwok,
 * prometheus; the packaging tools' in ./tools.ts) say how to build each; this file
 * caches, locks, reports progress and runs them one after another, so a 2-core machine
 * stays usable.
 *
 * Guarantees: a cached binary is used only when its build finished (the binary is moved
 * into place last, with a `build-info.json` naming the inputs); changing a pinned version
 * or a wrapper's Go source rebuilds that component; two processes never build the same
 * component at once (the second waits and then reuses the result).
 * Caveat: a cold build of hyperkube takes many minutes and ~2-3 GB of memory.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CommandError, runCommand } from './exec.ts';
import { withLock } from './lock.ts';
import { binaryDir, buildDir, codedanceHome } from './paths.ts';
import { etcdBuild } from './recipes/etcd.ts';
import { hyperkubeBuild } from './recipes/hyperkube.ts';
import { kwokBuild } from './recipes/kwok.ts';
import { prometheusBuild } from './recipes/prometheus.ts';
import type { ComponentBuild, GoToolchain } from './recipes/recipe.ts';
import {
  etcdVersion,
  kubernetesVersion,
  kwokVersion,
  minimumGoVersion,
  prometheusVersion,
} from './versions.ts';
import { errorMessage } from '../runtime/errors.ts';

/** A recipe's parts, where they were first declared (import them from ./recipes/recipe.ts). */
export {
  goBuildFlags,
  hash,
  type BuildContext,
  type ComponentBuild,
  type GoToolchain,
} from './recipes/recipe.ts';

/** Absolute paths of every control-plane binary. */
export interface ControlPlaneBinaries {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  etcd: string;
  kwok: string;
  prometheus: string;
}

/** The things that are built: the control plane's four, the tools of `tools.ts` (packaging, other metric stores), and the peers of `peers.ts`. */
export type BuildComponent =
  | 'hyperkube'
  | 'etcd'
  | 'kwok'
  | 'prometheus'
  | 'helm'
  | 'crane'
  | 'registry'
  | 'victoria-metrics'
  | 'flagger'
  | 'argo-rollouts';

/** What {@link ensureBinaries} reports while it works. */
export type BuildProgress =
  | { type: 'cached'; component: BuildComponent; version: string; path: string }
  | { type: 'waiting'; component: BuildComponent; holderPid: number }
  | { type: 'start'; component: BuildComponent; version: string; logPath: string }
  | { type: 'step'; component: BuildComponent; step: string }
  | {
      type: 'heartbeat';
      component: BuildComponent;
      elapsedMs: number;
      packages: number;
      lastPackage: string | undefined;
      modulesDownloaded?: number;
    }
  | { type: 'done'; component: BuildComponent; version: string; elapsedMs: number; path: string };

export interface EnsureBinariesOptions {
  /** @default `$CODEDANCE_HOME` or `~/.codedance` */
  home?: string;
  /** Progress of each build; nothing is reported for a fully cached run except `cached`. */
  onProgress?: (progress: BuildProgress) => void;
  /** How often a running build reports a heartbeat. @default 15000 */
  heartbeatMs?: number;
  /** Build only these components (the returned paths still name all). @default all */
  components?: BuildComponent[];
}

/** What a finished build records next to its binary. */
interface BuildInfo {
  component: BuildComponent;
  version: string;
  fingerprint: string;
  goVersion: string;
  buildSeconds: number;
  builtAt: string;
}

/** Where the binaries live (or will live) under `home`, whether or not they are built yet. */
export function binaryPaths(home: string = codedanceHome()): ControlPlaneBinaries {
  const kube = binaryDir(home, 'hyperkube', kubernetesVersion);
  return {
    kubeApiserver: join(kube, 'kube-apiserver'),
    kubeControllerManager: join(kube, 'kube-controller-manager'),
    kubeScheduler: join(kube, 'kube-scheduler'),
    kubectl: join(kube, 'kubectl'),
    etcd: join(binaryDir(home, 'etcd', etcdVersion), 'etcd'),
    kwok: join(binaryDir(home, 'kwok', kwokVersion), 'kwok'),
    prometheus: join(binaryDir(home, 'prometheus', prometheusVersion), 'prometheus'),
  };
}

/**
 * Makes sure every control-plane binary is built for the pinned versions and returns
 * their paths. Cached binaries are reused; missing ones are built sequentially.
 */
export async function ensureBinaries(options: EnsureBinariesOptions = {}): Promise<ControlPlaneBinaries> {
  const home = options.home ?? codedanceHome();
  const builds = allBuilds().filter(
    (build) => !options.components || options.components.includes(build.component),
  );
  await ensureBuilt(builds, { ...options, home });
  return binaryPaths(home);
}

/**
 * Builds each of `builds` that is not cached for its current inputs, one after another,
 * each under its own cross-process lock. Shared by the control plane and the packaging
 * tools (`tools.ts`), so both cache, lock and report progress the same way.
 */
export async function ensureBuilt(
  builds: ComponentBuild[],
  options: Omit<EnsureBinariesOptions, 'components'> = {},
): Promise<void> {
  const home = options.home ?? codedanceHome();
  const report = options.onProgress ?? (() => {});
  let go: GoToolchain | undefined;
  for (const build of builds) {
    const fingerprint = await build.fingerprint();
    if (await isCached(home, build, fingerprint)) {
      report({
        type: 'cached',
        component: build.component,
        version: build.version,
        path: binaryDir(home, build.component, build.version),
      });
      continue;
    }
    go ??= await findGo();
    const toolchain = go;
    const lockPath = join(home, 'bin', `.${build.component}-${build.version}.lock`);
    await mkdir(join(home, 'bin'), { recursive: true });
    await withLock(
      lockPath,
      async () => {
        // Another process may have finished this build while we waited for the lock.
        if (await isCached(home, build, fingerprint)) {
          report({
            type: 'cached',
            component: build.component,
            version: build.version,
            path: binaryDir(home, build.component, build.version),
          });
          return;
        }
        await runBuild(home, build, fingerprint, toolchain, report, options.heartbeatMs ?? 15_000);
      },
      (holderPid) => report({ type: 'waiting', component: build.component, holderPid }),
    );
  }
}

/** True when every binary is present and built from the current inputs (no build needed). */
export async function binariesReady(home: string = codedanceHome()): Promise<boolean> {
  for (const build of allBuilds()) {
    if (!(await isCached(home, build, await build.fingerprint()))) return false;
  }
  return true;
}

/** One human-readable line for a progress event, as the CLI and the test harness print it. */
export function formatBuildProgress(progress: BuildProgress): string {
  const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;
  switch (progress.type) {
    case 'cached':
      return `${progress.component} ${progress.version}: cached in ${progress.path}`;
    case 'waiting':
      return `${progress.component}: another process (pid ${progress.holderPid}) is building it; waiting`;
    case 'start':
      return `${progress.component} ${progress.version}: building from source (log: ${progress.logPath})`;
    case 'step':
      return `${progress.component}: ${progress.step}`;
    case 'heartbeat':
      return `${progress.component}: still building, ${seconds(progress.elapsedMs)} elapsed, ${progress.modulesDownloaded ? `${progress.modulesDownloaded} modules downloaded, ` : ''}${progress.packages} packages compiled${progress.lastPackage ? ` (last: ${progress.lastPackage})` : ''}`;
    case 'done':
      return `${progress.component} ${progress.version}: built in ${seconds(progress.elapsedMs)} -> ${progress.path}`;
  }
}

/** The control plane's recipes, one file each under ./recipes/. */
function allBuilds(): ComponentBuild[] {
  return [hyperkubeBuild(), etcdBuild(), kwokBuild(), prometheusBuild()];
}

async function isCached(home: string, build: ComponentBuild, fingerprint: string): Promise<boolean> {
  const dir = binaryDir(home, build.component, build.version);
  if (!existsSync(join(dir, build.binary))) return false;
  try {
    const info = JSON.parse(await readFile(join(dir, 'build-info.json'), 'utf8')) as BuildInfo;
    return info.fingerprint === fingerprint && build.links.every((link) => existsSync(join(dir, link)));
  } catch {
    return false;
  }
}

async function runBuild(
  home: string,
  build: ComponentBuild,
  fingerprint: string,
  go: GoToolchain,
  report: (progress: BuildProgress) => void,
  heartbeatMs: number,
): Promise<void> {
  const started = Date.now();
  const workDir = buildDir(home, build.component, build.version);
  const binDir = binaryDir(home, build.component, build.version);
  await mkdir(workDir, { recursive: true });
  await mkdir(binDir, { recursive: true });
  const logPath = join(workDir, 'build.log');
  await writeFile(
    logPath,
    `build of ${build.component} ${build.version} with ${go.version} at ${new Date().toISOString()}\n`,
  );
  report({ type: 'start', component: build.component, version: build.version, logPath });

  // `go build -v` prints each package as it compiles it: count them for the heartbeat.
  // Before compiling, a cold module cache is filled: `go: downloading M V` per module.
  let packages = 0;
  let lastPackage: string | undefined;
  let modulesDownloaded = 0;
  const heartbeat = setInterval(() => {
    report({
      type: 'heartbeat',
      component: build.component,
      elapsedMs: Date.now() - started,
      packages,
      lastPackage,
      modulesDownloaded,
    });
  }, heartbeatMs);
  const output = join(binDir, `.${build.binary}.partial`);
  try {
    await build.build({
      go,
      workDir,
      output,
      logPath,
      step: (step) => report({ type: 'step', component: build.component, step }),
      onLine: (line) => {
        if (line.startsWith('go: downloading ')) modulesDownloaded += 1;
        else if (/^[\w.-]+(\/[\w.@~+-]+)*$/.test(line.trim())) {
          packages += 1;
          lastPackage = line.trim();
        }
      },
    });
  } catch (err) {
    if (err instanceof CommandError) {
      throw new Error(`building ${build.component} ${build.version} failed: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
  await chmod(output, 0o755);
  await runCommand(output, build.versionArgs, { cwd: workDir, env: process.env, logPath }).catch(
    (err: unknown) => {
      throw new Error(`the freshly built ${build.component} does not run: ${errorMessage(err)}`, {
        cause: err,
      });
    },
  );

  const target = join(binDir, build.binary);
  await rename(output, target);
  for (const link of build.links) {
    await rm(join(binDir, link), { force: true });
    await symlink(build.binary, join(binDir, link));
  }
  const elapsedMs = Date.now() - started;
  const info: BuildInfo = {
    component: build.component,
    version: build.version,
    fingerprint,
    goVersion: go.version,
    buildSeconds: Math.round(elapsedMs / 1000),
    builtAt: new Date().toISOString(),
  };
  // Written last: its presence with a matching fingerprint is what "cached" means.
  await writeFile(join(binDir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  report({ type: 'done', component: build.component, version: build.version, elapsedMs, path: target });
}

/** Finds `go` on PATH (or in /usr/local/go/bin) and checks it is new enough. */
export async function findGo(): Promise<GoToolchain> {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'go')),
    '/usr/local/go/bin/go',
  ];
  const go = candidates.find((candidate) => existsSync(candidate));
  if (!go) {
    throw new Error(
      `go not found: install Go ${minimumGoVersion} or later (https://go.dev/dl/) and put it on PATH; the control plane is built from source`,
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Static binaries, and no go.work from a surrounding folder changing what gets built.
    CGO_ENABLED: '0',
    GOWORK: 'off',
    PATH: [join(go, '..'), process.env.PATH ?? ''].join(delimiter),
  };
  let version: string;
  try {
    version = (
      await runCommand(go, ['env', 'GOVERSION'], { cwd: process.cwd(), env, logPath: '/dev/null' })
    ).trim();
  } catch (err) {
    throw new Error(`${go} does not run: ${errorMessage(err)}`, { cause: err });
  }
  const match = /^go(\d+)\.(\d+)/.exec(version);
  const [wantMajor, wantMinor] = minimumGoVersion.split('.').map(Number) as [number, number];
  if (
    !match ||
    Number(match[1]) < wantMajor ||
    (Number(match[1]) === wantMajor && Number(match[2]) < wantMinor)
  ) {
    throw new Error(
      `${go} is ${version}; the control plane needs Go ${minimumGoVersion} or later: install it from https://go.dev/dl/`,
    );
  }
  return { go, version, env };
}
