/**
 * Why a metric could not be measured, as a value the decision engine can weigh.
 *
 * - `unreachable`: no answer (connection refused, DNS, reset);
 * - `timeout`: no answer within the query timeout;
 * - `http`: an answer that is not the Prometheus API (a proxy error, a 404 from a
 *   wrong address, a 5xx);
 * - `bad-query`: Prometheus refused or could not run the query (400/422: a broken
 *   custom PromQL, or a result that is not a single number);
 * - `no-data`: the query ran and found nothing to judge (empty vector, NaN: no
 *   requests reached the canary in the window).
 *
 * The first three mean "Prometheus is not usable" (never promote, roll back after
 * `analysis.unreachableTimeout`); the last two mean "inconclusive".
 */
export type QueryErrorKind = 'unreachable' | 'timeout' | 'bad-query' | 'no-data' | 'http';

export interface QueryError {
  kind: QueryErrorKind;
  message: string;
  /** HTTP status, when Prometheus (or something in front of it) answered. */
  status?: number;
}

/** Whether `error` means Prometheus itself could not be used, as opposed to a query without a verdict. */
export function isUnreachable(error: QueryError): boolean {
  return error.kind === 'unreachable' || error.kind === 'timeout' || error.kind === 'http';
}
