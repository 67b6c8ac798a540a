/**
 * What every benchmark runs on: a private control plane (with Prometheus) in a temporary
 * state folder, the project's CRDs and RBAC, the traffic simulator, and controller
 * processes started the way users start them (`node src/main.ts`, as user
 * `codedance-controller` with the shipped ClusterRole bound), one per benchmark so each
 * one's memory, CPU and API requests start from a fresh process.
 *
 * Nothing here is shared with the dev cluster or a test run: the state folder is new,
 * only the binary cache (`~/.codedance/bin`) is reused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, stopCluster, type ClusterState } from '../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds } from '../src/cluster/crds.ts';
import { installCodedance } from '../src/cluster/install.ts';
import { closeProbes, pollUntil } from '../src/cluster/probe.ts';
import { createKubeClient, type KubeClient } from '../src/runtime/client.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { CONTROLLER_NODE_OPTIONS } from '../src/api/manifests.ts';
import { startSimulator, type Simulator } from '../src/sim/simulator.ts';

export const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** The running cluster of one benchmark run. */
export interface BenchEnv {
  state: ClusterState;
  /** Admin client of the benchmark itself (its requests are not the controller's). */
  admin: KubeClient;
  /** Prometheus base URL (scrape interval {@link BenchEnv.scrapeIntervalMs}). */
  prometheusUrl: string;
  scrapeIntervalMs: number;
  /** Where controller logs go. */
  logDir: string;
  /** Stops everything this run started and removes the state folder (unless `keep`). */
  stop(options?: { keep?: boolean }): Promise<void>;
}

export interface StartEnvOptions {
  /** Fake nodes (kwok): pods are spread over them. */
  nodes: number;
  scrapeInterval: string;
  onProgress: (line: string) => void;
}

/** Starts a private cluster with Prometheus and installs the CRDs and the controller's RBAC. */
export async function startEnv(options: StartEnvOptions): Promise<BenchEnv> {
  const stateDir = await mkdtemp(join(tmpdir(), 'codedance-bench-'));
  const { state } = await startCluster({
    stateDir,
    nodes: options.nodes,
    scrapeInterval: options.scrapeInterval,
    prometheus: true,
    onProgress: (line) => options.onProgress(`cluster: ${line}`),
  });
  const stopAll = async (keep: boolean): Promise<void> => {
    await stopCluster(stateDir);
    await closeProbes();
    if (!keep) await rm(stateDir, { recursive: true, force: true });
  };
  try {
    // The Istio CRDs too (cached once in the CODEDANCE_HOME): one benchmark routes with Istio.
    await installCodedance(
      state,
      await ensureThirdPartyCrds({ onProgress: (p) => options.onProgress(`crds: ${p.type} ${p.source}`) }),
    );
    if (!state.prometheusUrl)
      throw new Error(
        'the cluster started without Prometheus (startCluster was asked for it: see its log in the state folder)',
      );
    const admin = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
    const prometheusUrl = state.prometheusUrl;
    return {
      state,
      admin,
      prometheusUrl,
      scrapeIntervalMs: parseSimpleDuration(options.scrapeInterval),
      logDir: join(stateDir, 'logs'),
      async stop(stopOptions = {}) {
        await admin.close();
        await stopAll(stopOptions.keep ?? false);
      },
    };
  } catch (err) {
    await stopAll(true).catch(() => undefined);
    throw err;
  }
}

/** `1s`, `500ms`, `2m` → milliseconds (only what the benchmark's own options use). */
export function parseSimpleDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
  return Number(match[1]) * unit;
}

/** Creates a namespace for one benchmark (deleted in the background by {@link dropNamespace}). */
export async function createNamespace(admin: KubeClient, name: string): Promise<string> {
  await admin.create(kinds.Namespace, { metadata: { name, labels: { 'codedance.io/bench': 'true' } } });
  return name;
}

/** Deletes a benchmark's namespace without waiting for it to empty. */
export async function dropNamespace(admin: KubeClient, name: string): Promise<void> {
  await admin.delete(kinds.Namespace, undefined, name, { propagationPolicy: 'Background' });
}

/** The traffic simulator for `namespaces`, scraped by the cluster's Prometheus. */
export function startBenchSimulator(env: BenchEnv, namespaces: string[]): Promise<Simulator> {
  return startSimulator({
    kubeconfigPath: env.state.kubeconfigPath,
    namespaces,
    // A fixed seed: the same weights and profiles give the same counts run after run.
    seed: 42,
    scrapeTarget: { stateDir: env.state.stateDir, name: 'codedance-sim' },
  });
}

/** A controller process (`src/main.ts`) run by a benchmark. */
export interface ControllerProcess {
  readonly pid: number;
  /** Base URL of its HTTP server (`/metrics`, `/readyz`). */
  readonly url: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** The inspector's WebSocket URL, when started with `--inspect=127.0.0.1:0` in `nodeArgs`. */
  inspectorUrl(): string | undefined;
  /** Milliseconds from spawn until its log said: HTTP listening, caches synced, controllers started (seen here, as the lines arrive). */
  readonly startup: { listeningMs: number; syncedMs: number; startedMs: number };
  /** SIGTERM, then SIGKILL after 15 s; resolves when it exited. */
  stop(): Promise<void>;
}

export interface StartControllerOptions {
  /** Passed as --namespace; unset: the whole cluster, as the shipped manifests run it. */
  namespace?: string;
  /** Passed as --controllers. @default 'canary' */
  controllers?: string;
  /** Node flags before the script (e.g. `--max-old-space-size=64`). */
  nodeArgs?: string[];
  /** Passed as --prometheus-url (omitted: the controller runs without one). */
  prometheusUrl?: string;
  /** Name of the log file under the env's log folder. */
  name: string;
}

/**
 * Starts `node src/cli/main.ts controller --controllers canary` (the image's entry) for one namespace (or the given
 * controllers over the whole cluster), under the controller identity, and resolves once its HTTP server listens and its controller has started
 * (caches synced). The Node is this process's own (the project's Node 26).
 */
export async function startControllerProcess(
  env: BenchEnv,
  options: StartControllerOptions,
): Promise<ControllerProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    // For a profile of any benchmark's controller, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
    ...(process.env['CODEDANCE_BENCH_CONTROLLER_NODE_ARGS']?.split(' ').filter(Boolean) ?? []),
    // The shipped entry (the image runs `codedance controller`): it turns Node's compile cache on.
    join(repo, 'src', 'cli', 'main.ts'),
    'controller',
    '--kubeconfig',
    env.state.controllerKubeconfigPath,
    ...(options.namespace ? ['--namespace', options.namespace] : []),
    '--controllers',
    options.controllers ?? 'canary',
    '--leader-elect=false',
    '--http-port',
    '0',
    '--log-level',
    process.env['CODEDANCE_BENCH_LOG_LEVEL'] ?? 'info',
    ...(options.prometheusUrl ? ['--prometheus-url', options.prometheusUrl] : []),
  ];
  const logFile = join(env.logDir, `${options.name}.log`);
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  // The V8 flags the shipped Deployment sets (NODE_OPTIONS), so memory is measured as deployed.
  const child = spawn(process.execPath, args, {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: CONTROLLER_NODE_OPTIONS },
  });
  let port: number | undefined;
  let started = false;
  const spawnedAt = performance.now();
  const startup = { listeningMs: NaN, syncedMs: NaN, startedMs: NaN };
  let buffered = '';
  const tail: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      // Only the start-up lines matter here; the rest stays in the log file.
      if (port === undefined && line.includes('"http listening"')) {
        port = (JSON.parse(line) as { port?: number }).port;
        startup.listeningMs = performance.now() - spawnedAt;
      }
      if (line.includes('"caches synced"') && Number.isNaN(startup.syncedMs))
        startup.syncedMs = performance.now() - spawnedAt;
      if (line.includes('"controller started"') && !started) {
        started = true;
        startup.startedMs = performance.now() - spawnedAt;
      }
    }
  });
  let inspectorUrl: string | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    log.write(chunk);
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(chunk.toString('utf8'))?.[1];
  });
  const exited = once(child, 'exit');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((done) => log.end(done));
  };
  try {
    await pollUntil(`controller ${options.name} to start`, async () => port !== undefined && started, {
      timeoutMs: 60_000,
      intervalMs: 50,
      abortIf: () =>
        child.exitCode === null
          ? undefined
          : `it exited (${child.exitCode}); last lines:\n${tail.join('\n')}`,
    });
  } catch (err) {
    await stop();
    throw err;
  }
  if (child.pid === undefined) throw new Error('the controller process has no pid');
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    logFile,
    child,
    startup,
    inspectorUrl: () => inspectorUrl,
    stop,
  };
}

/** Runs `fn` with a controller process, stopping it afterwards whatever happens. */
export async function withController<T>(
  env: BenchEnv,
  options: StartControllerOptions,
  fn: (controller: ControllerProcess) => Promise<T>,
): Promise<T> {
  const controller = await startControllerProcess(env, options);
  try {
    return await fn(controller);
  } finally {
    await controller.stop();
  }
}
