/**
 * Seed 003's scenario 2, runnable: `npx node examples/payment-gateway/run.ts`.
 *
 * Brings up the local control plane and Prometheus (reused when already up), starts the
 * traffic simulator and the controller with `--audit-sink file:<this folder>/audit.jsonl`,
 * deploys `gateway` (v1) behind an Istio VirtualService and applies ./release.yaml. Once
 * the first step is judged healthy, `alice` promotes it to the second step (a command,
 * as `codedance promote` writes it); then the new version starts failing 8% of payments
 * and the controller rolls it back. Prints the audit trail the controller wrote, then
 * backtests the release's policy over the release's own window and prints the report.
 *
 *   --canary-errors N   share of failed payments of v2 once promoted (@default 0.08)
 *   --state-dir DIR     the cluster's folder (@default the dev cluster's)
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import type { CanaryDeployment } from '../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../../src/api/kinds.ts';
import { CommandAnnotation } from '../../src/api/names.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { renderBacktest } from '../../src/backtest/render.ts';
import { backtest } from '../../src/backtest/run.ts';
import { commandValue } from '../../src/canary/commands.ts';
import { startCluster, stopCluster } from '../../src/cluster/controlplane.ts';
import { ensureThirdPartyCrds } from '../../src/cluster/crds.ts';
import { installCodedance } from '../../src/cluster/install.ts';
import { freePort } from '../../src/cluster/ports.ts';
import { closeProbes, pollUntil } from '../../src/cluster/probe.ts';
import { createKubeClient, type KubeObject } from '../../src/runtime/client.ts';
import * as kinds from '../../src/runtime/kinds.ts';
import { startSimulator } from '../../src/sim/simulator.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = resolve(here, '..', '..');
const started = Date.now();
const say = (message: string) =>
  console.log(`[payments ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`);
const cleanups: (() => Promise<unknown>)[] = [];

const { values } = parseArgs({
  options: {
    'canary-errors': { type: 'string', default: '0.08' },
    'state-dir': { type: 'string' },
  },
});
const canaryErrors = Number(values['canary-errors']);
if (!(canaryErrors >= 0 && canaryErrors <= 1)) throw new Error('--canary-errors: a number from 0 to 1');

const release = parse(readFileSync(join(here, 'release.yaml'), 'utf8')) as CanaryDeployment;
const ns = release.metadata.namespace ?? 'payments';
const name = release.metadata.name ?? 'gateway';
const auditFile = join(here, 'audit.jsonl');

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main(): Promise<void> {
  say('local control plane and Prometheus (the first run builds them from source: 10-25 minutes)');
  const { state, alreadyRunning } = await startCluster({
    ...(values['state-dir'] ? { stateDir: resolve(values['state-dir']) } : {}),
    onProgress: (line) => say(`cluster: ${line}`),
  });
  if (!alreadyRunning) cleanups.push(() => stopCluster(state.stateDir));
  if (!state.prometheusUrl) throw new Error('the local cluster runs no Prometheus');
  const prometheusUrl = state.prometheusUrl;
  await installCodedance(state, await ensureThirdPartyCrds());
  const client = await createKubeClient({ kubeconfigPath: state.kubeconfigPath });
  cleanups.push(() => client.close());
  await client.apply(kinds.Namespace, { metadata: { name: ns } });

  rmSync(auditFile, { force: true });
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
      '--prometheus-url',
      prometheusUrl,
      '--audit-sink',
      `file:${auditFile}`,
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

  // An earlier run's release goes first (its finalizer needs the controller).
  await client.delete(CanaryDeploymentKind, ns, name);
  await waitFor('the previous release to be deleted', async () =>
    (await client.get(CanaryDeploymentKind, ns, name)) ? undefined : true,
  );
  const labels = { app: 'gateway' };
  await client.apply(kinds.Deployment, {
    metadata: { name: 'gateway', namespace: ns },
    spec: {
      replicas: 4,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'gateway', image: 'gateway:v1' }] } },
    },
  } as KubeObject);
  await client.apply(kinds.Service, {
    metadata: { name: 'gateway', namespace: ns },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  } as KubeObject);
  await client.apply(kinds.VirtualService, {
    metadata: { name: 'gateway', namespace: ns },
    spec: { hosts: ['gateway'], http: [{ name: 'primary', route: [{ destination: { host: 'gateway' } }] }] },
  } as KubeObject);

  const sim = await startSimulator({
    kubeconfigPath: state.kubeconfigPath,
    namespaces: [ns],
    rps: 200,
    scrapeTarget: { stateDir: state.stateDir, name: 'payments-sim' },
  });
  cleanups.push(() => sim.stop());
  say(`simulator on ${sim.url}: 200 payments/s, 0.1% failing`);

  await client.apply(CanaryDeploymentKind, release);
  say(`release applied: ${release.spec.canaryVersion}`);
  await waitFor('a healthy analysis on step 1', async () => {
    const cd = await client.get<CanaryDeployment>(CanaryDeploymentKind, ns, name);
    return cd?.status?.analysis?.last?.decision === 'Continue' ? true : undefined;
  });
  const promote = commandValue('promote', `${Date.now().toString(36)}-example`, 'alice');
  await client.patch(
    CanaryDeploymentKind,
    ns,
    name,
    { metadata: { annotations: { [CommandAnnotation]: promote } } },
    'merge',
  );
  say('alice promotes the release to step 2 (codedance promote)');
  await waitFor('step 2', async () => {
    const cd = await client.get<CanaryDeployment>(CanaryDeploymentKind, ns, name);
    return (cd?.status?.currentStepIndex ?? 0) >= 1 ? true : undefined;
  });
  sim.setProfile({ namespace: ns, name, version: 'canary', errorRate: canaryErrors });
  say(`v2 now fails ${canaryErrors * 100}% of payments`);
  const done = await waitFor('the release to end', async () => {
    const cd = await client.get<CanaryDeployment>(CanaryDeploymentKind, ns, name);
    return cd?.status?.phase === 'Completed' || cd?.status?.phase === 'Failed' ? cd : undefined;
  });
  say(`${done.status?.phase}: ${done.status?.message}`);

  // The trail is written at least once; a reader keeps the first record of each id.
  const seen = new Set<string>();
  const records = await waitFor('the audit records of the rollback', async () => {
    const lines = readFileSync(auditFile, 'utf8').split('\n').filter(Boolean);
    const all = lines.map((l) => JSON.parse(l) as AuditRecord);
    return all.some((r) => r.action === 'RolledBack') ? all : undefined;
  });
  console.log(`\naudit trail (${auditFile}):`);
  for (const r of records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    const numbers = r.analysis ? ` score ${Math.round(r.analysis.score ?? 0)}` : '';
    console.log(
      `  ${r.time}  ${r.type.padEnd(10)}  ${r.action.padEnd(12)}  by ${r.actor.padEnd(20)} step ${r.step ?? '-'} weight ${r.weight ?? '-'}${numbers}  ${r.message ?? r.command?.outcome ?? ''}`,
    );
  }

  const from = Date.parse(done.status?.startedAt ?? '') - 30_000;
  const to = Date.parse(done.status?.completedAt ?? '') + 30_000;
  const report = await backtest({
    spec: release.spec,
    namespace: ns,
    name,
    address: prometheusUrl,
    from,
    to,
  });
  console.log(`\n${renderBacktest(report)}`);
  console.log(
    `\nsame from the CLI: npx codedance backtest -f examples/payment-gateway/release.yaml --from ${new Date(from).toISOString()} --to ${new Date(to).toISOString()}`,
  );
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await closeProbes();
}
