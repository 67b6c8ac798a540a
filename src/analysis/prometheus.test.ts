import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createPrometheusClient, parseResponse } from './prometheus.ts';
import { startPrometheusStub, type StubAnswer } from './prometheus-server.test-support.ts';

async function withStub(
  answer: StubAnswer | ((q: string) => StubAnswer),
  run: (url: string) => Promise<void>,
  prefix = '',
) {
  const stub = await startPrometheusStub(typeof answer === 'function' ? answer : () => answer, prefix);
  try {
    await run(stub.url);
  } finally {
    await stub.close();
  }
}

test('a one-sample vector and a scalar are numbers', async () => {
  await withStub({ value: 99.5 }, async (url) => {
    const client = createPrometheusClient({ address: url });
    assert.deepEqual(await client.query('up'), { ok: true, value: 99.5 });
    await client.close();
  });
  await withStub({ value: 3, resultType: 'scalar' }, async (url) => {
    const client = createPrometheusClient({ address: url });
    assert.deepEqual(await client.query('scalar(up)'), { ok: true, value: 3 });
    await client.close();
  });
});

test('the query is POSTed form-encoded with the timeout as a server budget, under a path prefix, with headers', async () => {
  const stub = await startPrometheusStub(() => ({ value: 1 }), '/prom');
  const client = createPrometheusClient({
    address: `${stub.url}/`,
    timeoutMs: 1500,
    headers: { authorization: 'Bearer t' },
  });
  const promql = 'sum(rate(x{a="b & c"}[1m]))';
  assert.equal((await client.query(promql, { time: new Date(1_700_000_000_500) })).ok, true);
  const [received] = stub.received;
  assert.equal(received?.path, '/prom/api/v1/query');
  assert.equal(received?.form.get('query'), promql);
  assert.equal(received?.form.get('timeout'), '1500ms');
  assert.equal(received?.form.get('time'), '1700000000.500');
  assert.equal(received?.headers.authorization, 'Bearer t');
  await client.close();
  await stub.close();
});

test('empty vectors and NaN are no data; Inf is a value', async () => {
  const answers: Record<string, StubAnswer> = {
    empty: { empty: true },
    nan: { value: 'NaN' },
    inf: { value: '+Inf' },
  };
  await withStub(
    (q) => answers[q] ?? { empty: true },
    async (url) => {
      const client = createPrometheusClient({ address: url });
      const empty = await client.query('empty');
      assert.equal(!empty.ok && empty.error.kind, 'no-data');
      const nan = await client.query('nan');
      assert.equal(!nan.ok && nan.error.kind, 'no-data');
      assert.deepEqual(await client.query('inf'), { ok: true, value: Number.POSITIVE_INFINITY });
      await client.close();
    },
  );
});

test('several series is a bad query: it needs an aggregation', async () => {
  await withStub({ series: 3 }, async (url) => {
    const client = createPrometheusClient({ address: url });
    const r = await client.query('up');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.kind, 'bad-query');
      assert.match(r.error.message, /3 series/);
    }
    await client.close();
  });
});

test('API errors map to typed kinds', async () => {
  const answers: Record<string, StubAnswer> = {
    parse: { status: 400, errorType: 'bad_data', error: 'parse error at char 5' },
    exec: { status: 422, errorType: 'execution', error: 'many-to-many matching not allowed' },
    slow: { status: 503, errorType: 'timeout', error: 'query timed out in expression evaluation' },
    proxy: { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' },
    weird: { status: 200, body: 'hello' },
  };
  await withStub(
    (q) => answers[q] ?? { empty: true },
    async (url) => {
      const client = createPrometheusClient({ address: url });
      const kinds: Record<string, string | undefined> = {};
      for (const q of Object.keys(answers)) {
        const r = await client.query(q);
        kinds[q] = r.ok ? undefined : r.error.kind;
        if (q === 'parse' && !r.ok) {
          assert.equal(r.error.status, 400);
          assert.match(r.error.message, /bad_data: parse error/);
        }
      }
      assert.deepEqual(kinds, {
        parse: 'bad-query',
        exec: 'bad-query',
        slow: 'timeout',
        proxy: 'http',
        weird: 'http',
      });
      await client.close();
    },
  );
});

test('a wrong address (404) is an HTTP error', async () => {
  await withStub({ value: 1 }, async (url) => {
    const client = createPrometheusClient({ address: `${url}/nope` });
    const r = await client.query('up');
    assert.equal(!r.ok && r.error.kind, 'http');
    await client.close();
  });
});

test('nothing listening is unreachable', async () => {
  // Take a free port, then release it so the connection is refused.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const client = createPrometheusClient({ address: `http://127.0.0.1:${port}` });
  const r = await client.query('up');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.kind, 'unreachable');
    assert.match(r.error.message, /ECONNREFUSED/);
  }
  await client.close();
});

// The test-level timeout only guards against a hang; nothing asserts on speed.
test('a Prometheus that never answers is a timeout', { timeout: 20_000 }, async () => {
  await withStub({ hang: true }, async (url) => {
    const client = createPrometheusClient({ address: url, timeoutMs: 200 });
    const r = await client.query('up');
    assert.equal(!r.ok && r.error.kind, 'timeout');
    await client.close();
  });
});

test('a caller abort ends the query early', { timeout: 20_000 }, async () => {
  await withStub({ hang: true }, async (url) => {
    const client = createPrometheusClient({ address: url, timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = client.query('up', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const r = await pending;
    assert.equal(!r.ok && r.error.kind, 'unreachable');
    await client.close();
  });
});

test('parseResponse reads warnings and rejects unreadable samples', () => {
  const ok = parseResponse(
    200,
    JSON.stringify({
      status: 'success',
      warnings: ['w'],
      data: { resultType: 'vector', result: [{ metric: {}, value: [1, '2'] }] },
    }),
  );
  assert.deepEqual(ok, { ok: true, value: 2, warnings: ['w'] });
  const bad = parseResponse(
    200,
    JSON.stringify({
      status: 'success',
      data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'x'] }] },
    }),
  );
  assert.equal(!bad.ok && bad.error.kind, 'http');
  const matrix = parseResponse(
    200,
    JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }),
  );
  assert.equal(!matrix.ok && matrix.error.kind, 'bad-query');
});

test('answers are never quoted beyond a short, sanitised reason', () => {
  const html = parseResponse(502, '<html><body>Internal proxy secret: s3cr3t</body></html>');
  assert.ok(!html.ok);
  assert.equal(html.error.kind, 'http');
  assert.doesNotMatch(
    html.error.message,
    /s3cr3t|<html>/,
    'a body that is not the Prometheus API is described, not quoted',
  );
  const notApi = parseResponse(200, 'hello from somewhere else');
  assert.ok(!notApi.ok && !/hello/.test(notApi.error.message));
  const long = parseResponse(
    400,
    JSON.stringify({
      status: 'error',
      errorType: 'bad_data\n\u001b[31m',
      error: `parse error\r\n${'x'.repeat(5000)}\u0000`,
    }),
  );
  assert.ok(!long.ok);
  assert.equal(long.error.kind, 'bad-query');
  assert.ok(long.error.message.length <= 160, `short: ${long.error.message.length} characters`);
  assert.match(long.error.message, /^bad_data \[31m: parse error x+…$/);
  assert.doesNotMatch(long.error.message, /[\r\n\u0000\u001b]/, 'no control characters');
});

test('an answer larger than the cap is dropped unread', async (t) => {
  const stub = await startPrometheusStub(() => ({
    status: 200,
    body: `{"status":"success","data":{"resultType":"vector","result":[]},"pad":"${'x'.repeat(2 << 20)}"}`,
  }));
  t.after(() => stub.close());
  const client = createPrometheusClient({ address: stub.url, timeoutMs: 5000 });
  t.after(() => client.close());
  const r = await client.query('up');
  assert.ok(!r.ok);
  assert.equal(r.error.kind, 'http');
  assert.match(r.error.message, /larger than/);
});
