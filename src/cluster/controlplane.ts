/**
 * The local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
 * and kwok (fake nodes and pods) on loopback, plus Prometheus, all recorded in
 * `<stateDir>/cluster.json`.
 *
 * Guarantees:
 * - {@link startCluster} is idempotent: a healthy cluster in `stateDir` is returned as is;
 *   a half-dead one is stopped and started again on the same ports where possible;
 * - readiness is polled (every 100 ms), never slept for, so a warm start takes seconds;
 * - {@link stopCluster} signals only the pids recorded in the state file, and only while
 *   they still run the recorded command;
 * - etcd data, certificates and tokens stay in `stateDir`, so a restarted cluster keeps its
 *   objects and every kubeconfig stays valid.
 * Caveat: pods are simulated by kwok: they never run, and their IPs are fiction.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeAuditPolicy } from './audit.ts';
import { ensureBinaries, formatBuildProgress, type ControlPlaneBinaries } from './build.ts';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokComponent,
  schedulerArgs,
  stopGraceMs,
  writeKwokConfig,
} from './components.ts';
import { ensureCredentials } from './credentials.ts';
import { componentStatus, exitedMessage, waitHealthy, type ComponentStatus } from './health.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { withLock } from './lock.ts';
import { createNodes, waitNodesReady } from './nodes.ts';
import { clusterStateDir, codedanceHome, ensurePrivateDir } from './paths.ts';
import { freePort } from './ports.ts';
import { pollUntil } from './probe.ts';
import { startProcess, stopProcess, type ProcessSpec } from './process.ts';
import { startPrometheus } from './prometheus.ts';
import {
  componentNames,
  readClusterState,
  writeClusterState,
  type ClusterState,
  type ComponentName,
  type ComponentState,
} from './state.ts';
import { kubernetesVersion } from './versions.ts';
import { errorMessage } from '../runtime/errors.ts';

export type { ClusterState, ComponentName } from './state.ts';
export type { ComponentStatus } from './health.ts';
export { nodeNamePrefix } from './nodes.ts';

export interface StartClusterOptions {
  /** Where the binaries are cached. @default `$CODEDANCE_HOME` or `~/.codedance` */
  home?: string;
  /** Where this cluster keeps its state. @default `<home>/clusters/default` */
  stateDir?: string;
  /** Also run Prometheus. @default true */
  prometheus?: boolean;
  /** Prometheus scrape interval. @default '1s' */
  scrapeInterval?: string;
  /** Number of fake nodes. @default 3 */
  nodes?: number;
  /** Progress lines (builds, each component starting and becoming ready). */
  onProgress?: (message: string) => void;
}

/** The result of {@link startCluster}. */
export interface StartedCluster {
  state: ClusterState;
  /** True when the cluster was already running (possibly after {@link StartedCluster.restarted} components were restarted). */
  alreadyRunning: boolean;
  /** Components of an already running cluster that were restarted because they had died, hung or were out of date. */
  restarted: ComponentName[];
}

export interface ClusterStatus {
  state: ClusterState;
  components: ComponentStatus[];
  /** Every recorded component runs and answers its health checks. */
  healthy: boolean;
}

/** Starts (or finds running) the cluster in `stateDir`, building binaries first if needed. */
export async function startCluster(options: StartClusterOptions = {}): Promise<StartedCluster> {
  const home = options.home ?? codedanceHome();
  const stateDir = options.stateDir ?? clusterStateDir(home);
  const progress = timedProgress(options.onProgress);
  await ensurePrivateDir(stateDir);
  return withLock(
    join(stateDir, '.lock'),
    async () => {
      const prior = await readClusterState(stateDir);
      if (prior && Object.keys(prior.components).length > 0) {
        const repaired = prior.stoppedAt ? false : await repair(prior, progress);
        if (repaired) {
          if (await refreshKwok(prior)) {
            progress('kwok restarted with the current stages');
            if (!repaired.includes('kwok')) repaired.push('kwok');
          }
          return { state: prior, alreadyRunning: true, restarted: repaired };
        }
        const stopped = await stopRecorded(prior);
        if (stopped.length > 0) progress(`stopped the remains of the last run: ${stopped.join(', ')}`);
      }
      const binaries = await ensureBinaries({
        home,
        onProgress: (event) => progress(formatBuildProgress(event)),
      });
      const state = await startComponents({ home, stateDir, binaries, prior, options, progress });
      return { state, alreadyRunning: false, restarted: [] };
    },
    (pid) => progress(`waiting for another command (pid ${pid}) working on ${stateDir}`),
  );
}

/** Stops every process recorded in `stateDir` and returns the names of those it stopped. */
export async function stopCluster(stateDir: string): Promise<ComponentName[]> {
  return withLock(join(stateDir, '.lock'), async () => {
    const state = await readClusterState(stateDir);
    if (!state) return [];
    const stopped = await stopRecorded(state);
    await writeClusterState({ ...state, stoppedAt: new Date().toISOString() });
    return stopped;
  });
}

/**
 * Stops one component and starts it again with the same command line (same ports,
 * same data), then waits until it is healthy. For tests of resilience, e.g. a watch
 * surviving an API server restart.
 */
export async function restartComponent(
  stateDir: string,
  name: ComponentName,
  options: { timeoutMs?: number } = {},
): Promise<ClusterState> {
  return withLock(join(stateDir, '.lock'), async () => {
    const state = await readClusterState(stateDir);
    const component = state?.components[name];
    if (!state || !component) throw new Error(`no ${name} recorded in ${stateDir}: is the cluster up?`);
    if (name === 'kube-apiserver') await writeAuditPolicy(stateDir);
    await stopProcess(component.pid, component.spec.command, stopGraceMs[name]);
    const restarted: ComponentState = {
      ...component,
      pid: startProcess(component.spec),
      startedAt: new Date().toISOString(),
    };
    state.components[name] = restarted;
    await writeClusterState(state);
    await waitHealthy(state, name, options.timeoutMs ?? 60_000);
    return state;
  });
}

/** Reports each recorded component (pid alive, health endpoints); undefined when none was started. */
export async function clusterStatus(stateDir: string): Promise<ClusterStatus | undefined> {
  const state = await readClusterState(stateDir);
  if (!state) return undefined;
  const components = await Promise.all(
    componentNames
      .filter((name) => state.components[name])
      .map((name) => componentStatus(state, name, state.components[name]!)),
  );
  return { state, components, healthy: components.length > 0 && components.every((c) => c.healthy) };
}

// ---------------------------------------------------------------------------------------

interface StartContext {
  home: string;
  stateDir: string;
  binaries: ControlPlaneBinaries;
  prior: ClusterState | undefined;
  options: StartClusterOptions;
  progress: (message: string) => void;
}

function timedProgress(onProgress: ((message: string) => void) | undefined): (message: string) => void {
  const started = Date.now();
  return (message) => onProgress?.(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

async function startComponents(ctx: StartContext): Promise<ClusterState> {
  const { stateDir, binaries, prior, progress } = ctx;
  const logs = join(stateDir, 'logs');
  await ensurePrivateDir(logs);
  await writeAuditPolicy(stateDir);
  const credentials = await ensureCredentials(stateDir);
  const taken = new Set<number>();
  const port = (name: ComponentName, key = 'main'): Promise<number> => {
    const previous = prior?.components[name];
    return freePort(key === 'main' ? previous?.port : previous?.extraPorts?.[key], taken);
  };
  const ports = {
    etcd: await port('etcd'),
    etcdPeer: await port('etcd', 'peer'),
    apiserver: await port('kube-apiserver'),
    controllerManager: await port('kube-controller-manager'),
    scheduler: await port('kube-scheduler'),
    kwok: await port('kwok'),
    prometheus: await port('prometheus'),
  };
  const certDir = join(stateDir, 'apiserver-certs');
  await ensurePrivateDir(certDir);
  const state: ClusterState = {
    stateDir,
    home: ctx.home,
    kubernetesVersion,
    startedAt: new Date().toISOString(),
    apiServerUrl: `https://127.0.0.1:${ports.apiserver}`,
    etcdClientUrl: `http://127.0.0.1:${ports.etcd}`,
    kubeconfigPath: join(stateDir, 'admin.kubeconfig'),
    controllerKubeconfigPath: join(stateDir, 'controller.kubeconfig'),
    kubectlPath: binaries.kubectl,
    caPath: join(certDir, 'apiserver.crt'),
    adminToken: credentials.admin.token,
    components: {},
  };
  const launch = async (
    name: ComponentName,
    component: Omit<ComponentState, 'pid' | 'startedAt'>,
  ): Promise<void> => {
    state.components[name] = {
      ...component,
      pid: startProcess(component.spec),
      startedAt: new Date().toISOString(),
    };
    await writeClusterState(state);
    progress(`${name} started (pid ${state.components[name]!.pid}, port ${component.port})`);
  };
  const spec = (
    name: ComponentName,
    command: string,
    args: string[],
    env?: Record<string, string>,
  ): ProcessSpec => ({
    command,
    args,
    logPath: join(logs, `${name}.log`),
    ...(env ? { env } : {}),
  });

  try {
    // Prometheus is independent of the rest: start it first and collect it at the end.
    const prometheus =
      ctx.options.prometheus === false
        ? undefined
        : startPrometheus({
            stateDir,
            port: ports.prometheus,
            binary: ctx.binaries.prometheus,
            scrapeInterval: ctx.options.scrapeInterval ?? '1s',
          }).then((started) => {
            state.components.prometheus = started.component;
            state.prometheusUrl = started.url;
            progress(`prometheus ready on ${started.url}`);
            return started;
          });
    prometheus?.catch(() => {});

    await launch('etcd', {
      port: ports.etcd,
      extraPorts: { peer: ports.etcdPeer },
      spec: spec('etcd', binaries.etcd, etcdArgs(stateDir, ports.etcd, ports.etcdPeer)),
      health: { urls: [`${state.etcdClientUrl}/health`] },
    });
    await waitHealthy(state, 'etcd', 30_000);

    await launch('kube-apiserver', {
      port: ports.apiserver,
      spec: spec(
        'kube-apiserver',
        binaries.kubeApiserver,
        apiserverArgs(stateDir, ports.apiserver, state.etcdClientUrl, certDir, credentials),
      ),
      health: {
        urls: [`${state.apiServerUrl}/livez`, `${state.apiServerUrl}/readyz`],
        caPath: state.caPath,
        auth: true,
      },
    });
    // The API server writes its self-signed serving certificate before it serves: the
    // kubeconfigs (and the health probe) trust exactly that certificate.
    await pollUntil('the API server serving certificate', async () => existsSync(state.caPath), {
      timeoutMs: 60_000,
      abortIf: () => exitedMessage(state, 'kube-apiserver'),
    });
    const caPem = await readFile(state.caPath, 'utf8');
    await writeKubeconfig(state.kubeconfigPath, {
      server: state.apiServerUrl,
      caPem,
      user: credentials.admin.user,
      token: credentials.admin.token,
    });
    await writeKubeconfig(state.controllerKubeconfigPath, {
      server: state.apiServerUrl,
      caPem,
      user: credentials.controller.user,
      token: credentials.controller.token,
    });
    await waitHealthy(state, 'kube-apiserver', 90_000);
    progress('kube-apiserver ready');

    await writeKwokConfig(stateDir);
    const insecureHealth = (port: number): ComponentState['health'] => ({
      urls: [`https://127.0.0.1:${port}/healthz`],
      insecure: true,
    });
    await launch('kube-controller-manager', {
      port: ports.controllerManager,
      spec: spec(
        'kube-controller-manager',
        binaries.kubeControllerManager,
        controllerManagerArgs(state, ports.controllerManager, credentials),
      ),
      health: insecureHealth(ports.controllerManager),
    });
    await launch('kube-scheduler', {
      port: ports.scheduler,
      spec: spec('kube-scheduler', binaries.kubeScheduler, schedulerArgs(state, ports.scheduler)),
      health: insecureHealth(ports.scheduler),
    });
    await launch('kwok', kwokComponent(state, ports.kwok, binaries.kwok));

    await createNodes(state, ctx.options.nodes ?? 3);
    await Promise.all(
      (['kube-controller-manager', 'kube-scheduler', 'kwok'] as const).map(async (name) => {
        await waitHealthy(state, name, 60_000);
        progress(`${name} ready`);
      }),
    );
    await waitNodesReady(state, ctx.options.nodes ?? 3);
    progress(`${ctx.options.nodes ?? 3} nodes Ready`);
    if (prometheus) await prometheus;
    await writeClusterState(state);
    return state;
  } catch (err) {
    await stopRecorded(state).catch(() => []);
    await writeClusterState({ ...state, stoppedAt: new Date().toISOString() }).catch(() => {});
    throw err;
  }
}

/**
 * Makes a running cluster healthy again without touching what works: a component that
 * died or stays unhealthy is restarted from its recorded command line (same ports, same
 * data). A slow answer is not a death sentence: running components get some time first,
 * because on a busy machine a probe can time out. Returns the restarted components, or
 * false when that fails (the caller then starts the cluster afresh).
 */
async function repair(
  state: ClusterState,
  progress: (message: string) => void,
): Promise<ComponentName[] | false> {
  const recorded = componentNames.filter((name) => state.components[name]);
  const statuses = async (): Promise<ComponentStatus[]> =>
    Promise.all(recorded.map((name) => componentStatus(state, name, state.components[name]!)));
  let current = await statuses();
  if (current.every((c) => c.healthy)) return [];
  // Nothing at all left running: a plain fresh start is simpler than a repair.
  if (current.every((c) => !c.running)) return false;
  const deadline = Date.now() + 15_000;
  while (current.some((c) => c.running && !c.healthy) && Date.now() < deadline) {
    await sleep(500);
    current = await statuses();
  }
  const restarted: ComponentName[] = [];
  try {
    // In start order, so etcd is back before the API server, and the API server before its clients.
    for (const { name, running, healthy, detail } of current) {
      if (healthy) continue;
      const component = state.components[name]!;
      if (name === 'kube-apiserver') await writeAuditPolicy(state.stateDir);
      progress(`${name} ${running ? `unhealthy (${detail})` : 'not running'}: restarting it`);
      if (running) await stopProcess(component.pid, component.spec.command, stopGraceMs[name]);
      state.components[name] = {
        ...component,
        pid: startProcess(component.spec),
        startedAt: new Date().toISOString(),
      };
      await writeClusterState(state);
      await waitHealthy(state, name, 60_000);
      restarted.push(name);
    }
    return restarted;
  } catch (err) {
    progress(`repair failed (${errorMessage(err)}); starting afresh`);
    return false;
  }
}

/**
 * Brings a running cluster's kwok up to date with this code (its stages and flags), so a
 * long-lived dev cluster picks up stage fixes on the next `cluster up` without a restart
 * of everything. Returns true when kwok was restarted.
 */
async function refreshKwok(state: ClusterState): Promise<boolean> {
  const running = state.components.kwok;
  if (!running) return false;
  const wanted = kwokComponent(state, running.port, running.spec.command);
  const stagesChanged = await writeKwokConfig(state.stateDir);
  if (!stagesChanged && JSON.stringify(wanted.spec) === JSON.stringify(running.spec)) return false;
  await stopProcess(running.pid, running.spec.command, stopGraceMs.kwok);
  state.components.kwok = {
    ...running,
    ...wanted,
    pid: startProcess(wanted.spec),
    startedAt: new Date().toISOString(),
  };
  await writeClusterState(state);
  await waitHealthy(state, 'kwok', 30_000);
  return true;
}

/** Stops the recorded processes, the API's clients first and etcd last. */
async function stopRecorded(state: ClusterState): Promise<ComponentName[]> {
  const stopped: ComponentName[] = [];
  const stop = async (name: ComponentName): Promise<void> => {
    const component = state.components[name];
    if (component && (await stopProcess(component.pid, component.spec.command, stopGraceMs[name])))
      stopped.push(name);
  };
  await Promise.all((['kwok', 'kube-scheduler', 'kube-controller-manager', 'prometheus'] as const).map(stop));
  await stop('kube-apiserver');
  await stop('etcd');
  return stopped;
}
