/**
 * `codedance cluster up | down | status | kubeconfig | build`: the local control plane.
 *
 * The dev cluster lives in `$CODEDANCE_HOME/clusters/default` (default home
 * `~/.codedance`); `--state-dir DIR` points any subcommand at another one.
 */
import { parseArgs } from 'node:util';
import { rm } from 'node:fs/promises';
import { ensureBinaries, formatBuildProgress } from '../cluster/build.ts';
import { ensureThirdPartyCrds, formatCrdProgress } from '../cluster/crds.ts';
import { clusterStatus, startCluster, stopCluster, type ClusterState } from '../cluster/controlplane.ts';
import { clusterStateDir, codedanceHome } from '../cluster/paths.ts';
import { closeProbes } from '../cluster/probe.ts';
import { readClusterState } from '../cluster/state.ts';
import { errorMessage } from '../runtime/errors.ts';

const usage = `usage: codedance cluster <command> [options]

commands:
  up           build what is missing, start etcd, kube-apiserver, kube-controller-manager,
               kube-scheduler, kwok (3 fake nodes) and Prometheus; nothing to do if already up
  down         stop what 'up' started (--purge also deletes the cluster's data)
  status       each component: running, healthy, memory
  kubeconfig   print the admin kubeconfig path (--controller: the codedance-controller one)
  build        only build (or find cached) the control-plane binaries and Prometheus,
               and fetch the Istio and Gateway API CRDs the tests and the demo install

options:
  --state-dir DIR   cluster state folder (default: $CODEDANCE_HOME/clusters/default)
  --nodes N         fake nodes for 'up' (default 3)
  --no-prometheus   'up' without Prometheus
  --purge           'down' also removes the state folder

CODEDANCE_HOME (default ~/.codedance) holds the cached binaries and the clusters.`;

/** Runs one `cluster` subcommand and returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'state-dir': { type: 'string' },
        nodes: { type: 'string' },
        'no-prometheus': { type: 'boolean' },
        purge: { type: 'boolean' },
        controller: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`codedance cluster: ${errorMessage(err)}\n\n${usage}`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || !command) {
    console.log(usage);
    return command || parsed.values.help ? 0 : 2;
  }
  const home = codedanceHome();
  const stateDir = parsed.values['state-dir'] ?? clusterStateDir(home);
  try {
    switch (command) {
      case 'up': {
        const nodes = parsed.values.nodes === undefined ? 3 : Number.parseInt(parsed.values.nodes, 10);
        if (!Number.isInteger(nodes) || nodes < 1) {
          console.error(
            `codedance cluster up: --nodes must be a positive number, not '${parsed.values.nodes}'`,
          );
          return 2;
        }
        return await up(home, stateDir, nodes, !parsed.values['no-prometheus']);
      }
      case 'down':
        return await down(stateDir, parsed.values.purge ?? false);
      case 'status':
        return await status(stateDir);
      case 'kubeconfig':
        return await kubeconfig(stateDir, parsed.values.controller ?? false);
      case 'build':
        await ensureBinaries({ home, onProgress: (event) => console.log(formatBuildProgress(event)) });
        await ensureThirdPartyCrds({ home, onProgress: (event) => console.log(formatCrdProgress(event)) });
        return 0;
      default:
        console.error(`codedance cluster: unknown command '${command}'\n\n${usage}`);
        return 2;
    }
  } catch (err) {
    console.error(`codedance cluster ${command}: ${errorMessage(err)}`);
    return 1;
  } finally {
    await closeProbes();
  }
}

async function up(home: string, stateDir: string, nodes: number, prometheus: boolean): Promise<number> {
  const started = Date.now();
  const { state, alreadyRunning, restarted } = await startCluster({
    home,
    stateDir,
    nodes,
    prometheus,
    onProgress: (line) => console.log(line),
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!alreadyRunning) console.log(`cluster is up in ${seconds}s (${stateDir})`);
  else if (restarted.length > 0)
    console.log(`cluster was running; restarted ${restarted.join(', ')} (${stateDir})`);
  else console.log(`cluster already running and healthy (${stateDir})`);
  console.log(summary(state));
  return 0;
}

function summary(state: ClusterState): string {
  return [
    `  kubeconfig:   ${state.kubeconfigPath}`,
    `  kubectl:      ${state.kubectlPath} --kubeconfig ${state.kubeconfigPath} get nodes`,
    `  controller:   ${state.controllerKubeconfigPath} (user codedance-controller, RBAC applies)`,
    `  api server:   ${state.apiServerUrl}`,
    ...(state.prometheusUrl
      ? [
          `  prometheus:   ${state.prometheusUrl} (scrape targets: ${state.stateDir}/prometheus/targets/*.json)`,
        ]
      : []),
    `  logs:         ${state.stateDir}/logs/`,
  ].join('\n');
}

async function down(stateDir: string, purge: boolean): Promise<number> {
  const stopped = await stopCluster(stateDir);
  console.log(stopped.length ? `stopped ${stopped.join(', ')}` : `nothing running in ${stateDir}`);
  if (purge) {
    await rm(stateDir, { recursive: true, force: true });
    console.log(`removed ${stateDir}`);
  }
  return 0;
}

async function status(stateDir: string): Promise<number> {
  const report = await clusterStatus(stateDir);
  if (!report) {
    console.log(`no cluster in ${stateDir}: start one with 'codedance cluster up'`);
    return 3;
  }
  let totalRss = 0;
  for (const component of report.components) {
    const mark = component.healthy ? 'healthy' : component.running ? 'UNHEALTHY' : 'DOWN';
    const rss = component.rssBytes ? `${Math.round(component.rssBytes / 2 ** 20)} MiB` : '-';
    totalRss += component.rssBytes ?? 0;
    console.log(
      `${component.name.padEnd(24)} ${mark.padEnd(10)} pid ${String(component.pid).padEnd(8)} rss ${rss.padEnd(9)} ${component.detail}`,
    );
  }
  console.log(
    `${'total'.padEnd(24)} ${report.healthy ? 'healthy' : 'NOT healthy'}  rss ${Math.round(totalRss / 2 ** 20)} MiB`,
  );
  if (report.healthy) console.log(summary(report.state));
  else console.log(`run 'codedance cluster up' to (re)start it; logs in ${stateDir}/logs/`);
  return report.healthy ? 0 : 1;
}

async function kubeconfig(stateDir: string, controller: boolean): Promise<number> {
  const state = await readClusterState(stateDir);
  if (!state) {
    console.error(`no cluster in ${stateDir}: start one with 'codedance cluster up'`);
    return 1;
  }
  console.log(controller ? state.controllerKubeconfigPath : state.kubeconfigPath);
  return 0;
}
