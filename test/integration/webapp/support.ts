/**
 * Helpers of the WebApp integration tests: the API installed on the shared cluster, and
 * a controller process per test namespace, run as a user would run it
 * (`node src/main.ts --namespace <ns> ...`) under the controller identity and the shipped
 * ClusterRole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { waitFor, testCluster, type NamespaceOwner } from '../../support/cluster.ts';

const repo = join(import.meta.dirname, '..', '..', '..');
const fieldManager = 'codedance-webapp-tests';

interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Applies the project's CRDs and its controller ClusterRole, bound to the controller
 * identity of the test cluster (user `codedance-controller`). Idempotent.
 */
export async function installApi(admin: KubeClient): Promise<void> {
  const crdDir = join(repo, 'deploy', 'crds');
  const names: string[] = [];
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), 'utf8'))) {
      const crd = doc.toJS() as Crd | null;
      if (!crd?.metadata?.name) continue;
      await admin.apply(kinds.CustomResourceDefinition, crd, { fieldManager });
      names.push(crd.metadata.name);
    }
  }
  for (const name of names) {
    await waitFor(
      async () => (await admin.get<Crd>(kinds.CustomResourceDefinition, undefined, name))?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
      { describe: `CRD ${name} established` },
    );
  }
  for (const doc of parseAllDocuments(readFileSync(join(repo, 'deploy', 'rbac.yaml'), 'utf8'))) {
    const obj = doc.toJS() as KubeObject | null;
    if (obj?.kind === 'ClusterRole') await admin.apply(kinds.ClusterRole, obj, { fieldManager });
  }
  await admin.apply(
    kinds.ClusterRoleBinding,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'codedance-controller-webapp-tests' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'codedance-controller' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'codedance-controller' }],
    } as KubeObject,
    { fieldManager },
  );
}

/** A running controller process. */
export interface ControllerProcess {
  child: ChildProcess;
  /** Every log line so far (JSON text). */
  lines: string[];
}

/**
 * Starts `src/main.ts` for one namespace (or several) with the given controllers, waits
 * until its controllers started, and stops it (SIGTERM, drained) when the test ends.
 * `args` go last (e.g. `--leader-elect=true` overrides the default `false`).
 */
export async function startController(
  t: NamespaceOwner,
  options: { namespace: string | string[]; controllers: string[]; env?: Record<string, string>; /** Extra flags. */ args?: string[] },
): Promise<ControllerProcess> {
  const cluster = await testCluster();
  const kubeconfig = cluster.controllerKubeconfigPath || cluster.kubeconfigPath;
  const args = [
    join(repo, 'src', 'main.ts'),
    '--kubeconfig', kubeconfig,
    ...[options.namespace].flat().flatMap((ns) => ['--namespace', ns]),
    '--leader-elect=false',
    '--http-port', '0',
    '--controllers', options.controllers.join(','),
    '--log-level', 'debug',
  ];
  if (cluster.prometheusUrl) args.push('--prometheus-url', cluster.prometheusUrl);
  args.push(...(options.args ?? []));
  // process.execPath: the Node this test runs on (the project's, not the machine's).
  const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer): void => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
  const started = options.controllers.length;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`controller exited with ${child.exitCode}: ${lines.slice(-5).join('\n')}`);
      return lines.filter((l) => l.includes('"controller started"')).length >= started;
    },
    { timeoutMs: 60_000, describe: 'the controller process to start its controllers' },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n--- controller log ---\n${lines.slice(-20).join('\n')}`);
  });
  return { child, lines };
}

/** Lines of a controller log that report reconcile errors, for assertion messages. */
export function errorLines(controller: ControllerProcess): string {
  return controller.lines.filter((l) => /"level":"(warn|error|fatal)"/.test(l)).slice(-10).join('\n');
}
