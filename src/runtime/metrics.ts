/**
 * The runtime's Prometheus metrics (prom-client), on a registry of their own so tests and
 * several managers in one process do not collide.
 */
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One informer cache as the metrics see it. */
export interface CacheReading {
  kind: string;
  /** Label selector ('' for every object). */
  selector: string;
  /** `full` or `metadata`. */
  shape: string;
  objects: number;
  /** JSON bytes of the objects held (the heap holds a small multiple). */
  bytes: number;
}

/** The metrics every part of the runtime reports to. */
export interface RuntimeMetrics {
  readonly registry: Registry;
  /** Reconciles by controller and result (`success`, `requeue`, `error`, `terminal`). */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  /** Failed reconciles by controller and error kind. */
  readonly reconcileErrors: Counter<'controller' | 'kind'>;
  readonly reconcileDuration: Histogram<'controller'>;
  /** Due key → its reconcile starting: how long keys wait for a worker, per controller. */
  readonly queueWait: Histogram<'controller'>;
  /** How long requests waited for the client-side rate limit (only those that waited). */
  readonly apiRateLimitWait: Histogram;
  /** Keys waiting per controller (set at scrape time from the queues). */
  readonly queueDepth: Gauge<'controller'>;
  /** Lists or watches given up and restarted, by kind and reason (`gone`, `error`, `stall`). */
  readonly watchRestarts: Counter<'kind' | 'reason'>;
  /** 1 while this process holds the lease. */
  readonly leader: Gauge<'lease'>;
  /** Registers a source of queue depths, read at scrape time. */
  addQueue(controller: string, depth: () => number): void;
  /** Registers a source of API request counts (e.g. `client.requestCounts`), read at scrape time. */
  addRequestCounts(counts: () => Record<string, number>): void;
  /** Registers a source of informer cache sizes (`codedance_cache_objects`, `codedance_cache_bytes`), read at scrape time. */
  addCaches(caches: () => CacheReading[]): void;
}

/** Metric settings. */
export interface MetricsOptions {
  /** Also export the process metrics (CPU, memory, event loop). @default false */
  defaultMetrics?: boolean;
}

/** How often the event loop's delay is sampled for `nodejs_eventloop_lag_*`, ms. */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** Creates the runtime metrics on a new registry. */
export function createMetrics(options: MetricsOptions = {}): RuntimeMetrics {
  const registry = new Registry();
  // The event loop is sampled once a second, not prom-client's every 10 ms: that timer alone
  // cost an idle controller 0.13 CPU-seconds a minute, and a stall long enough to matter
  // still shows at this resolution.
  if (options.defaultMetrics)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const queues = new Map<string, () => number>();
  const countSources: (() => Record<string, number>)[] = [];
  const reported = new Map<string, number>();
  const cacheSources: (() => CacheReading[])[] = [];
  const readCaches = (): CacheReading[] => cacheSources.flatMap((source) => source());
  const cacheGauges = [
    {
      name: 'codedance_cache_objects',
      help: 'Objects held per informer cache (kind, label selector, shape full|metadata).',
      value: (c: CacheReading) => c.objects,
    },
    {
      name: 'codedance_cache_bytes',
      help: 'JSON bytes of the objects held per informer cache; the heap holds roughly 2-4 times this.',
      value: (c: CacheReading) => c.bytes,
    },
  ];
  for (const { name, help, value } of cacheGauges) {
    new Gauge({
      name,
      help,
      labelNames: ['kind', 'selector', 'shape'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of readCaches())
          this.set({ kind: c.kind, selector: c.selector, shape: c.shape }, value(c));
      },
    });
  }
  new Gauge({
    name: 'codedance_heap_limit_bytes',
    help: "V8's heap size limit (--max-old-space-size and the container's memory): the used heap must stay well below it.",
    registers: [registry],
    collect() {
      this.set(getHeapStatistics().heap_size_limit);
    },
  });

  const queueDepth = new Gauge({
    name: 'codedance_queue_depth',
    help: 'Keys waiting in a controller work queue.',
    labelNames: ['controller'] as const,
    registers: [registry],
    collect() {
      for (const [controller, depth] of queues) this.set({ controller }, depth());
    },
  });
  new Counter({
    name: 'codedance_api_requests_total',
    help: 'Requests sent to the Kubernetes API server, by verb and resource.',
    labelNames: ['verb', 'resource'] as const,
    registers: [registry],
    collect() {
      const totals: Record<string, number> = {};
      for (const source of countSources)
        for (const [key, n] of Object.entries(source())) totals[key] = (totals[key] ?? 0) + n;
      for (const [key, total] of Object.entries(totals)) {
        // Counters only go up: report the growth since the last scrape.
        const delta = total - (reported.get(key) ?? 0);
        if (delta <= 0) continue;
        reported.set(key, total);
        const space = key.indexOf(' ');
        this.inc({ verb: key.slice(0, space), resource: key.slice(space + 1) }, delta);
      }
    },
  });
  return {
    registry,
    reconcileTotal: new Counter({
      name: 'codedance_reconcile_total',
      help: 'Reconciles run, by controller and result.',
      labelNames: ['controller', 'result'] as const,
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'codedance_reconcile_errors_total',
      help: 'Reconciles that failed, by controller and error kind.',
      labelNames: ['controller', 'kind'] as const,
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'codedance_reconcile_duration_seconds',
      help: 'Time spent in one reconcile.',
      labelNames: ['controller'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueWait: new Histogram({
      name: 'codedance_queue_wait_seconds',
      help: 'Time a due key waited for a worker before its reconcile started (past a requeue deadline, it is how late the reconcile ran).',
      labelNames: ['controller'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    apiRateLimitWait: new Histogram({
      name: 'codedance_api_rate_limit_wait_seconds',
      help: 'Time a request waited for the client-side rate limit (--kube-api-qps, --kube-api-burst); requests that did not wait are not counted.',
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth,
    watchRestarts: new Counter({
      name: 'codedance_watch_restarts_total',
      help: 'Lists or watches restarted, by kind and reason.',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'codedance_leader',
      help: '1 while this process holds the leader lease.',
      labelNames: ['lease'] as const,
      registers: [registry],
    }),
    addQueue(controller, depth) {
      queues.set(controller, depth);
    },
    addRequestCounts(counts) {
      countSources.push(counts);
    },
    addCaches(caches) {
      cacheSources.push(caches);
    },
  };
}
