/**
 * The peers the benchmark compares Codedance with, Flagger and Argo Rollouts, built,
 * installed and run against a local cluster the way their own docs install them:
 *
 * - binaries from their pinned Go modules (./recipes/flagger.ts, ./recipes/argo-rollouts.ts)
 *   into the same versioned cache as the control plane, on first use only: neither
 *   `codedance cluster build` nor the plain `npm run bench` builds them;
 * - their CRDs and RBAC read from the same downloaded modules (Flagger's
 *   `artifacts/flagger/{crd,account}.yaml`; Argo's `manifests/crds/`, `manifests/role/`,
 *   its ServiceAccount and ClusterRoleBinding of `manifests/{base,cluster-install}/`);
 * - each runs as a local process under its own ServiceAccount (a TokenRequest token in a
 *   kubeconfig of its own), so RBAC limits it as it would in a cluster.
 *
 * One tool at a time: {@link startPeer} starts one, the benchmark stops it before the next.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensureBuilt, findGo, type BuildProgress } from './build.ts';
import { downloadGoModule, type DownloadedModule } from './go-download.ts';
import { kubectl } from './install.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { binaryDir, codedanceHome } from './paths.ts';
import { freePort } from './ports.ts';
import { pollUntil, probe } from './probe.ts';
import { argoRolloutsBuild, argoRolloutsModule } from './recipes/argo-rollouts.ts';
import { flaggerBuild, flaggerModule } from './recipes/flagger.ts';
import type { ComponentBuild } from './recipes/recipe.ts';
import type { ClusterState } from './state.ts';
import { argoRolloutsVersion, flaggerVersion } from './versions.ts';

/** A peer tool. */
export type PeerTool = 'flagger' | 'argo-rollouts';
export const peerTools: readonly PeerTool[] = ['flagger', 'argo-rollouts'];

/** What is pinned and built for each peer. */
export const peerVersions: Record<PeerTool, string> = {
  flagger: flaggerVersion,
  'argo-rollouts': argoRolloutsVersion,
};

function recipeOf(tool: PeerTool): ComponentBuild {
  return tool === 'flagger' ? flaggerBuild() : argoRolloutsBuild();
}

function moduleOf(tool: PeerTool): string {
  return tool === 'flagger' ? flaggerModule : argoRolloutsModule;
}

/** Where a peer's binary lives (or will) under `home`. */
export function peerBinaryPath(tool: PeerTool, home: string = codedanceHome()): string {
  const recipe = recipeOf(tool);
  return join(binaryDir(home, tool, recipe.version), recipe.binary);
}

/** True when the peer's binary is built for its pinned inputs (nothing to build). */
export async function peerBuilt(tool: PeerTool, home: string = codedanceHome()): Promise<boolean> {
  const recipe = recipeOf(tool);
  try {
    const info = JSON.parse(
      await readFile(join(binaryDir(home, tool, recipe.version), 'build-info.json'), 'utf8'),
    ) as { fingerprint?: string };
    return info.fingerprint === (await recipe.fingerprint());
  } catch {
    return false;
  }
}

/** Builds the peers that are not cached yet (one after another) and returns their binaries. */
export async function ensurePeerBinaries(
  tools: readonly PeerTool[],
  options: { home?: string; onProgress?: (progress: BuildProgress) => void } = {},
): Promise<Record<PeerTool, string>> {
  const home = options.home ?? codedanceHome();
  await ensureBuilt(
    tools.map((tool) => recipeOf(tool)),
    { home, ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
  );
  return {
    flagger: peerBinaryPath('flagger', home),
    'argo-rollouts': peerBinaryPath('argo-rollouts', home),
  };
}

/** Where a peer runs and under which identity. */
interface PeerIdentity {
  namespace: string;
  serviceAccount: string;
}

const identities: Record<PeerTool, PeerIdentity> = {
  // Flagger's account.yaml puts its ServiceAccount in `default`.
  flagger: { namespace: 'default', serviceAccount: 'flagger' },
  // Argo's cluster-install binds the ServiceAccount of its `argo-rollouts` namespace.
  'argo-rollouts': { namespace: 'argo-rollouts', serviceAccount: 'argo-rollouts' },
};

/** The manifests a peer's docs install, read from its module: CRDs first, then RBAC. */
async function peerManifests(tool: PeerTool, module: DownloadedModule): Promise<string[]> {
  if (tool === 'flagger') {
    return [
      join(module.dir, 'artifacts/flagger/crd.yaml'),
      join(module.dir, 'artifacts/flagger/account.yaml'),
    ];
  }
  const crdFolder = join(module.dir, 'manifests/crds');
  const crds = (await readdir(crdFolder))
    .filter((file) => file.endsWith('-crd.yaml'))
    .sort()
    .map((file) => join(crdFolder, file));
  return [
    ...crds,
    join(module.dir, 'manifests/role/argo-rollouts-clusterrole.yaml'),
    join(module.dir, 'manifests/base/argo-rollouts-sa.yaml'),
    join(module.dir, 'manifests/base/argo-rollouts-config.yaml'),
    join(module.dir, 'manifests/cluster-install/argo-rollouts-clusterrolebinding.yaml'),
  ];
}

/** The CRDs each peer's manifests define (waited for until Established). */
const peerCrds: Record<PeerTool, readonly string[]> = {
  flagger: ['canaries.flagger.app', 'metrictemplates.flagger.app', 'alertproviders.flagger.app'],
  'argo-rollouts': [
    'rollouts.argoproj.io',
    'analysistemplates.argoproj.io',
    'clusteranalysistemplates.argoproj.io',
    'analysisruns.argoproj.io',
    'experiments.argoproj.io',
  ],
};

/** A peer installed in a cluster: the kubeconfig it runs with. */
export interface InstalledPeer {
  tool: PeerTool;
  version: string;
  kubeconfigPath: string;
  namespace: string;
  /** Objects applied (CRDs, RBAC). */
  objects: number;
}

/**
 * Installs `tool`'s CRDs and RBAC into the cluster of `state` (from its pinned module,
 * with `kubectl apply -n <its namespace>` as its docs do) and writes a kubeconfig for its ServiceAccount under
 * `<stateDir>/peers/<tool>/`. Idempotent.
 */
export async function installPeer(state: ClusterState, tool: PeerTool): Promise<InstalledPeer> {
  const folder = join(state.stateDir, 'peers', tool);
  await mkdir(folder, { recursive: true });
  const go = await findGo();
  const module = await downloadGoModule(go, moduleOf(tool), peerVersions[tool], {
    cwd: folder,
    logPath: join(folder, 'download.log'),
  });
  const identity = identities[tool];
  // kubectl reads the files as they are, as their docs apply them (`kubectl apply -n
  // argo-rollouts`): Flagger's CRD file has multi-line quoted strings that only a
  // lenient YAML reader (Go's) accepts, so they are not parsed here.
  await kubectl(
    state,
    ['apply', '--server-side', '--field-manager=codedance-install', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: identity.namespace } }),
  );
  const applied = await kubectl(state, [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=codedance-install',
    '--namespace',
    identity.namespace,
    ...(await peerManifests(tool, module)).flatMap((file) => ['-f', file]),
  ]);
  // Polled rather than `kubectl wait`, which fails outright on a CRD whose status has no
  // conditions yet (Argo's large CRDs take a while on a loaded API server).
  let established = '';
  await pollUntil(
    `${tool}'s CRDs to be Established`,
    async () => {
      established = await kubectl(state, [
        'get',
        ...peerCrds[tool].map((crd) => `crd/${crd}`),
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
      ]).catch(() => '');
      const lines = established.split('\n').filter(Boolean);
      return lines.length === peerCrds[tool].length && lines.every((line) => line.endsWith('=True'));
    },
    { timeoutMs: 180_000, intervalMs: 500, describe: () => established.replace(/\n/g, ' ') },
  );
  const objects = applied.split('\n').filter((line) => line.trim()).length;
  // A bound token of its ServiceAccount, as a pod of its Deployment would mount.
  const token = (
    await kubectl(state, [
      'create',
      'token',
      identity.serviceAccount,
      '--namespace',
      identity.namespace,
      '--duration=48h',
    ])
  ).trim();
  const kubeconfigPath = join(folder, 'kubeconfig');
  await writeKubeconfig(kubeconfigPath, {
    server: state.apiServerUrl,
    caPem: await readFile(state.caPath, 'utf8'),
    user: `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`,
    token,
  });
  return { tool, version: peerVersions[tool], kubeconfigPath, namespace: identity.namespace, objects };
}

/** Options of {@link startPeer}. */
export interface StartPeerOptions {
  /** The cluster's Prometheus (Flagger's `-metrics-server`; Argo reads it from each AnalysisTemplate). */
  prometheusUrl: string;
  /** Log file of the process. */
  logPath: string;
  /** @default the cached build of the pinned version */
  binary?: string;
  /** @default 60000 */
  readyTimeoutMs?: number;
}

/** A running peer controller. */
export interface PeerProcess {
  tool: PeerTool;
  pid: number;
  /** Its Prometheus metrics endpoint. */
  metricsUrl: string;
  /** The flags it was started with (written beside the benchmark's figures). */
  args: readonly string[];
  /** SIGTERM, SIGKILL after 10 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * The command line of each peer: its documented flags for an out-of-cluster run with the
 * Istio provider, at their fastest documented settings where a flag sets a pace.
 */
function peerArgs(
  tool: PeerTool,
  installed: InstalledPeer,
  options: StartPeerOptions,
  ports: { http: number; health: number },
): string[] {
  if (tool === 'flagger')
    return [
      `-kubeconfig=${installed.kubeconfigPath}`,
      '-mesh-provider=istio',
      `-metrics-server=${options.prometheusUrl}`,
      `-port=${ports.http}`,
      '-log-level=info',
      '-enable-leader-election=false',
      // How often Flagger looks for new and changed Canaries (default 10s); each Canary's
      // own steps still run on its analysis interval (at least 10s, Flagger's floor).
      '-control-loop-interval=1s',
    ];
  return [
    `--kubeconfig=${installed.kubeconfigPath}`,
    '--leader-elect=false',
    `--metricsPort=${ports.http}`,
    `--healthzPort=${ports.health}`,
    '--loglevel=info',
    '--logformat=json',
    // The Istio CRDs installed here (istio.io/api) serve networking.istio.io/v1.
    '--istio-api-version=v1',
  ];
}

/** Starts `tool` against the cluster and resolves once it answers its health endpoint. */
export async function startPeer(
  tool: PeerTool,
  installed: InstalledPeer,
  options: StartPeerOptions,
): Promise<PeerProcess> {
  const binary = options.binary ?? peerBinaryPath(tool);
  const http = await freePort();
  const health = await freePort(undefined, new Set([http]));
  const args = peerArgs(tool, installed, options, { http, health });
  const log = openSync(options.logPath, 'a');
  const child = spawn(binary, args, {
    stdio: ['ignore', log, log],
    // Argo reads its own namespace (notification and config maps) from POD_NAMESPACE.
    env: { ...process.env, POD_NAMESPACE: installed.namespace },
  });
  closeSync(log);
  const exited = once(child, 'exit');
  child.on('error', () => {});
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const healthUrl =
    tool === 'flagger' ? `http://127.0.0.1:${http}/healthz` : `http://127.0.0.1:${health}/healthz`;
  try {
    await pollUntil(`${tool} to answer ${healthUrl}`, async () => (await probe(healthUrl)).ok, {
      timeoutMs: options.readyTimeoutMs ?? 60_000,
      intervalMs: 200,
      abortIf: () =>
        child.exitCode === null ? undefined : `it exited (${child.exitCode}); see ${options.logPath}`,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { tool, pid: child.pid, metricsUrl: `http://127.0.0.1:${http}/metrics`, args, stop };
}
