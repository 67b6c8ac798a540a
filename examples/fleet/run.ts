/**
 * Seed 003's scenario 3, runnable: `npx node examples/fleet/run.ts`.
 *
 * Brings up the local control plane and Prometheus (reused when already up), installs the
 * CRDs and RBAC, starts the controller and the traffic simulator, deploys `--services`
 * Deployments labelled `fleet=shop` in namespace `fleet`, makes the canaries of
 * `--fail` serve 50% errors, then runs the CI command
 *
 *   codedance release -n fleet --selector fleet=shop --image lib:v2 \
 *     --max-concurrent 5 --failure-limit 5 --settings examples/fleet/settings-fast.yaml
 *
 * and prints its live summary, its exit code and the group's cost. Tears down what it started.
 *
 *   --services N       how many services (@default 20)
 *   --fail a,b         services whose canary fails its analysis (@default svc-03,svc-11)
 *   --state-dir DIR    the cluster's folder (@default the dev cluster's)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../../src/api/kinds.ts';
import { startCluster, stopCluster } from '../../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds } from '../../src/cluster/crds.ts';
import { installCodedance } from '../../src/cluster/install.ts';
import { freePort } from '../../src/cluster/ports.ts';
import { closeProbes, pollUntil } from '../../src/cluster/probe.ts';
import { createKubeClient } from '../../src/runtime/client.ts';
import * as kinds from '../../src/runtime/kinds.ts';
import { startSimulator } from '../../src/sim/simulator.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..');
const started = Date.now();
const say = (message: string) =>
  console.log(`[fleet ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);
const cleanups: (() => Promise<unknown>)[] = [];
const ns = 'fleet';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '20' },
    fail: { type: 'string', default: 'svc-03,svc-11' },
    'state-dir': { type: 'string' },
  },
});
const count = Number(values.services);
if (!Number.isInteger(count) || count < 1 || count > 200)
  throw new Error('--services: a number from 1 to 200');
const failing = (values.fail ?? '').split(',').filter(Boolean);
const service = (i: number) => `svc-${String(i).padStart(2, '0')}`;

async function main(): Promise<number> {
  say('local control plane and Prometheus (the first run builds them from source: 10-25 minutes)');
  const { state, alreadyRunning } = await startCluster({
    ...(values['state-dir'] ? { stateDir: resolve(values['state-dir']) } : {}),
    onProgress: (line) => say(`cluster: ${line}`),
  });
  if (!alreadyRunning) cleanups.push(() => stopCluster(state.stateDir));
  await installCodedance(state, await ensureThirdPartyCrds());
  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath, qps: 0 });
  cleanups.push(() => client.close());
  await client.apply(kinds.Namespace, { metadata: { name: ns } });

  // The controller first: members left by an earlier run go through their finalizers.
  const port = await freePort(8091);
  const controller = spawn(
    process.execPath,
    [
      join(repo, 'src', 'main.ts'),
      '--kubeconfig',
      state.controllerKubeconfigPath,
      '--leader-elect=false',
      '--http-port',
      String(port),
      '--namespace',
      ns,
      '--controllers',
      'canary,fleet',
      ...(state.prometheusUrl ? ['--prometheus-url', state.prometheusUrl] : []),
    ],
    { cwd: repo, stdio: 'ignore' },
  );
  cleanups.push(async () => {
    if (controller.exitCode !== null) return;
    controller.kill('SIGTERM');
    await once(controller, 'exit');
  });
  await pollUntil(
    'the controller to be ready',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  await client.delete(ReleaseGroupKind, ns, 'shop');
  await pollUntil(
    'the previous run to be gone',
    async () => (await client.list(CanaryDeploymentKind, { namespace: ns })).items.length === 0,
    { timeoutMs: 120_000, intervalMs: 500 },
  );

  say(`deploying ${count} services (fleet=shop), each requesting 100m CPU and 128Mi`);
  for (let i = 0; i < count; i++) {
    const name = service(i);
    const labels = { app: name };
    await client.apply(kinds.Deployment, {
      metadata: { name, namespace: ns, labels: { fleet: 'shop' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              { name: 'app', image: `${name}:v1`, resources: { requests: { cpu: '100m', memory: '128Mi' } } },
            ],
          },
        },
      },
    });
    await client.apply(kinds.Service, {
      metadata: { name, namespace: ns },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
  }

  const sim = await startSimulator({
    kubeconfigPath: state.kubeconfigPath,
    namespaces: [ns],
    rps: 20,
    tickMs: 500,
    scrapeTarget: { stateDir: state.stateDir, name: 'fleet-sim' },
  });
  cleanups.push(() => sim.stop());
  for (const name of failing) sim.setProfile({ namespace: ns, name, version: 'canary', errorRate: 0.5 });
  say(`simulator on ${sim.url}; the canaries of ${failing.join(', ') || 'none'} answer 50% errors`);

  const args = [
    join(repo, 'src', 'cli', 'main.ts'),
    'release',
    '--kubeconfig',
    state.kubeconfigPath,
    '-n',
    ns,
    '--name',
    'shop',
    '--selector',
    'fleet=shop',
    '--image',
    'lib:v2',
    '--max-concurrent',
    '5',
    '--failure-limit',
    '5',
    '--settings',
    join(here, 'settings-fast.yaml'),
  ];
  say(`$ codedance ${args.slice(1).join(' ')}`);
  const cli = spawn(process.execPath, args, { cwd: repo, stdio: 'inherit' });
  const [code] = (await once(cli, 'exit')) as [number | null];
  say(`codedance release exited with ${code} (0 only if every member completed)`);
  console.log(`\nkubectl: ${state.kubectlPath} --kubeconfig ${state.kubeconfigPath} -n ${ns} get rg,cd`);
  return code ?? 1;
}

try {
  process.exitCode = await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await closeProbes();
}
