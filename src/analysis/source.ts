/**
 * A metric source: where an analysis reads its numbers. One interface, one file per
 * source (`./prometheus.ts`: the Prometheus HTTP API, which VictoriaMetrics, Thanos and
 * Mimir also serve), one registry line each in {@link metricSources}, and one
 * conformance suite every source passes against a real server
 * (`test/integration/analysis/metric-source.ts`).
 *
 * What a source promises (the suite checks it):
 * - `query` never throws: every failure is a {@link QueryError} value the decision engine
 *   weighs (./errors.ts says what each kind means);
 * - one number or an error: a scalar or a one-sample vector is a value (`+Inf` included);
 *   an empty vector or NaN is `no-data`; several samples or refused PromQL is `bad-query`;
 *   no answer is `unreachable` or `timeout`; an answer that is not the API is `http`;
 * - every query ends within its timeout.
 */
import type { QueryError } from './errors.ts';
import { createPrometheusClient, type PrometheusOptions } from './prometheus.ts';

/** The outcome of one query. */
export type QueryResult = { ok: true; value: number; warnings?: string[] } | { ok: false; error: QueryError };

/** Options of one query. */
export interface QueryOptions {
  time?: Date;
  signal?: AbortSignal;
  /** Budget of this query; @default the source's `timeoutMs`. */
  timeoutMs?: number;
}

/** A source of metric values for one address. */
export interface MetricSource {
  readonly address: string;
  /**
   * Runs `query` as an instant query at `time` (@default now, the server's clock),
   * within `timeoutMs` (@default the source's).
   */
  query(query: string, options?: QueryOptions): Promise<QueryResult>;
  /** Closes the source's own connection pool (not a dispatcher passed in). */
  close(): Promise<void>;
}

/** How to reach a source: its address, a default timeout, headers, a dispatcher. */
export type MetricSourceOptions = PrometheusOptions;

/** The sources, by name. Adding one is a file beside this one and a line here. */
export const metricSources = {
  Prometheus: createPrometheusClient,
} as const satisfies Record<string, (options: MetricSourceOptions) => MetricSource>;

/** A source's name. */
export type MetricSourceName = keyof typeof metricSources;

/** The source `name` for `options.address`. */
export function metricSource(name: MetricSourceName, options: MetricSourceOptions): MetricSource {
  return metricSources[name](options);
}
