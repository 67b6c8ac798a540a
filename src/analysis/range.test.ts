import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRange, queryRange } from './range.ts';

const matrix = (result: unknown[]): string =>
  JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });

test('a one-series matrix becomes points in ms; NaN is a gap, +Inf a value', () => {
  const answer = parseRange(
    200,
    matrix([
      {
        metric: {},
        values: [
          [1700000000, '99.5'],
          [1700000001.5, 'NaN'],
          [1700000003, '+Inf'],
        ],
      },
    ]),
  );
  assert.deepEqual(answer, {
    ok: true,
    points: [
      [1700000000000, 99.5],
      [1700000003000, Infinity],
    ],
  });
});

test('no series is no points; several series, an error or a foreign answer are refused with a reason', () => {
  assert.deepEqual(parseRange(200, matrix([])), { ok: true, points: [] });
  const several = parseRange(200, matrix([{ values: [] }, { values: [] }]));
  assert.equal(several.ok, false);
  assert.match(!several.ok ? several.message : '', /2 series; aggregate/);
  const bad = parseRange(
    400,
    JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }),
  );
  assert.match(!bad.ok ? bad.message : '', /^bad_data: parse error/);
  const html = parseRange(502, '<html>proxy</html>');
  assert.match(!html.ok ? html.message : '', /HTTP 502: not a Prometheus range answer/);
});

test('a Prometheus that does not answer is marked unreachable; one that refuses the query is not', async () => {
  const { createServer } = await import('node:net');
  // A port that was just free: nothing listens there, the connection is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const down = await queryRange({
    address: `http://127.0.0.1:${port}`,
    promql: 'up',
    start: 0,
    end: 60_000,
    stepSeconds: 15,
  });
  assert.equal(down.ok, false);
  assert.equal(!down.ok && down.unreachable, true);
  assert.match(!down.ok ? down.message : '', /Prometheus unreachable: ECONNREFUSED/);
  const refused = parseRange(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'x' }));
  assert.equal(!refused.ok && refused.unreachable, undefined);
});
