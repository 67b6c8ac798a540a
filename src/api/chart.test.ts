import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { parse, parseAllDocuments } from 'yaml';
import { generate } from './gen.ts';
import { CHART_DIR, chartFiles, defaultValues, manifestSources, ValuesSchema } from './chart.ts';
import { CONTROLLER_NAMESPACE, controllerManifests } from './manifests.ts';

const files = chartFiles('1.2.3', [{ path: 'deploy/crds/x_y.yaml', content: '# crd\n' }]);
const file = (name: string): string => {
  const found = files.find((f) => f.path === `${CHART_DIR}/${name}`);
  assert.ok(found, `${name} is generated`);
  return found.content;
};

test('values.yaml holds the defaults, which fit values.schema.json and come from manifests.ts', () => {
  const values = parse(file('values.yaml')) as unknown;
  assert.deepEqual(values, defaultValues());
  assert.ok(Value.Check(ValuesSchema, values));
  const deployment = controllerManifests('x').find((o) => (o as { kind?: string }).kind === 'Deployment') as {
    spec: {
      replicas: number;
      template: {
        spec: { securityContext: unknown; containers: { resources: unknown; securityContext: unknown }[] };
      };
    };
  };
  assert.equal(defaultValues().replicas, deployment.spec.replicas);
  assert.deepEqual(defaultValues().resources, deployment.spec.template.spec.containers[0]!.resources);
  assert.deepEqual(
    defaultValues().securityContext,
    deployment.spec.template.spec.containers[0]!.securityContext,
  );
  assert.deepEqual(defaultValues().podSecurityContext, deployment.spec.template.spec.securityContext);
  assert.equal(Value.Check(ValuesSchema, { ...defaultValues(), replicas: -1 }), false);
  assert.equal(
    Value.Check(ValuesSchema, { ...defaultValues(), unknown: 1 }),
    false,
    'a misspelt key is refused',
  );
});

test("the templates name the release's namespace, never the plain manifests' one", () => {
  for (const f of files.filter((f) => f.path.includes('/templates/'))) {
    assert.ok(!f.content.includes(CONTROLLER_NAMESPACE), `${f.path} mentions ${CONTROLLER_NAMESPACE}`);
  }
  assert.match(file('templates/controller.yaml'), /--lease-namespace=\{\{ \.Release\.Namespace \}\}/);
});

test("every flag of manifests.ts' controller is kept, those the values own come from values", () => {
  const deployment = controllerManifests('x').find((o) => (o as { kind?: string }).kind === 'Deployment') as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const controller = file('templates/controller.yaml');
  const owned = [
    '--leader-elect',
    '--namespace',
    '--prometheus-url',
    '--allowed-prometheus-url',
    '--dashboard',
  ];
  for (const arg of deployment.spec.template.spec.containers[0]!.args) {
    const flag = arg.split('=')[0]!;
    if (owned.includes(flag)) continue;
    assert.ok(
      controller.includes(JSON.stringify(arg.replace(CONTROLLER_NAMESPACE, '{{ .Release.Namespace }}'))),
      `${arg} is in the chart`,
    );
  }
  for (const flag of owned) assert.ok(controller.includes(`${flag}=%`), `${flag} comes from values`);
});

test('Chart.yaml carries the version; the CRDs are copied into crds/ as generated', () => {
  const chart = parse(file('Chart.yaml')) as { version: string; appVersion: string; name: string };
  assert.deepEqual([chart.name, chart.version, chart.appVersion], ['codedance', '1.2.3', '1.2.3']);
  assert.equal(file('crds/x_y.yaml'), '# crd\n');
});

test('the chart follows what manifests.ts adds: namespaced Roles, dashboard objects, new flags and ports', () => {
  const sources = manifestSources('1.2.3');
  const deployment = sources.controller.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: { containers: { args: string[]; ports: object[] }[] } } };
  };
  const container = deployment.spec.template.spec.containers[0]!;
  container.args.push('--dashboard-port=8081', '--kube-api-qps=50');
  container.ports.push({ name: 'dashboard', containerPort: 8081, protocol: 'TCP' });
  const sa = { kind: 'ServiceAccount', name: 'codedance', namespace: CONTROLLER_NAMESPACE };
  sources.rbac.push(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'codedance-leader-election', namespace: CONTROLLER_NAMESPACE },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'codedance-leader-election', namespace: CONTROLLER_NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'codedance-leader-election' },
      subjects: [sa],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'codedance-dashboard' },
      rules: [],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'codedance-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [],
    },
  );
  const out = chartFiles('1.2.3', [], sources);
  const rbac = out.find((f) => f.path.endsWith('templates/rbac.yaml'))!.content;
  const controller = out.find((f) => f.path.endsWith('templates/controller.yaml'))!.content;
  const policy = out.find((f) => f.path.endsWith('templates/networkpolicy.yaml'))!.content;
  assert.ok(!rbac.includes(CONTROLLER_NAMESPACE), 'Roles and subjects move to the release namespace');
  assert.match(
    rbac,
    /kind: Role\nmetadata:\n {2}name: '\{\{ include "codedance.name" \. \}\}-leader-election'\n {2}namespace: "\{\{ \.Release\.Namespace \}\}"/,
  );
  assert.match(
    rbac,
    /\{\{- if \.Values\.dashboard\.enabled \}\}\napiVersion: rbac.authorization.k8s.io\/v1\nkind: ClusterRole\nmetadata:\n {2}name: '\{\{ include "codedance.name" \. \}\}-dashboard'/,
  );
  assert.match(rbac, /rbac.authorization.k8s.io\/aggregate-to-view: "true"/, 'aggregation labels are kept');
  assert.ok(
    controller.includes('"--dashboard-port=8081"') && controller.includes('"--kube-api-qps=50"'),
    'new flags are kept',
  );
  assert.match(policy, /- port: 8080\n.*\n\s+- port: 8081/, 'the NetworkPolicy opens every declared port');
});

test('every object of the plain manifests (deploy/*.yaml) is in the chart', () => {
  const generated = generate();
  const templates = generated
    .filter((f) => f.path.startsWith(`${CHART_DIR}/templates/`))
    .map((f) => f.content)
    .join('\n');
  const plain = generated.filter((f) => /^deploy\/[^/]+\.yaml$/.test(f.path));
  assert.ok(plain.length >= 2, 'rbac.yaml and controller.yaml at least');
  for (const file of plain) {
    for (const doc of parseAllDocuments(file.content)) {
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (!obj?.kind || obj.kind === 'Namespace') continue;
      const name = obj.metadata?.name ?? '';
      const templated = name.startsWith('codedance')
        ? `'{{ include "codedance.name" . }}${name.slice('codedance'.length)}'`
        : name;
      assert.ok(
        templates.includes(`kind: ${obj.kind}\nmetadata:\n  name: ${templated}\n`),
        `${file.path}: ${obj.kind} ${name} is in the chart (as ${templated})`,
      );
    }
  }
});
