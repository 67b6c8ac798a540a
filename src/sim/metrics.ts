/**
 * The data-plane metric families the simulator exports, and the per-service recorders
 * that count sampled requests into them.
 *
 * | family | metric | unit / buckets |
 * |---|---|---|
 * | Istio | `istio_requests_total`, `istio_request_duration_milliseconds` | ms; Istio's default buckets |
 * | ingress-nginx | `nginx_ingress_controller_requests`, `nginx_ingress_controller_response_duration_seconds` | s; ingress-nginx's default time buckets |
 * | plain | `http_requests_total`, `http_request_duration_seconds` | s; the usual client-library defaults |
 *
 * A service is counted in the family of its traffic provider (Istio, Nginx) and always
 * in the plain family; `families: 'all'` counts every service in all three.
 */
import type { TrafficProviderName } from '../api/canary-deployment.ts';
import { httpLabels, istioLabels, nginxLabels, type StatusCode } from './labels.ts';
import {
  counterFamily,
  histogramFamily,
  observe,
  type CounterFamily,
  type CounterSeries,
  type Family,
  type HistogramFamily,
  type HistogramSeries,
  type Labels,
} from './series.ts';
import type { SimTarget, Version } from './target.ts';

/** Istio's default `istio_request_duration_milliseconds` buckets. */
export const IstioBucketsMs = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];
/** ingress-nginx's default time buckets (Prometheus' DefBuckets), in seconds. */
export const DefaultBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type FamilyName = 'istio' | 'nginx' | 'http';

/** Which families count which services. */
export type FamilySelection = 'provider' | 'all';

interface FamilyPair {
  requests: CounterFamily;
  duration: HistogramFamily;
  /** Multiplier from milliseconds to the histogram's unit. */
  scale: number;
  labels: (target: SimTarget, version: Version, code: StatusCode) => Labels;
}

/** The metric families of one simulator. */
export interface DataPlaneMetrics {
  readonly families: readonly Family[];
  /** The recorder of one service, made (or remade, if its labels changed) as needed. */
  recorder(target: SimTarget): ServiceRecorder;
  /** Drops a service's series. */
  forget(key: string): void;
}

/** Counts one sampled request of a version; cheap enough to call once per request. */
export type RequestRecorder = (failed: boolean, latencyMs: number) => void;

export interface ServiceRecorder {
  version(version: Version): RequestRecorder;
}

/** Families that count services of `provider`. */
export function familiesFor(provider: TrafficProviderName, selection: FamilySelection): FamilyName[] {
  if (selection === 'all') return ['istio', 'nginx', 'http'];
  if (provider === 'Istio') return ['istio', 'http'];
  if (provider === 'Nginx') return ['nginx', 'http'];
  return ['http'];
}

/** Creates the families, empty. */
export function createDataPlaneMetrics(selection: FamilySelection = 'provider'): DataPlaneMetrics {
  const pairs: Record<FamilyName, FamilyPair> = {
    istio: {
      requests: counterFamily(
        'istio_requests_total',
        'Requests, as counted by the destination sidecar (simulated).',
      ),
      duration: histogramFamily(
        'istio_request_duration_milliseconds',
        'Request duration in milliseconds (simulated).',
        IstioBucketsMs,
      ),
      scale: 1,
      labels: istioLabels,
    },
    nginx: {
      requests: counterFamily(
        'nginx_ingress_controller_requests',
        'The total number of client requests (simulated).',
      ),
      duration: histogramFamily(
        'nginx_ingress_controller_response_duration_seconds',
        'The time spent on receiving the response from the upstream server (simulated).',
        DefaultBucketsSeconds,
      ),
      scale: 1 / 1000,
      labels: nginxLabels,
    },
    http: {
      requests: counterFamily(
        'http_requests_total',
        'HTTP requests served, by version and status (simulated).',
      ),
      duration: histogramFamily(
        'http_request_duration_seconds',
        'HTTP request duration in seconds (simulated).',
        DefaultBucketsSeconds,
      ),
      scale: 1 / 1000,
      labels: httpLabels,
    },
  };
  const all = Object.values(pairs);
  const recorders = new Map<string, { signature: string; recorder: ServiceRecorder }>();

  function forget(key: string): void {
    recorders.delete(key);
    for (const pair of all) {
      pair.requests.removeOwner(key);
      pair.duration.removeOwner(key);
    }
  }

  function build(target: SimTarget): ServiceRecorder {
    const chosen = familiesFor(target.provider, selection).map((name) => pairs[name]);
    const perVersion = new Map<Version, RequestRecorder>();
    return {
      version(version) {
        let record = perVersion.get(version);
        if (record) return record;
        // Both status codes' series are made together, so a version that has taken
        // traffic always has a 5xx series (at 0) and an error-rate query gets a number.
        const bySeries = (['200', '500'] as const).map((code) => ({
          counters: chosen.map((pair) =>
            pair.requests.series(target.key, pair.labels(target, version, code)),
          ),
          histograms: chosen.map((pair) => ({
            series: pair.duration.series(target.key, pair.labels(target, version, code)),
            bounds: pair.duration.bounds,
            scale: pair.scale,
          })),
        }));
        const [ok, failed] = bySeries as [SeriesSet, SeriesSet];
        record = (isFailure, latencyMs) => {
          const set = isFailure ? failed : ok;
          for (const counter of set.counters) counter.value += 1;
          for (const h of set.histograms) observe(h.series, h.bounds, latencyMs * h.scale);
        };
        perVersion.set(version, record);
        return record;
      },
    };
  }

  return {
    families: all.flatMap((pair) => [pair.requests, pair.duration]),
    recorder(target) {
      // Everything the labels are made of: when it changes the old series are dropped.
      const signature = [
        target.provider,
        target.target,
        target.canaryWorkload,
        target.service,
        target.nginx?.ingress,
        target.nginx?.canaryUpstream,
        target.versionLabels.stable,
        target.versionLabels.canary,
      ].join('|');
      const known = recorders.get(target.key);
      if (known?.signature === signature) return known.recorder;
      if (known) forget(target.key);
      const recorder = build(target);
      recorders.set(target.key, { signature, recorder });
      return recorder;
    },
    forget,
  };
}

interface SeriesSet {
  counters: CounterSeries[];
  histograms: { series: HistogramSeries; bounds: readonly number[]; scale: number }[];
}
