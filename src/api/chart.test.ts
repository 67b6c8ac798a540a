import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { parse } from 'yaml';
import { CHART_DIR, chartFiles, defaultValues, ValuesSchema } from './chart.ts';
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
    spec: { replicas: number; template: { spec: { securityContext: unknown; containers: { resources: unknown; securityContext: unknown }[] } } };
  };
  assert.equal(defaultValues().replicas, deployment.spec.replicas);
  assert.deepEqual(defaultValues().resources, deployment.spec.template.spec.containers[0]!.resources);
  assert.deepEqual(defaultValues().securityContext, deployment.spec.template.spec.containers[0]!.securityContext);
  assert.deepEqual(defaultValues().podSecurityContext, deployment.spec.template.spec.securityContext);
  assert.equal(Value.Check(ValuesSchema, { ...defaultValues(), replicas: -1 }), false);
  assert.equal(Value.Check(ValuesSchema, { ...defaultValues(), unknown: 1 }), false, 'a misspelt key is refused');
});

test("the templates name the release's namespace, never the plain manifests' one", () => {
  for (const f of files.filter((f) => f.path.includes('/templates/'))) {
    assert.ok(!f.content.includes(CONTROLLER_NAMESPACE), `${f.path} mentions ${CONTROLLER_NAMESPACE}`);
  }
  assert.match(file('templates/controller.yaml'), /--lease-namespace=\{\{ \.Release\.Namespace \}\}/);
});

test("every flag of manifests.ts' controller is kept, those the values own come from values", () => {
  const deployment = controllerManifests('x').find((o) => (o as { kind?: string }).kind === 'Deployment') as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const controller = file('templates/controller.yaml');
  const owned = ['--leader-elect', '--namespace', '--prometheus-url', '--allowed-prometheus-url', '--dashboard'];
  for (const arg of deployment.spec.template.spec.containers[0]!.args) {
    const flag = arg.split('=')[0]!;
    if (owned.includes(flag)) continue;
    assert.ok(controller.includes(JSON.stringify(arg.replace(CONTROLLER_NAMESPACE, '{{ .Release.Namespace }}'))), `${arg} is in the chart`);
  }
  for (const flag of owned) assert.ok(controller.includes(`${flag}=%`), `${flag} comes from values`);
});

test('Chart.yaml carries the version; the CRDs are copied into crds/ as generated', () => {
  const chart = parse(file('Chart.yaml')) as { version: string; appVersion: string; name: string };
  assert.deepEqual([chart.name, chart.version, chart.appVersion], ['codedance', '1.2.3', '1.2.3']);
  assert.equal(file('crds/x_y.yaml'), '# crd\n');
});
