/**
 * Seed 002's tracing, end to end: a controller process started with
 * OTEL_EXPORTER_OTLP_ENDPOINT sends the spans of its WebApp reconciles to an OTLP/HTTP
 * receiver, one trace per reconcile with a span per step.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp } from '../../../src/api/webapp.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { installApi, startController } from '../../support/controller.ts';
import { attribute, startOtlpReceiver } from '../../../src/tracing/testing/otlp-receiver.ts';
import { WebAppKind } from '../../../src/api/kinds.ts';

// At the top level, not in a hook: testCluster() registers the client's close with the
// file's root, which a hook would scope to itself.
const { admin } = await testCluster();

before(() => installApi(admin));

test('reconciles are traced to an OTLP/HTTP receiver, with a span per step', async (t) => {
  const receiver = await startOtlpReceiver();
  t.after(() => receiver.close());
  const ns = await testNamespace(t);
  await startController(t, {
    namespaces: [ns],
    controllers: ['webapp'],
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SERVICE_NAME: 'codedance-test',
    },
  });
  const app: WebApp = {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'traced', namespace: ns },
    spec: { image: 'x:1' },
  };
  await admin.create(WebAppKind, app);

  const steps = [
    'webapp.build',
    'webapp.apply ConfigMap',
    'webapp.apply Deployment',
    'webapp.apply Service',
    'webapp.release',
    'webapp.status',
  ];
  // A parent ends (and is exported) after its children: wait until every step's reconcile arrived too.
  const reconciles = () =>
    new Map(receiver.spans.filter((s) => s.name === 'webapp.reconcile').map((s) => [s.spanId, s]));
  await waitFor(
    () =>
      steps.every((name) => receiver.spans.some((s) => s.name === name)) &&
      receiver.spans
        .filter((s) => steps.includes(s.name))
        .every((s) => reconciles().has(s.parentSpanId ?? '')),
    {
      timeoutMs: 90_000,
      describe: `spans ${steps.join(', ')} under webapp.reconcile spans; got ${[...new Set(receiver.spans.map((s) => s.name))].join(', ')}`,
    },
  );
  assert.ok(receiver.paths.every((p) => p === '/v1/traces'));
  // Each step is a child of a reconcile span of this WebApp.
  const parents = reconciles();
  for (const step of receiver.spans.filter((s) => steps.includes(s.name))) {
    const parent = parents.get(step.parentSpanId ?? '');
    assert.ok(parent, `${step.name} has a webapp.reconcile parent`);
    assert.equal(parent.traceId, step.traceId);
    assert.equal(attribute(parent, 'k8s.namespace.name'), ns);
    assert.equal(attribute(parent, 'codedance.webapp.name'), 'traced');
  }

  await admin.delete(WebAppKind, ns, 'traced');
  await waitFor(() => receiver.spans.some((s) => s.name === 'webapp.cleanup'), {
    timeoutMs: 90_000,
    describe: 'a webapp.cleanup span',
  });
});
