import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupTracing, tracesUrl } from './setup.ts';
import { inSpan, tracingActive } from './span.ts';

/** A span as the OTLP/HTTP JSON encoding carries it (only the fields asserted on). */
interface ExportedSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  status?: { code?: number; message?: string };
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/** A local OTLP/HTTP receiver: collects every span POSTed to /v1/traces. */
async function receiver(): Promise<{ server: Server; endpoint: string; spans: ExportedSpan[]; paths: string[] }> {
  const spans: ExportedSpan[] = [];
  const paths: string[] = [];
  const server = createServer(async (req, res) => {
    paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      resourceSpans?: { scopeSpans?: { spans?: ExportedSpan[] }[] }[];
    };
    for (const resource of body.resourceSpans ?? []) {
      for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []));
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, spans, paths };
}

test('tracesUrl: flag first, then the traces variable, then the shared one; off when disabled', () => {
  assert.equal(tracesUrl({ env: {} }), undefined);
  assert.equal(tracesUrl({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' } }), 'http://c:4318/v1/traces');
  assert.equal(
    tracesUrl({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' } }),
    'http://t/x',
  );
  assert.equal(tracesUrl({ endpoint: 'http://flag:4318', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' } }), 'http://flag:4318/v1/traces');
  assert.equal(tracesUrl({ endpoint: 'http://flag:4318', env: { OTEL_SDK_DISABLED: 'true' } }), undefined);
  assert.equal(tracesUrl({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_EXPORTER: 'none' } }), undefined);
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

  assert.ok(paths.every((p) => p === '/v1/traces'), `paths: ${paths.join(', ')}`);
  const byName = new Map(spans.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), ['webapp.apply Deployment', 'webapp.build', 'webapp.reconcile']);
  const root = byName.get('webapp.reconcile')!;
  assert.ok(!root.parentSpanId, 'the reconcile span is a root');
  assert.equal(byName.get('webapp.build')!.parentSpanId, root.spanId);
  assert.equal(byName.get('webapp.apply Deployment')!.parentSpanId, root.spanId);
  assert.equal(byName.get('webapp.apply Deployment')!.status?.code, 2, 'status ERROR');
  assert.equal(byName.get('webapp.apply Deployment')!.status?.message, 'conflict');
  assert.deepEqual(root.attributes?.find((a) => a.key === 'k8s.namespace.name')?.value, { stringValue: 'ns1' });
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
