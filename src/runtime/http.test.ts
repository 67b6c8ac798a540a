import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpServer } from './http.ts';
import { createMetrics } from './metrics.ts';

test('healthz, readyz with checks, metrics, and mounted routes (longest prefix wins)', async () => {
  const metrics = createMetrics();
  let counts: Record<string, number> = { 'GET pods': 2 };
  metrics.addRequestCounts(() => counts);
  metrics.addQueue('canary', () => 7);
  let synced = false;
  const server = createHttpServer({
    port: 0,
    host: '127.0.0.1',
    registry: metrics.registry,
    readiness: [() => (synced ? undefined : 'caches not synced')],
  });
  server.addRoute('GET', '/api/', (_req, res) => res.end('api'));
  server.addRoute('*', '/api/releases', (req, res) => res.end(`releases ${req.method}`));
  const port = await server.listen();
  const get = async (path: string, method = 'GET') => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: res.status, text: await res.text() };
  };
  try {
    assert.equal((await get('/healthz')).status, 200);
    const notReady = await get('/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.text, /caches not synced/);
    synced = true;
    assert.equal((await get('/readyz')).status, 200);
    assert.equal((await get('/api/x')).text, 'api');
    assert.equal((await get('/api/releases/a', 'POST')).text, 'releases POST');
    assert.equal((await get('/nope')).status, 404);
    let text = (await get('/metrics')).text;
    assert.match(text, /codedance_api_requests_total\{verb="GET",resource="pods"\} 2/);
    assert.match(text, /codedance_queue_depth\{controller="canary"\} 7/);
    counts = { 'GET pods': 5 };
    text = (await get('/metrics')).text;
    assert.match(
      text,
      /codedance_api_requests_total\{verb="GET",resource="pods"\} 5/,
      'counts keep up with the source',
    );
  } finally {
    await server.close();
  }
});
