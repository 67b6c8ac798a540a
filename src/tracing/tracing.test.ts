import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setupTracing, tracesUrl } from './setup.ts';
import { inSpan, tracingActive } from './span.ts';
import { startOtlpReceiver } from './testing/otlp-receiver.ts';

/** A local receiver on a free port, closed when the test ends. */
async function receiver() {
  const r = await startOtlpReceiver();
  return { ...r, server: { close: () => void r.close() } };
}

test('tracesUrl: flag first, then the traces variable, then the shared one; off when disabled', () => {
  assert.equal(tracesUrl({ env: {} }), undefined);
  assert.equal(
    tracesUrl({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' } }),
    'http://c:4318/v1/traces',
  );
  assert.equal(
    tracesUrl({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' },
    }),
    'http://t/x',
  );
  assert.equal(
    tracesUrl({ endpoint: 'http://flag:4318', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' } }),
    'http://flag:4318/v1/traces',
  );
  assert.equal(tracesUrl({ endpoint: 'http://flag:4318', env: { OTEL_SDK_DISABLED: 'true' } }), undefined);
  assert.equal(
    tracesUrl({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: 'none' } }),
    undefined,
  );
});

test('without an endpoint tracing is off and inSpan just runs the function', async () => {
  const tracing = await setupTracing({ env: {} });
  assert.equal(tracing.enabled, false);
  assert.equal(tracingActive(), false);
  const result = await inSpan('webapp.reconcile', { a: 1 }, async (span) => {
    span.setAttribute('b', 2);
    assert.equal(span.isRecording(), false);
    return 42;
  });
  assert.equal(result, 42);
});

test('with an endpoint, nested spans reach a local OTLP/HTTP receiver with their parents and errors', async (t) => {
  const { server, endpoint, spans, paths } = await receiver();
  t.after(() => server.close());
  const tracing = await setupTracing({ endpoint, env: {}, serviceName: 'codedance-test' });
  t.after(() => tracing.shutdown());
  assert.equal(tracing.enabled, true);
  assert.equal(tracing.url, `${endpoint}/v1/traces`);

  await inSpan('webapp.reconcile', { 'k8s.namespace.name': 'ns1' }, async () => {
    await inSpan('webapp.build', {}, async () => undefined);
    await assert.rejects(
      inSpan('webapp.apply Deployment', {}, async () => {
        throw new Error('conflict');
      }),
      /conflict/,
    );
  });
  await tracing.flush();

  assert.ok(
    paths.every((p) => p === '/v1/traces'),
    `paths: ${paths.join(', ')}`,
  );
  const byName = new Map(spans.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), [
    'webapp.apply Deployment',
    'webapp.build',
    'webapp.reconcile',
  ]);
  const root = byName.get('webapp.reconcile')!;
  assert.ok(!root.parentSpanId, 'the reconcile span is a root');
  assert.equal(byName.get('webapp.build')!.parentSpanId, root.spanId);
  assert.equal(byName.get('webapp.apply Deployment')!.parentSpanId, root.spanId);
  assert.equal(byName.get('webapp.apply Deployment')!.status?.code, 2, 'status ERROR');
  assert.equal(byName.get('webapp.apply Deployment')!.status?.message, 'conflict');
  assert.deepEqual(root.attributes?.find((a) => a.key === 'k8s.namespace.name')?.value, {
    stringValue: 'ns1',
  });
});

test('setting up twice while on returns the same handle; after shutdown it starts anew', async (t) => {
  const { server, endpoint } = await receiver();
  t.after(() => server.close());
  const first = await setupTracing({ endpoint, env: {} });
  const second = await setupTracing({ endpoint: 'http://127.0.0.1:1', env: {} });
  assert.equal(second, first);
  await first.shutdown();
  assert.equal(tracingActive(), false);
  const third = await setupTracing({ endpoint, env: {} });
  assert.notEqual(third, first);
  assert.equal(tracingActive(), true);
  await third.shutdown();
});
