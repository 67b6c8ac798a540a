/**
 * `npm start`: the whole product on this machine, in one command.
 *
 * 1. the local control plane and Prometheus (`codedance cluster up`; built on first use);
 * 2. the CRDs (ours, Istio's, Gateway API's) and the controller's RBAC; the controller as
 *    the `codedance-controller` user (so RBAC is real), without a dashboard of its own;
 * 3. the traffic simulator (it plays the data plane kwok pods cannot be);
 * 4. a sample service `shop` (v1), then a release of v2 through the seed's Linear plan
 *    with short pauses, judged on live metrics (it completes), then a release of a bad
 *    v3 whose canary answers 25% errors (it is rolled back on its own);
 * 5. the dashboard as `codedance dashboard` serves it: on 127.0.0.1, acting as the person
 *    whose kubeconfig it holds (the cluster's admin here), never as the controller;
 * 6. a live ladder of steps in the terminal and, at the end, where to look.
 * Everything this command starts listens on 127.0.0.1 only.
 * Ctrl-C tears down what this command started (a cluster that was already up stays up).
 *
 * `npm start -- --kubeconfig FILE` runs only the controller, against that cluster.
 * `npm start -- --state-dir DIR` keeps the demo cluster there instead of the dev cluster's
 * folder (`$CODEDANCE_HOME/clusters/default`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../src/api/canary-deployment.ts';
import { renderStatus } from '../src/cli/release-render.ts';
import { startCluster, stopCluster, type ClusterState } from '../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds, formatCrdProgress } from '../src/cluster/crds.ts';
import { installCodedance } from '../src/cluster/install.ts';
import { ensurePrivateDir } from '../src/cluster/paths.ts';
import { freePort } from '../src/cluster/ports.ts';
import { closeProbes, pollUntil } from '../src/cluster/probe.ts';
import { registerScrapeTarget, unregisterScrapeTarget } from '../src/cluster/prometheus.ts';
import { ensureConsoleBuilt } from '../src/dashboard/build-console.ts';
import { startLocalDashboard, LOCAL_DASHBOARD_PORT } from '../src/dashboard/local.ts';
import { createKubeClient, type KubeClient } from '../src/runtime/client.ts';
import { createLogger } from '../src/runtime/logging.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { startSimulator, type Simulator } from '../src/sim/simulator.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const namespace = 'demo';
const app = 'shop';
const started = Date.now();
const cleanups: (() => Promise<unknown>)[] = [];
let stopping = false;

function say(message: string): void {
  console.log(`[codedance ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** The seed's Linear plan (10% → 50% → 100%) with pauses short enough to watch. */
function releaseSpec(version: string): CanaryDeploymentSpec {
  return {
    targetDeployment: app,
    canaryVersion: `${app}:${version}`,
    strategy: {
      type: 'Linear',
      steps: [
        { weight: 10, pause: '20s' },
        { weight: 50, pause: '20s' },
        { weight: 100, pause: '0s' },
      ],
    },
    analysis: { interval: '5s', window: '30s', successThreshold: 1, failureThreshold: 2 },
    metrics: { successRate: { threshold: 99.0 }, latency: { p99: '500ms' }, errorRate: { threshold: 1.0 } },
    autoRollback: { enabled: true, onMetricsFail: true, onPodCrash: true },
  };
}

async function deploySampleService(client: KubeClient): Promise<void> {
  await client.apply(kinds.Namespace, { metadata: { name: namespace } });
  const labels = { app };
  await client.apply(kinds.Deployment, {
    metadata: { name: app, namespace, labels },
    spec: {
      replicas: 4,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: app, image: `${app}:v1`, ports: [{ containerPort: 8080 }] }] },
      },
    },
  } as never);
  await client.apply(kinds.Service, {
    metadata: { name: app, namespace, labels },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  } as never);
  // A leftover release from an earlier run would start from its own state: start clean.
  await client.delete(CanaryDeploymentKind, namespace, app);
  await pollUntil(
    'the previous release to be deleted',
    async () => !(await client.get(CanaryDeploymentKind, namespace, app)),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** Follows one release in the terminal until it ends; resolves with its final phase. */
async function follow(client: KubeClient, version: string): Promise<string> {
  const interactive = process.stdout.isTTY;
  let previous = '';
  let drawnLines = 0;
  for (;;) {
    if (stopping) return 'interrupted';
    const release = await client.get(CanaryDeploymentKind, namespace, app);
    const phase = release?.status?.phase;
    // The status speaks of this version only once the controller has picked the new spec up.
    const settled =
      release?.status?.releaseVersion === `${app}:${version}` &&
      (phase === 'Completed' || phase === 'Failed');
    if (release) {
      const view = renderStatus(release, Date.now());
      if (interactive) {
        if (drawnLines > 0) process.stdout.write(`\x1b[${drawnLines}A\x1b[0J`);
        process.stdout.write(`${view}\n`);
        drawnLines = view.split('\n').length;
      } else {
        const line = `${phase ?? 'Pending'} step ${release.status?.stepLabel ?? '-'} weight ${release.status?.currentWeight ?? 0}%${release.status?.message ? ` — ${release.status.message}` : ''}`;
        if (line !== previous) say(line);
        previous = line;
      }
    }
    if (settled) return phase!;
    await sleep(1000);
  }
}

function startController(state: ClusterState, httpPort: number, logFile: string): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      join(repo, 'src', 'main.ts'),
      '--kubeconfig',
      state.controllerKubeconfigPath,
      '--leader-elect=false',
      '--http-port',
      String(httpPort),
      ...(state.prometheusUrl ? ['--prometheus-url', state.prometheusUrl] : []),
      // The local cluster lives on loopback: a webhook receiver tried with the demo does too.
      '--allow-internal-notification-urls',
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) say(`the controller exited (${signal ?? `code ${code}`}); its log: ${logFile}`);
  });
  return child;
}

async function teardown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('tearing down what this command started…');
  for (const cleanup of cleanups.reverse())
    await cleanup().catch((err: unknown) => say(`tear-down: ${(err as Error).message}`));
  await closeProbes();
  say('done');
}

async function demo(stateDir: string | undefined): Promise<void> {
  say(
    'starting the local control plane and Prometheus (the first run builds Kubernetes and Prometheus from source: 10-25 minutes)',
  );
  const { state, alreadyRunning } = await startCluster({
    stateDir,
    onProgress: (line) => say(`cluster: ${line}`),
  });
  if (!alreadyRunning) cleanups.push(() => stopCluster(state.stateDir));
  say(alreadyRunning ? 'the cluster was already running: it stays up afterwards' : 'cluster up');

  // The Istio and Gateway API CRDs too, so the providers can be tried on this cluster.
  await installCodedance(
    state,
    await ensureThirdPartyCrds({ onProgress: (progress) => say(formatCrdProgress(progress)) }),
  );
  say('CRDs (ours, Istio, Gateway API) and RBAC installed');

  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  cleanups.push(() => client.close());

  const sim: Simulator = await startSimulator({
    kubeconfigPath: state.kubeconfigPath,
    namespaces: [namespace],
    scrapeTarget: { stateDir: state.stateDir, name: 'codedance-sim' },
  });
  cleanups.push(() => sim.stop());
  say(`traffic simulator on ${sim.url} (50 req/s per service, split by the weights the controller writes)`);

  const httpPort = await freePort(8080);
  const logFile = join(state.stateDir, 'logs', 'controller.log');
  await ensurePrivateDir(join(state.stateDir, 'logs'));
  const controller = startController(state, httpPort, logFile);
  cleanups.push(async () => {
    if (controller.exitCode === null) {
      controller.kill('SIGTERM');
      await new Promise((done) => controller.once('exit', done));
    }
  });
  await registerScrapeTarget(state.stateDir, 'codedance-controller', `127.0.0.1:${httpPort}`);
  cleanups.push(() => unregisterScrapeTarget(state.stateDir, 'codedance-controller'));
  const controllerUrl = `http://127.0.0.1:${httpPort}/`;
  await pollUntil(
    'the controller to be ready',
    async () => (await fetch(`${controllerUrl}readyz`).catch(() => undefined))?.ok === true,
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      abortIf: () => (controller.exitCode === null ? undefined : `the controller exited; see ${logFile}`),
    },
  );
  say('controller ready');

  // The person's dashboard, as `codedance dashboard --kubeconfig <admin>` serves it.
  await ensureConsoleBuilt(say);
  const dashboardAbort = new AbortController();
  const local = await startLocalDashboard({
    kubeconfigPath: state.kubeconfigPath,
    prometheusUrl: state.prometheusUrl,
    port: await freePort(LOCAL_DASHBOARD_PORT),
    log: createLogger({ level: 'warn', destination: process.stderr }),
    signal: dashboardAbort.signal,
  });
  cleanups.push(async () => {
    dashboardAbort.abort();
    await local.close();
  });
  const dashboard = local.url;
  say(
    `dashboard at ${dashboard} (acting as ${local.username ?? 'the kubeconfig user'}; the same as: npx codedance dashboard --kubeconfig ${state.kubeconfigPath})`,
  );

  await deploySampleService(client);
  say(`sample service ${namespace}/${app} runs ${app}:v1 on 4 replicas`);

  say(
    `releasing ${app}:v2 (healthy) through 10% → 50% → 100%, judged every 5s on success rate, p99 latency and error rate`,
  );
  sim.resetProfiles(namespace, app);
  await client.apply(CanaryDeploymentKind, {
    metadata: { name: app, namespace },
    spec: releaseSpec('v2'),
  } as CanaryDeployment);
  const first = await follow(client, 'v2');
  say(`release of v2: ${first}`);
  if (stopping) return;

  say(`releasing ${app}:v3, whose canary answers 25% of requests with 5xx: watch it being rolled back`);
  sim.setProfile({ namespace, name: app, version: 'canary', errorRate: 0.25 });
  await client.apply(CanaryDeploymentKind, {
    metadata: { name: app, namespace },
    spec: releaseSpec('v3'),
  } as CanaryDeployment);
  const second = await follow(client, 'v3');
  say(`release of v3: ${second}`);

  console.log(`
Where to look (Ctrl-C tears everything down):
  dashboard     ${dashboard}
  kubectl       ${state.kubectlPath} --kubeconfig ${state.kubeconfigPath} get cd -A
  CLI           npx codedance status ${app} -n ${namespace} --kubeconfig ${state.kubeconfigPath}
  Prometheus    ${state.prometheusUrl ? `${state.prometheusUrl}/api/v1/query?query=up (HTTP API; built without the web UI)` : '(not running)'}
  controller    ${controllerUrl}metrics  ${controllerUrl}healthz  log: ${logFile}
  simulator     ${sim.url}/profiles (POST a profile to make a version go bad)
`);
  await new Promise<void>((done) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        done();
      }
    }, 250);
  });
}

async function main(): Promise<number> {
  const { values, tokens } = parseArgs({
    options: { kubeconfig: { type: 'string' }, 'state-dir': { type: 'string' } },
    strict: false,
    tokens: true,
  });
  if (typeof values.kubeconfig === 'string') {
    // Against an existing cluster: only the controller, with every other flag passed on.
    const { run } = await import('../src/main.ts');
    const rest = process.argv.slice(2);
    say(`running the controller against ${values.kubeconfig} (${tokens.length} argument(s))`);
    say(
      `its dashboard acts as you, from your kubeconfig, in another terminal: npx codedance dashboard --kubeconfig ${values.kubeconfig}`,
    );
    return run(rest);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(130);
      void teardown().then(() => process.exit(0));
    });
  }
  try {
    await demo(typeof values['state-dir'] === 'string' ? resolve(values['state-dir']) : undefined);
    return 0;
  } catch (err) {
    say(`failed: ${(err as Error).message}`);
    await teardown();
    return 1;
  }
}

process.exitCode = await main();
