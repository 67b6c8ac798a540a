/**
 * The conformance suite every metric source passes against a real server of its kind
 * (`testMetricSource({ name, address })`): the promises of src/analysis/source.ts, asked
 * of the server itself with queries whose answers PromQL fixes (`vector(1)`, an empty
 * selector, two labelled samples, a syntax error), plus an address nothing listens on
 * and one that is not the API. A new source is one call of this with its server.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { metricSource, type MetricSourceName, type QueryResult } from '../../../src/analysis/source.ts';

export interface MetricSourceFixture {
  name: MetricSourceName;
  /** The server it runs against, when another than the source's namesake (e.g. VictoriaMetrics for Prometheus). */
  server?: string;
  /** The base URL of a running server of this kind. */
  address: () => Promise<string>;
}

/** Asserts a value and returns it. */
function numberOf(result: QueryResult, query: string): number {
  assert.ok(result.ok, `${query}: ${result.ok ? '' : `${result.error.kind}: ${result.error.message}`}`);
  return result.value;
}

/** Asserts an error of `kind`. */
function errorOf(result: QueryResult, kind: string, query: string): void {
  assert.ok(!result.ok, `${query} gave a value: ${result.ok ? result.value : ''}`);
  assert.equal(result.error.kind, kind, `${query}: ${result.error.message}`);
}

/** Runs the suite for one source. */
export function testMetricSource(fixture: MetricSourceFixture): void {
  describe(`metric source ${fixture.name}${fixture.server ? ` against ${fixture.server}` : ''}`, () => {
    it('answers one number: a one-sample vector or a scalar, +Inf included', async () => {
      const source = metricSource(fixture.name, { address: await fixture.address() });
      try {
        assert.equal(numberOf(await source.query('vector(42)'), 'vector(42)'), 42);
        assert.equal(numberOf(await source.query('scalar(vector(0.5))'), 'scalar'), 0.5);
        assert.equal(numberOf(await source.query('vector(1) / 0'), '1/0'), Number.POSITIVE_INFINITY);
      } finally {
        await source.close();
      }
    });

    it('nothing to judge is no-data: an empty vector, NaN', async () => {
      const source = metricSource(fixture.name, { address: await fixture.address() });
      try {
        const empty = 'up{job="codedance-no-such-job"}';
        errorOf(await source.query(empty), 'no-data', empty);
        errorOf(await source.query('vector(0) / 0'), 'no-data', '0/0');
      } finally {
        await source.close();
      }
    });

    it('a query it cannot answer with one number is bad-query: refused PromQL, several samples', async () => {
      const source = metricSource(fixture.name, { address: await fixture.address() });
      try {
        errorOf(await source.query('sum(up) by ('), 'bad-query', 'syntax error');
        const two =
          'label_replace(vector(1), "n", "a", "", "") or label_replace(vector(2), "n", "b", "", "")';
        errorOf(await source.query(two), 'bad-query', 'two samples');
      } finally {
        await source.close();
      }
    });

    it('no server is unreachable, a server that is not the API is http, and neither throws', async () => {
      // A port that was just free: nothing listens on it.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      const nobody = metricSource(fixture.name, { address: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
      errorOf(await nobody.query('vector(1)'), 'unreachable', 'closed port');
      await nobody.close();

      const page = createServer((_req, res) =>
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html>not here</html>'),
      );
      await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
      try {
        const wrong = metricSource(fixture.name, {
          address: `http://127.0.0.1:${(page.address() as AddressInfo).port}`,
          timeoutMs: 2000,
        });
        errorOf(await wrong.query('vector(1)'), 'http', 'not the API');
        await wrong.close();
      } finally {
        await new Promise((resolve) => page.close(resolve));
      }
    });
  });
}
