/**
 * Seed 003's scenario 4, runnable: `npx node examples/ab-test/run.ts`.
 *
 * Brings up the local control plane and Prometheus (reused when already up), installs the
 * CRDs and RBAC, starts the traffic simulator (which plays the data plane: 200 req/s,
 * each request an impression, stable converting 10% of them) and the controller, deploys
 * the recommendation service `reco` (model v1) behind an Istio VirtualService, and
 * applies ./release.yaml: 10% of the traffic on model v2 for a minute, then judged on its
 * conversion rate against stable's. Prints the decision with both sides' numbers, then
 * tears down what it started.
 *
 *   --canary-conversion N   conversions per impression of model v2 (@default 0.06: worse, rolled back;
 *                           0.1 converts as well as v1 and is promoted)
 *   --duration D            the experiment's duration (@default 1m, as in release.yaml)
 *   --state-dir DIR         the cluster's folder (@default the dev cluster's)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import type { CanaryDeployment } from '../../src/api/canary-deployment.ts';
import { startCluster, stopCluster } from '../../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds } from '../../src/cluster/crds.ts';
import { installCodedance } from '../../src/cluster/install.ts';
import { freePort } from '../../src/cluster/ports.ts';
import { closeProbes, pollUntil } from '../../src/cluster/probe.ts';
import { createKubeClient, type KubeObject } from '../../src/runtime/client.ts';
import { CanaryDeploymentKind } from '../../src/api/kinds.ts';
import * as kinds from '../../src/runtime/kinds.ts';
import { startSimulator } from '../../src/sim/simulator.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..');
const started = Date.now();
const say = (message: string) =>
  console.log(`[ab-test ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);
const cleanups: (() => Promise<unknown>)[] = [];

const { values } = parseArgs({
  options: {
    'canary-conversion': { type: 'string', default: '0.06' },
    duration: { type: 'string' },
    'state-dir': { type: 'string' },
  },
});
const canaryConversion = Number(values['canary-conversion']);
if (!(canaryConversion >= 0 && canaryConversion <= 1))
  throw new Error('--canary-conversion: a number from 0 to 1');

const release = parse(readFileSync(join(here, 'release.yaml'), 'utf8')) as CanaryDeployment;
const ns = release.metadata.namespace ?? 'ab-test';
if (values.duration && release.spec.strategy?.experiment)
  release.spec.strategy.experiment.duration = values.duration;

async function main(): Promise<void> {
  say('local control plane and Prometheus (the first run builds them from source: 10-25 minutes)');
  const { state, alreadyRunning } = await startCluster({
    ...(values['state-dir'] ? { stateDir: resolve(values['state-dir']) } : {}),
    onProgress: (line) => say(`cluster: ${line}`),
  });
  if (!alreadyRunning) cleanups.push(() => stopCluster(state.stateDir));
  await installCodedance(state, await ensureThirdPartyCrds());
  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  cleanups.push(() => client.close());

  await client.apply(kinds.Namespace, { metadata: { name: ns } });
  // The controller first: a release left by an earlier run is deleted through its finalizer.
  const port = await freePort(8090);
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
      ...(state.prometheusUrl ? ['--prometheus-url', state.prometheusUrl] : []),
    ],
    { cwd: repo, stdio: 'ignore' },
  );
  cleanups.push(async () => {
    if (controller.exitCode !== null) return;
    controller.kill('SIGTERM');
    await new Promise((done) => controller.once('exit', done));
  });
  await pollUntil(
    'the controller to be ready',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok === true,
    { timeoutMs: 60_000, intervalMs: 250 },
  );

  // The service as it runs today: model v1 behind an Istio VirtualService.
  await client.delete(CanaryDeploymentKind, ns, 'reco');
  await pollUntil(
    'the previous experiment to be deleted',
    async () => !(await client.get(CanaryDeploymentKind, ns, 'reco')),
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const labels = { app: 'reco' };
  await client.apply(kinds.Deployment, {
    metadata: { name: 'reco', namespace: ns },
    spec: {
      replicas: 4,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'reco', image: 'reco:model-v1' }] } },
    },
  } as KubeObject);
  await client.apply(kinds.Service, {
    metadata: { name: 'reco', namespace: ns },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  } as KubeObject);
  await client.apply(kinds.VirtualService, {
    metadata: { name: 'reco', namespace: ns },
    spec: { hosts: ['reco'], http: [{ name: 'primary', route: [{ destination: { host: 'reco' } }] }] },
  } as KubeObject);

  const sim = await startSimulator({
    kubeconfigPath: state.kubeconfigPath,
    namespaces: [ns],
    rps: 200,
    scrapeTarget: { stateDir: state.stateDir, name: 'ab-test-sim' },
  });
  cleanups.push(() => sim.stop());
  sim.setProfile({ namespace: ns, name: 'reco', business: { impressions: 1, conversions: 0.1 } });
  sim.setProfile({
    namespace: ns,
    name: 'reco',
    version: 'canary',
    business: { conversions: canaryConversion },
  });
  say(
    `simulator on ${sim.url}: 200 req/s, model v1 converts 10% of impressions, model v2 ${canaryConversion * 100}%`,
  );

  await client.apply(CanaryDeploymentKind, release);
  const applied = Date.now();
  say(`experiment applied: 10% on reco:model-v2 for ${release.spec.strategy?.experiment?.duration}`);
  let line = '';
  let done: CanaryDeployment | undefined;
  while (!done) {
    const cd = await client.get<CanaryDeployment>(CanaryDeploymentKind, ns, 'reco');
    const s = cd?.status;
    const now = `${s?.phase ?? 'Pending'} ${s?.currentWeight ?? 0}% — ${s?.message ?? ''}`;
    if (now !== line) say((line = now));
    if (s?.phase === 'Completed' || s?.phase === 'Failed') done = cd;
    else await new Promise((r) => setTimeout(r, 1000));
  }
  const last = done.status?.analysis?.last;
  console.log(
    `\n${done.status?.phase === 'Completed' ? 'PROMOTED' : 'ROLLED BACK'} after ${((Date.now() - applied) / 1000).toFixed(1)}s: ${done.status?.reason} — ${last?.message ?? ''}`,
  );
  console.log(['check', 'canary', 'stable', 'rule', 'verdict'].map((h) => h.padEnd(28)).join(''));
  for (const m of last?.metrics ?? []) {
    const cells = [
      m.name,
      fmt(m.value),
      fmt(m.stableValue),
      m.threshold ?? '',
      m.passed === undefined ? 'no data' : m.passed ? 'pass' : 'FAIL',
    ];
    console.log(cells.map((c) => c.padEnd(28)).join(''));
  }
  console.log(
    `\nkubectl: ${state.kubectlPath} --kubeconfig ${state.kubeconfigPath} -n ${ns} get cd reco -o yaml`,
  );
}

function fmt(value: number | undefined): string {
  return value === undefined ? '—' : String(Math.round(value * 10_000) / 10_000);
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await closeProbes();
}
