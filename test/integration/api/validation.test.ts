/**
 * The generated CRDs on the real API server: they install as structural schemas, the seed
 * 003 sample is accepted and stored with the schema's defaults, and each invalid object a
 * user could plausibly write is refused with an error on the right field that says why.
 *
 * Invalid objects are sent with `dryRun=All`: the API server runs defaulting, OpenAPI and
 * CEL validation exactly as for a real create, and nothing is stored for a controller to
 * pick up. The CRDs are applied here too (idempotent), so the file runs on its own.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { testCluster, testNamespace } from '../../support/cluster.ts';
import { KubeApiError, resourcePath, type KubeClient, type KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { ResourceKind } from '../../../src/runtime/kinds.ts';
import { CRD_DIR, repoRoot } from '../../../src/api/gen.ts';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { WebApp, WebAppSpec } from '../../../src/api/webapp.ts';
import { CanaryDeploymentKind, WebAppKind } from '../../../src/api/kinds.ts';

interface CrdObject extends KubeObject {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

// Connected at the top level, so the client's clean-up hook belongs to the whole file.
const { admin } = await testCluster();

before(() => installCrds(admin));

/** Applies every CRD in deploy/crds and waits until the API server serves each one. */
async function installCrds(client: KubeClient): Promise<void> {
  const dir = join(repoRoot, CRD_DIR);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(join(dir, file), 'utf8')) as CrdObject;
    await client.apply(kinds.CustomResourceDefinition, crd, { fieldManager: 'codedance-tests' });
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const name = (parse(readFileSync(join(dir, file), 'utf8')) as CrdObject).metadata.name!;
    await waitFor(`CRD ${name} established`, async () => {
      const crd = await client.get<CrdObject>(kinds.CustomResourceDefinition, undefined, name);
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    });
  }
}

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The seed 003 sample of DESIGN.md, unchanged but for the namespace (each test has its own). */
const SEED_YAML = `
apiVersion: deploy.codedance.io/v1alpha1
kind: CanaryDeployment
metadata: {name: myapp, namespace: production}
spec:
  targetDeployment: myapp
  canaryVersion: myapp:v2.0.0
  strategy:
    type: Linear
    steps: [{weight: 10, pause: 5m}, {weight: 50, pause: 10m}, {weight: 100, pause: 0s}]
  metrics:
    successRate: {threshold: 99.0}
    latency: {p99: 500ms}
    errorRate: {threshold: 1.0}
  autoRollback: {enabled: true, onMetricsFail: true, onPodCrash: true}
`;

function seed(namespace: string): CanaryDeployment {
  const object = parse(SEED_YAML) as CanaryDeployment;
  object.metadata.namespace = namespace;
  return object;
}

/** Sends `object` as a dry-run create; resolves to the object the API server would store. */
async function dryRunCreate<T extends KubeObject>(kind: ResourceKind<T>, object: T): Promise<T> {
  return admin.raw<T>('POST', `${resourcePath(kind, object.metadata.namespace)}?dryRun=All`, object);
}

/** One refused object: the cause must be on `field` and its message must contain `says`. */
interface InvalidCase<S> {
  name: string;
  spec: (valid: S) => unknown;
  field: string;
  says: string;
}

/**
 * Sends the invalid object and checks the refusal: 422 Invalid, with a cause on the
 * expected field whose message contains the expected word. Returns the causes for the message.
 */
async function assertRefused(
  kind: ResourceKind,
  object: KubeObject,
  expected: { field: string; says: string },
): Promise<void> {
  let error: unknown;
  try {
    await dryRunCreate(kind, object);
  } catch (err) {
    error = err;
  }
  assert.ok(
    error instanceof KubeApiError,
    `the API server accepted it (expected a refusal on ${expected.field})`,
  );
  assert.equal(error.statusCode, 422, error.message);
  const causes = error.status?.details?.causes ?? [];
  const described = causes.map((c) => `${c.field ?? '?'}: ${c.message ?? ''}`).join('\n  ');
  const match = causes.find(
    (c) =>
      c.field === expected.field && (c.message ?? '').toLowerCase().includes(expected.says.toLowerCase()),
  );
  assert.ok(match, `no cause on ${expected.field} saying "${expected.says}"; causes were:\n  ${described}`);
}

test('the CRDs install as structural schemas with their names accepted', async () => {
  for (const name of ['canarydeployments.deploy.codedance.io', 'webapps.apps.codedance.io']) {
    const crd = await admin.get<CrdObject>(kinds.CustomResourceDefinition, undefined, name);
    assert.ok(crd, `${name} is not installed`);
    const conditions = crd.status?.conditions ?? [];
    const byType = new Map(conditions.map((c) => [c.type, c]));
    assert.equal(byType.get('Established')?.status, 'True');
    assert.equal(byType.get('NamesAccepted')?.status, 'True');
    assert.equal(
      byType.get('NonStructuralSchema'),
      undefined,
      byType.get('NonStructuralSchema')?.message ?? '',
    );
  }
});

test('the seed 003 sample is accepted unchanged and stored with the schema defaults', async (t) => {
  const namespace = await testNamespace(t);
  const created = await admin.create(CanaryDeploymentKind, seed(namespace));
  const stored = await admin.get(CanaryDeploymentKind, namespace, created.metadata.name!);
  assert.ok(stored);
  const spec = stored.spec;
  // What the user wrote is kept as written.
  assert.deepEqual(spec.strategy?.steps, [
    { weight: 10, pause: '5m' },
    { weight: 50, pause: '10m' },
    { weight: 100, pause: '0s' },
  ]);
  assert.equal(spec.metrics?.successRate?.threshold, 99);
  assert.equal(spec.metrics?.latency?.p99, '500ms');
  // What the user left out is filled in by the API server from the schema.
  assert.equal(spec.strategy?.type, 'Linear');
  assert.equal(spec.traffic?.provider, 'Replicas');
  assert.equal(spec.analysis?.interval, '30s');
  assert.equal(spec.analysis?.successThreshold, 1);
  assert.equal(spec.analysis?.failureThreshold, 2);
  assert.equal(spec.decision?.continueScore, 80);
  assert.equal(spec.decision?.pauseScore, 60);
  assert.equal(spec.autoRollback?.notReadyGracePeriod, '2m');
  assert.equal(spec.strategy?.blueGreen, undefined, 'blocks without a default stay absent');
});

test('in-memory withDefaults() agrees with the API server on the seed sample', async (t) => {
  const { withDefaults } = await import('../../../src/api/defaults.ts');
  const namespace = await testNamespace(t);
  const served = await dryRunCreate(CanaryDeploymentKind, seed(namespace));
  assert.deepEqual(served.spec, withDefaults(seed(namespace).spec));
});

test('a full CanaryDeployment using every block is accepted', async (t) => {
  const namespace = await testNamespace(t);
  const object = seed(namespace);
  object.spec = {
    ...object.spec,
    container: 'app',
    service: { name: 'myapp', port: 80 },
    strategy: { type: 'Manual', steps: [{ weight: 5 }, { weight: 20, pause: '1h30m' }, { weight: 100 }] },
    traffic: {
      provider: 'Istio',
      istio: { virtualService: 'myapp', destinationRule: 'myapp', routes: ['primary'] },
    },
    analysis: {
      interval: '15s',
      window: '2m',
      successThreshold: 2,
      failureThreshold: 3,
      inconclusiveLimit: 4,
      unreachableTimeout: '1m',
    },
    metrics: {
      provider: { address: 'http://prometheus:9090', timeout: '2s' },
      successRate: { threshold: 99.5 },
      latency: { p50: '100ms', p90: '250ms', p99: '1.5s' },
      errorRate: { threshold: 0.5 },
      custom: [
        {
          name: 'queue-depth',
          query: 'sum(queue_depth{app="{{target}}"})',
          threshold: 100,
          compare: 'LT',
          weight: 10,
        },
      ],
    },
    decision: {
      weights: { successRate: 50, latency: 20, errorRate: 20, custom: 10 },
      continueScore: 90,
      pauseScore: 90,
    },
    notifications: [
      { name: 'team', type: 'Slack', url: 'https://hooks.slack.com/services/x' },
      {
        name: 'ops',
        type: 'DingTalk',
        secretRef: { name: 'dingtalk', secretKey: 'sign' },
        events: ['RolledBack', 'Completed'],
      },
    ],
  } satisfies CanaryDeploymentSpec;
  const served = await dryRunCreate(CanaryDeploymentKind, object);
  assert.equal(served.spec.notifications?.[1]?.secretRef?.urlKey, 'url');

  const blueGreen = seed(namespace);
  blueGreen.spec = {
    ...blueGreen.spec,
    strategy: { type: 'BlueGreen', blueGreen: { previewService: 'myapp-preview', autoPromote: false } },
  };
  const servedBlueGreen = await dryRunCreate(CanaryDeploymentKind, blueGreen);
  assert.equal(servedBlueGreen.spec.strategy?.blueGreen?.previewPause, '30s');

  // The bounds themselves are allowed: an interval of 1s, a query timeout of 30s.
  const bounds = seed(namespace);
  bounds.spec = {
    ...bounds.spec,
    analysis: { interval: '1s' },
    metrics: { ...bounds.spec.metrics, provider: { timeout: '30s' } },
  };
  const servedBounds = await dryRunCreate(CanaryDeploymentKind, bounds);
  assert.equal(servedBounds.spec.metrics?.provider?.timeout, '30s');
  assert.equal(servedBounds.spec.analysis?.interval, '1s');
});

/** The ways a CanaryDeployment can be wrong, each with the field and a word of the reason. */
const invalidCanaries: InvalidCase<CanaryDeploymentSpec>[] = [
  {
    name: 'step weight above 100',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: 10 }, { weight: 150 }] } }),
    field: 'spec.strategy.steps[1].weight',
    says: 'less than or equal to 100',
  },
  {
    name: 'step weight below 0',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: -5 }, { weight: 50 }] } }),
    field: 'spec.strategy.steps[0].weight',
    says: 'greater than or equal to 0',
  },
  {
    name: 'step weights decreasing',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: 50 }, { weight: 10 }] } }),
    field: 'spec.strategy.steps',
    says: 'strictly increase',
  },
  {
    name: 'step weights repeated',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: 10 }, { weight: 10 }, { weight: 100 }] } }),
    field: 'spec.strategy.steps',
    says: 'strictly increase',
  },
  {
    name: 'step pause that is not a duration',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: 10, pause: '5 minutes' }] } }),
    field: 'spec.strategy.steps[0].pause',
    says: 'must be a duration',
  },
  {
    name: 'analysis interval without a unit',
    spec: (s) => ({ ...s, analysis: { interval: '30' } }),
    field: 'spec.analysis.interval',
    says: 'must be a duration',
  },
  {
    name: 'latency p99 that is not a duration',
    spec: (s) => ({ ...s, metrics: { latency: { p99: 'fast' } } }),
    field: 'spec.metrics.latency.p99',
    says: 'must be a duration',
  },
  {
    name: 'success-rate threshold above 100',
    spec: (s) => ({ ...s, metrics: { successRate: { threshold: 150 } } }),
    field: 'spec.metrics.successRate.threshold',
    says: 'less than or equal to 100',
  },
  {
    name: 'error-rate threshold below 0',
    spec: (s) => ({ ...s, metrics: { errorRate: { threshold: -1 } } }),
    field: 'spec.metrics.errorRate.threshold',
    says: 'greater than or equal to 0',
  },
  {
    name: 'failure threshold of 0',
    spec: (s) => ({ ...s, analysis: { failureThreshold: 0 } }),
    field: 'spec.analysis.failureThreshold',
    says: 'greater than or equal to 1',
  },
  {
    name: 'unknown strategy type',
    spec: (s) => ({ ...s, strategy: { type: 'Random' } }),
    field: 'spec.strategy.type',
    says: 'Unsupported value',
  },
  {
    name: 'unknown traffic provider',
    spec: (s) => ({ ...s, traffic: { provider: 'Linkerd' } }),
    field: 'spec.traffic.provider',
    says: 'Unsupported value',
  },
  {
    name: 'missing targetDeployment',
    spec: ({ targetDeployment: _, ...s }) => s,
    field: 'spec.targetDeployment',
    says: 'Required',
  },
  {
    name: 'missing canaryVersion',
    spec: ({ canaryVersion: _, ...s }) => s,
    field: 'spec.canaryVersion',
    says: 'Required',
  },
  {
    name: 'targetDeployment that is not an object name',
    spec: (s) => ({ ...s, targetDeployment: 'My_App' }),
    field: 'spec.targetDeployment',
    says: 'DNS-1123',
  },
  {
    name: 'canaryVersion with a space',
    spec: (s) => ({ ...s, canaryVersion: 'myapp v2' }),
    field: 'spec.canaryVersion',
    says: 'should match',
  },
  {
    name: 'Istio provider without traffic.istio',
    spec: (s) => ({ ...s, traffic: { provider: 'Istio' } }),
    field: 'spec.traffic.istio',
    says: 'required when traffic.provider is Istio',
  },
  {
    name: 'Nginx provider without traffic.nginx',
    spec: (s) => ({ ...s, traffic: { provider: 'Nginx' } }),
    field: 'spec.traffic.nginx',
    says: 'required when traffic.provider is Nginx',
  },
  {
    name: 'GatewayAPI provider without traffic.gatewayAPI',
    spec: (s) => ({ ...s, traffic: { provider: 'GatewayAPI' } }),
    field: 'spec.traffic.gatewayAPI',
    says: 'required when traffic.provider is GatewayAPI',
  },
  {
    name: 'traffic.nginx without provider Nginx',
    spec: (s) => ({ ...s, traffic: { nginx: { ingress: 'web' } } }),
    field: 'spec.traffic.nginx',
    says: 'only used when traffic.provider is Nginx',
  },
  {
    name: 'BlueGreen with steps',
    spec: (s) => ({ ...s, strategy: { type: 'BlueGreen', steps: [{ weight: 50 }] } }),
    field: 'spec.strategy.steps',
    says: 'BlueGreen',
  },
  {
    name: 'blueGreen settings on a Linear strategy',
    spec: (s) => ({ ...s, strategy: { type: 'Linear', blueGreen: { autoPromote: false } } }),
    field: 'spec.strategy.blueGreen',
    says: 'only used when strategy.type is BlueGreen',
  },
  {
    name: 'pauseScore above continueScore',
    spec: (s) => ({ ...s, decision: { continueScore: 70, pauseScore: 90 } }),
    field: 'spec.decision.pauseScore',
    says: 'must not be greater than decision.continueScore',
  },
  {
    name: 'pauseScore above the default continueScore',
    spec: (s) => ({ ...s, decision: { pauseScore: 85 } }),
    field: 'spec.decision.pauseScore',
    says: 'must not be greater than decision.continueScore',
  },
  {
    name: 'decision weight above 100',
    spec: (s) => ({ ...s, decision: { weights: { latency: 120 } } }),
    field: 'spec.decision.weights.latency',
    says: 'less than or equal to 100',
  },
  {
    name: 'custom metric compare EQ',
    spec: (s) => ({ ...s, metrics: { custom: [{ name: 'q', query: 'up', threshold: 1, compare: 'EQ' }] } }),
    field: 'spec.metrics.custom[0].compare',
    says: 'Unsupported value',
  },
  {
    name: 'two custom metrics with one name',
    spec: (s) => ({
      ...s,
      metrics: {
        custom: [
          { name: 'q', query: 'up', threshold: 1, compare: 'LT' },
          { name: 'q', query: 'up', threshold: 2, compare: 'GT' },
        ],
      },
    }),
    field: 'spec.metrics.custom[1]',
    says: 'Duplicate value',
  },
  {
    name: 'analysis interval below 1s',
    spec: (s) => ({ ...s, analysis: { interval: '500ms' } }),
    field: 'spec.analysis.interval',
    says: 'must be at least 1s',
  },
  {
    name: 'query timeout above 30s',
    spec: (s) => ({ ...s, metrics: { ...s.metrics, provider: { timeout: '31s' } } }),
    field: 'spec.metrics.provider.timeout',
    says: 'must be at most 30s',
  },
  {
    name: 'query timeout of an hour',
    spec: (s) => ({ ...s, metrics: { ...s.metrics, provider: { timeout: '1h' } } }),
    field: 'spec.metrics.provider.timeout',
    says: 'must be at most 30s',
  },
  {
    name: 'Prometheus address that is not a URL',
    spec: (s) => ({ ...s, metrics: { provider: { address: 'prometheus:9090' } } }),
    field: 'spec.metrics.provider.address',
    says: 'should match',
  },
  {
    name: 'Webhook notification without url or secretRef',
    spec: (s) => ({ ...s, notifications: [{ type: 'Webhook' }] }),
    field: 'spec.notifications[0].url',
    says: 'needs the address to post to',
  },
  {
    name: 'Slack notification without url or secretRef',
    spec: (s) => ({ ...s, notifications: [{ type: 'Slack' }] }),
    field: 'spec.notifications[0].url',
    says: 'needs the address to post to',
  },
  {
    name: 'DingTalk notification with both url and secretRef',
    spec: (s) => ({
      ...s,
      notifications: [
        { type: 'DingTalk', url: 'https://oapi.dingtalk.com/robot/send', secretRef: { name: 'ding' } },
      ],
    }),
    field: 'spec.notifications[0].secretRef',
    says: 'not both',
  },
  {
    name: 'unknown notification type',
    spec: (s) => ({ ...s, notifications: [{ type: 'Email', url: 'https://example.com' }] }),
    field: 'spec.notifications[0].type',
    says: 'Unsupported value',
  },
  {
    name: 'two notifications with one name',
    spec: (s) => ({
      ...s,
      notifications: [
        { name: 'a', type: 'Slack', url: 'https://x' },
        { name: 'a', type: 'WeCom', url: 'https://y' },
      ],
    }),
    field: 'spec.notifications',
    says: 'names must be unique',
  },
  {
    name: 'BlueGreen preview Service equal to the stable Service (default name)',
    spec: (s) => ({ ...s, strategy: { type: 'BlueGreen', blueGreen: { previewService: 'myapp' } } }),
    field: 'spec.strategy.blueGreen.previewService',
    says: 'must differ from the stable Service',
  },
  {
    name: 'BlueGreen preview Service equal to spec.service.name',
    spec: (s) => ({
      ...s,
      service: { name: 'web' },
      strategy: { type: 'BlueGreen', blueGreen: { previewService: 'web' } },
    }),
    field: 'spec.strategy.blueGreen.previewService',
    says: 'must differ from the stable Service',
  },
  {
    name: 'BlueGreen preview Service named like the canary Service',
    spec: (s) => ({ ...s, strategy: { type: 'BlueGreen', blueGreen: { previewService: 'myapp-canary' } } }),
    field: 'spec.strategy.blueGreen.previewService',
    says: 'canary Service',
  },
  {
    name: 'service port above 65535',
    spec: (s) => ({ ...s, service: { port: 70000 } }),
    field: 'spec.service.port',
    says: 'less than or equal to 65535',
  },
  // Routing by request, mirroring, protocols (docs/traffic.md).
  {
    name: 'a match with the Replicas provider',
    spec: (s) => ({ ...s, strategy: { steps: [{ weight: 0, match: [{ cookie: { name: 'c' } }] }] } }),
    field: 'spec.strategy.steps',
    says: 'with Replicas the stable Service sends each request to any pod',
  },
  {
    name: 'a header match with both exact and regex',
    spec: (s) => ({
      ...s,
      traffic: istio,
      strategy: { steps: [{ weight: 0, match: [{ header: { name: 'x', exact: '1', regex: '1.*' } }] }] },
    }),
    field: 'spec.strategy.steps[0].match[0].header',
    says: 'exactly one of exact or regex',
  },
  {
    name: 'two headers with Nginx',
    spec: (s) => ({
      ...s,
      traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
      strategy: {
        steps: [
          {
            weight: 0,
            match: [{ header: { name: 'a', exact: '1' } }, { header: { name: 'b', exact: '2' } }],
          },
        ],
      },
    }),
    field: 'spec.strategy',
    says: 'at most one header and one cookie',
  },
  {
    name: 'a mirror with Nginx',
    spec: (s) => ({
      ...s,
      traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
      strategy: { steps: [{ weight: 0, mirror: 50 }] },
    }),
    field: 'spec.strategy.steps',
    says: 'mirror needs traffic.provider Istio or GatewayAPI',
  },
  {
    name: 'protocol GRPC with Nginx',
    spec: (s) => ({ ...s, traffic: { provider: 'Nginx', protocol: 'GRPC', nginx: { ingress: 'web' } } }),
    field: 'spec.traffic.protocol',
    says: 'GRPC needs traffic.provider Replicas, Istio or GatewayAPI',
  },
  {
    name: 'protocol GRPC naming an HTTPRoute',
    spec: (s) => ({
      ...s,
      traffic: { provider: 'GatewayAPI', protocol: 'GRPC', gatewayAPI: { httpRoute: 'web' } },
    }),
    field: 'spec.traffic.gatewayAPI',
    says: 'grpcRoute for GRPC',
  },
  {
    name: 'a match on a TCP service',
    spec: (s) => ({
      ...s,
      traffic: { ...istio, protocol: 'TCP' },
      strategy: { steps: [{ weight: 0, match: [{ header: { name: 'x', exact: '1' } }] }] },
    }),
    field: 'spec.strategy',
    says: 'no header or cookie to match',
  },
  {
    name: 'named Istio routes with protocol TCP',
    spec: (s) => ({
      ...s,
      traffic: { provider: 'Istio', protocol: 'TCP', istio: { virtualService: 'db', routes: ['primary'] } },
    }),
    field: 'spec.traffic.istio.routes',
    says: 'tcp routes have no names',
  },
  {
    name: 'an experiment at weight 0 without a match',
    spec: (s) => ({
      ...s,
      traffic: istio,
      strategy: { type: 'Experiment', experiment: { weight: 0, duration: '10m' } },
    }),
    field: 'spec.strategy.experiment.weight',
    says: 'give the canary a share',
  },
];

const istio: CanaryDeploymentSpec['traffic'] = { provider: 'Istio', istio: { virtualService: 'web' } };

test('match, mirror and protocols are accepted where the provider can do them', async (t) => {
  const namespace = await testNamespace(t);
  const cases: Partial<CanaryDeploymentSpec>[] = [
    {
      traffic: istio,
      strategy: {
        steps: [
          { weight: 0, mirror: 100, pause: '5m' },
          {
            weight: 10,
            match: [{ header: { name: 'x-canary', regex: 'in.*' } }, { cookie: { name: 'canary' } }],
          },
          { weight: 100 },
        ],
      },
    },
    {
      traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
      strategy: {
        steps: [
          {
            weight: 0,
            match: [{ header: { name: 'x', exact: '1' } }, { cookie: { name: 'c', value: 'always' } }],
          },
        ],
      },
    },
    {
      traffic: { provider: 'GatewayAPI', protocol: 'GRPC', gatewayAPI: { grpcRoute: 'rpc' } },
      strategy: {
        type: 'Experiment',
        experiment: { weight: 0, duration: '10m', match: [{ header: { name: 'x', exact: '1' } }] },
      },
    },
    { traffic: { provider: 'Istio', protocol: 'TCP', istio: { virtualService: 'db' } } },
  ];
  for (const extra of cases) {
    const object = seed(namespace);
    object.spec = { ...object.spec, ...extra };
    const served = await dryRunCreate(CanaryDeploymentKind, object);
    // Stored as written, with the protocol defaulted to HTTP.
    assert.equal(served.spec.traffic?.protocol, extra.traffic?.protocol ?? 'HTTP');
    assert.deepEqual(served.spec.strategy?.steps?.[0]?.match, extra.strategy?.steps?.[0]?.match);
  }
});

test(`${invalidCanaries.length} invalid CanaryDeployments are each refused on their field`, async (t) => {
  // One namespace for all: every case is a dry run, so nothing is stored in it.
  const namespace = await testNamespace(t);
  for (const c of invalidCanaries) {
    await t.test(c.name, async () => {
      const object = seed(namespace);
      const spec = c.spec(structuredClone(object.spec)) as CanaryDeploymentSpec;
      await assertRefused(CanaryDeploymentKind, { ...object, spec } as KubeObject, c);
    });
  }
});

function webApp(namespace: string, spec: WebAppSpec, name = 'shop'): WebApp {
  return { apiVersion: 'apps.codedance.io/v1alpha1', kind: 'WebApp', metadata: { name, namespace }, spec };
}

test('a minimal WebApp is accepted with replicas 1 and port 8080', async (t) => {
  const namespace = await testNamespace(t);
  const created = await admin.create(WebAppKind, webApp(namespace, { image: 'nginx:1.27' }));
  assert.equal(created.spec.replicas, 1);
  assert.equal(created.spec.port, 8080);
  const full = await dryRunCreate(
    WebAppKind,
    webApp(
      namespace,
      {
        image: `registry.example.com/shop@sha256:${'a'.repeat(64)}`,
        replicas: 10,
        port: 443,
        env: [
          { name: 'LOG_LEVEL', value: 'debug' },
          { name: 'feature.flag-x', value: '' },
        ],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
        release: {
          strategy: { type: 'Exponential' },
          traffic: { provider: 'Nginx', nginx: { ingress: 'shop' } },
        },
      },
      'shop-full',
    ),
  );
  assert.equal(full.spec.release?.analysis?.interval, '30s');
  assert.equal(full.spec.release?.strategy?.stepPause, '1m');
});

const invalidWebApps: InvalidCase<WebAppSpec>[] = [
  {
    name: 'replicas 0',
    spec: (s) => ({ ...s, replicas: 0 }),
    field: 'spec.replicas',
    says: 'greater than or equal to 1',
  },
  {
    name: 'replicas 11',
    spec: (s) => ({ ...s, replicas: 11 }),
    field: 'spec.replicas',
    says: 'less than or equal to 10',
  },
  {
    name: 'port 0',
    spec: (s) => ({ ...s, port: 0 }),
    field: 'spec.port',
    says: 'greater than or equal to 1',
  },
  {
    name: 'port 70000',
    spec: (s) => ({ ...s, port: 70000 }),
    field: 'spec.port',
    says: 'less than or equal to 65535',
  },
  {
    name: 'empty image',
    spec: (s) => ({ ...s, image: '' }),
    field: 'spec.image',
    says: 'at least 1 chars long',
  },
  { name: 'missing image', spec: ({ image: _, ...s }) => s, field: 'spec.image', says: 'Required' },
  {
    name: 'env name starting with a digit',
    spec: (s) => ({ ...s, env: [{ name: '1BAD', value: 'x' }] }),
    field: 'spec.env[0].name',
    says: 'must not start with a digit',
  },
  {
    name: 'env name with a space',
    spec: (s) => ({ ...s, env: [{ name: 'MY VAR', value: 'x' }] }),
    field: 'spec.env[0].name',
    says: 'env[].name must be',
  },
  {
    name: 'duplicate env names',
    spec: (s) => ({
      ...s,
      env: [
        { name: 'A', value: '1' },
        { name: 'A', value: '2' },
      ],
    }),
    field: 'spec.env[1]',
    says: 'Duplicate value',
  },
  {
    name: 'cpu request above its limit',
    spec: (s) => ({ ...s, resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } }),
    field: 'spec.resources.requests.cpu',
    says: 'must not be greater than resources.limits.cpu',
  },
  {
    name: 'memory that is not a quantity',
    spec: (s) => ({ ...s, resources: { limits: { memory: 'lots' } } }),
    field: 'spec.resources.limits.memory',
    says: 'should match',
  },
  {
    name: 'release with BlueGreen and steps',
    spec: (s) => ({ ...s, release: { strategy: { type: 'BlueGreen', steps: [{ weight: 50 }] } } }),
    field: 'spec.release.strategy.steps',
    says: 'BlueGreen',
  },
];

test(`${invalidWebApps.length} invalid WebApps are each refused on their field`, async (t) => {
  const namespace = await testNamespace(t);
  for (const c of invalidWebApps) {
    await t.test(c.name, async () => {
      const object = webApp(namespace, { image: 'nginx:1.27' });
      const spec = c.spec(structuredClone(object.spec)) as WebAppSpec;
      await assertRefused(WebAppKind, { ...object, spec } as KubeObject, c);
    });
  }
});
