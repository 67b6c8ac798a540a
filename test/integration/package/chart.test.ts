/**
 * The Helm chart in deploy/helm/codedance on the real control plane, with Helm built
 * from its pinned module: lint, render + server-side dry run, install (the controller's
 * pods are admitted under the `restricted` Pod Security level and scheduled), upgrade
 * (exactly the changed values change), uninstall (everything goes but the CRDs).
 *
 * Each test installs its own release (`cd-<random>`) into its own namespace, so the
 * cluster-scoped objects it makes (ClusterRoles, bindings) never touch the shipped
 * `codedance-controller` role other tests bind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from '../../../src/api/chart.ts';
import { repoRoot } from '../../../src/api/gen.ts';
import { findGo } from '../../../src/cluster/build.ts';
import { runCommand } from '../../../src/cluster/exec.ts';
import { kubectl } from '../../../src/cluster/install.ts';
import { prometheusOperatorVersion } from '../../../src/cluster/versions.ts';
import { readClusterState } from '../../../src/cluster/state.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import { run, tools } from './support.ts';

const chart = join(repoRoot, CHART_DIR);
const digest = `sha256:${'ab'.repeat(32)}`;

interface Helm {
  helm: (...args: string[]) => Promise<string>;
  kubectl: (args: string[], input?: string) => Promise<string>;
  /** Installs the Prometheus Operator's ServiceMonitor CRD (from its pinned Go module), so a ServiceMonitor can be dry-run. */
  serviceMonitorCrd: () => Promise<void>;
}

let shared: Promise<Helm> | undefined;
/** helm (built on first use) with its own config folders, pointed at the test cluster as admin. */
function helmEnv(): Promise<Helm> {
  shared ??= (async () => {
    const { helm } = await tools(['helm']);
    const cluster = await testCluster();
    const state = await readClusterState(cluster.stateDir);
    if (!state) throw new Error(`no cluster state in ${cluster.stateDir}`);
    const target = { kubectlPath: state.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
    const home = await mkdtemp(join(tmpdir(), 'codedance-helm-'));
    process.on('exit', () => rmSync(home, { recursive: true, force: true }));
    const env = {
      ...process.env,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: cluster.kubeconfigPath,
    };
    return {
      helm: async (...args: string[]) => (await run(helm, args, { env })).stdout,
      kubectl: (args: string[], input?: string) => kubectl(target, args, input),
      serviceMonitorCrd: async () => {
        const go = await findGo();
        const module = `github.com/prometheus-operator/prometheus-operator@${prometheusOperatorVersion}`;
        const info = JSON.parse(
          await runCommand(go.go, ['mod', 'download', '-json', module], {
            cwd: home,
            env: go.env,
            logPath: '/dev/null',
          }),
        ) as { Dir?: string; Error?: string };
        if (!info.Dir) throw new Error(`go mod download ${module}: ${info.Error ?? 'no Dir'}`);
        const file = join(
          info.Dir,
          'example',
          'prometheus-operator-crd',
          'monitoring.coreos.com_servicemonitors.yaml',
        );
        await kubectl(target, ['apply', '--server-side', '--field-manager=codedance-chart-test', '-f', file]);
        // Polled here: `kubectl wait` fails outright on a CRD whose status has no conditions yet.
        await waitFor(
          async () =>
            (
              await cluster.admin.get<
                KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
              >(kinds.CustomResourceDefinition, undefined, 'servicemonitors.monitoring.coreos.com')
            )?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
          { describe: 'the ServiceMonitor CRD established' },
        );
      },
    };
  })();
  return shared;
}

/** A release name unique to this test, short enough for every derived name. */
function releaseName(): string {
  return `cd-${randomBytes(3).toString('hex')}`;
}

/** Installs a release and uninstalls it when the test ends (if the test did not). */
async function install(t: NamespaceOwner, h: Helm, name: string, ns: string, sets: string[]): Promise<void> {
  t.after(async () => {
    await h.helm('uninstall', name, '-n', ns).catch(() => undefined);
  });
  await h.helm('install', name, chart, '-n', ns, ...sets.flatMap((s) => ['--set', s]));
}

interface Live extends KubeObject {
  metadata: KubeObject['metadata'] & { annotations?: Record<string, string> };
}

/** The live objects of a release (everything `helm get manifest` lists), keyed `Kind/namespace/name`, without server-written fields. */
async function liveObjects(h: Helm, name: string, ns: string): Promise<Map<string, Live>> {
  const manifest = await h.helm('get', 'manifest', name, '-n', ns);
  const list = JSON.parse(await h.kubectl(['get', '-o', 'json', '-f', '-'], manifest)) as {
    items?: Live[];
  } & Live;
  const items = list.items ?? [list];
  const out = new Map<string, Live>();
  for (const item of items) {
    const { status: _status, ...rest } = item as Live & { status?: unknown };
    const metadata = { ...rest.metadata } as Record<string, unknown>;
    for (const key of ['resourceVersion', 'generation', 'managedFields', 'uid', 'creationTimestamp'])
      delete metadata[key];
    const annotations = { ...(metadata.annotations as Record<string, string> | undefined) };
    delete annotations['deployment.kubernetes.io/revision'];
    metadata.annotations = annotations;
    out.set(`${item.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`, {
      ...rest,
      metadata,
    } as Live);
  }
  return out;
}

/** Paths whose values differ between two objects; arrays of scalars compare whole. */
function differences(a: unknown, b: unknown, path = ''): string[] {
  const scalarArray = (v: unknown): boolean =>
    Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');
  if (scalarArray(a) && scalarArray(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys]
      .sort()
      .flatMap((k) =>
        differences(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          path ? `${path}.${k}` : k,
        ),
      );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [path];
}

test('helm lint passes, and values outside the schema are refused naming the field', {
  timeout: 1_800_000,
}, async () => {
  const h = await helmEnv();
  const lint = await h.helm('lint', '--strict', chart);
  assert.match(lint, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  await assert.rejects(h.helm('template', 'x', chart, '--set', 'replicas=-1'), /replicas/);
  await assert.rejects(h.helm('template', 'x', chart, '--set', 'image.digest=latest'), /digest/);
  await assert.rejects(h.helm('template', 'x', chart, '--set', 'replica=3'), /replica/);
});

test('helm template output is accepted by a server-side dry run', { timeout: 1_800_000 }, async (t) => {
  const h = await helmEnv();
  await h.serviceMonitorCrd();
  const ns = await testNamespace(t);
  const name = releaseName();
  for (const values of [
    [],
    [
      `image.digest=${digest}`,
      'replicas=3',
      'leaderElection.enabled=true',
      'prometheus.url=http://prometheus.monitoring:9090',
      'prometheus.allowedUrls[0]=http://prometheus.team-a:9090',
      'watchNamespaces[0]=team-a',
      'watchNamespaces[1]=team-b',
      'dashboard.enabled=true',
      'dashboard.tlsSecretName=codedance-dashboard-tls',
      'nodeSelector.kubernetes\\.io/os=linux',
      'tolerations[0].key=dedicated',
      'tolerations[0].operator=Exists',
      'podAnnotations.example\\.com/team=platform',
      'extraArgs[0]=--log-level=debug',
      'networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.team=monitoring',
      'networkPolicy.egress[0].ports[0].port=443',
      'serviceMonitor.enabled=true',
      'serviceMonitor.labels.release=prometheus',
    ],
  ]) {
    const rendered = await h.helm(
      'template',
      name,
      chart,
      '-n',
      ns,
      '--include-crds',
      ...values.flatMap((v) => ['--set', v]),
    );
    const kindsRendered = parseAllDocuments(rendered)
      .map((d) => (d.toJS() as KubeObject | null)?.kind)
      .filter(Boolean);
    for (const kind of [
      'CustomResourceDefinition',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Service',
    ]) {
      assert.ok(
        kindsRendered.includes(kind),
        `helm template renders a ${kind} (${values.length ? 'custom' : 'default'} values)`,
      );
    }
    const out = await h.kubectl(
      ['apply', '--server-side', '--dry-run=server', '--field-manager=codedance-chart-test', '-f', '-'],
      rendered,
    );
    assert.ok(out.includes(`deployment.apps/${name}-controller serverside-applied (server dry run)`), out);
    if (values.length > 0)
      assert.ok(
        out.includes(
          `servicemonitor.monitoring.coreos.com/${name}-controller serverside-applied (server dry run)`,
        ),
        out,
      );
  }
});

test('helm install creates everything and the controller pods are admitted (restricted) and scheduled; upgrade changes exactly the changed values; uninstall keeps only the CRDs', {
  timeout: 1_800_000,
}, async (t) => {
  const h = await helmEnv();
  const { admin } = await testCluster();
  // The restricted Pod Security level: the chart's default security contexts must pass it.
  const ns = await testNamespace(t, { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } });
  const name = releaseName();
  await install(t, h, name, ns, [`image.digest=${digest}`]);

  const before = await liveObjects(h, name, ns);
  const manifestKinds = [...before.keys()].map((key) => key.split('/')[0]);
  for (const kind of [
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Service',
    'NetworkPolicy',
  ]) {
    assert.ok(manifestKinds.includes(kind), `the release has a ${kind}: ${[...before.keys()].join(', ')}`);
  }
  const deploymentKey = `Deployment/${ns}/${name}-controller`;
  const deployment = before.get(deploymentKey) as Live & {
    spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
  };
  assert.ok(deployment, `${deploymentKey} exists`);
  assert.equal(
    deployment.spec.template.spec.containers[0]?.image,
    `codedance/controller@${digest}`,
    'the image is named by digest',
  );
  assert.equal(deployment.spec.replicas, 2);
  const pods = await waitFor(
    async () => {
      const list = await admin.list(kinds.Pod, {
        namespace: ns,
        labelSelector: `app.kubernetes.io/instance=${name}`,
      });
      const scheduled = list.items.filter((pod) => pod.spec?.nodeName);
      return scheduled.length === 2 ? scheduled : undefined;
    },
    { describe: `2 controller pods of ${name} scheduled`, timeoutMs: 60_000 },
  );
  t.diagnostic(`pods ${pods.map((p) => `${p.metadata.name} on ${p.spec?.nodeName}`).join(', ')}`);

  await h.helm(
    'upgrade',
    name,
    chart,
    '-n',
    ns,
    '--reuse-values',
    '--set',
    'replicas=1',
    '--set',
    'resources.limits.memory=256Mi',
    '--set',
    'extraArgs[0]=--log-level=debug',
  );
  const after = await liveObjects(h, name, ns);
  assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), 'the same objects');
  const changed = [...before.keys()].flatMap((key) =>
    differences(before.get(key), after.get(key)).map((path) => `${key}:${path}`),
  );
  assert.deepEqual(changed.sort(), [
    `${deploymentKey}:spec.replicas`,
    `${deploymentKey}:spec.template.spec.containers.0.args`,
    `${deploymentKey}:spec.template.spec.containers.0.resources.limits.memory`,
  ]);
  const upgraded = after.get(deploymentKey) as Live & {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  assert.equal(upgraded.spec.template.spec.containers[0]?.args.at(-1), '--log-level=debug');

  const crds = await h.kubectl(['get', 'crd', '-o', 'name']);
  await h.helm('uninstall', name, '-n', ns);
  const manifestKeys = [...before.keys()];
  await waitFor(
    async () => {
      const left: string[] = [];
      for (const key of manifestKeys) {
        const [kind, namespace, objectName] = key.split('/') as [string, string, string];
        const out = await h.kubectl([
          'get',
          kind,
          objectName,
          '--ignore-not-found',
          '-o',
          'name',
          ...(namespace ? ['-n', namespace] : []),
        ]);
        if (out.trim()) left.push(key);
      }
      return left.length === 0 ? true : undefined;
    },
    { describe: 'every object of the release removed', timeoutMs: 60_000 },
  );
  const crdsAfter = await h.kubectl(['get', 'crd', '-o', 'name']);
  for (const crd of ['canarydeployments.deploy.codedance.io', 'webapps.apps.codedance.io']) {
    assert.ok(crds.includes(crd) && crdsAfter.includes(crd), `CRD ${crd} stays after uninstall`);
  }
});
