/**
 * Turns OpenTelemetry tracing on when an OTLP endpoint is configured (seed 002), and
 * leaves it off otherwise.
 *
 * Where the endpoint comes from, first match wins:
 * 1. `options.endpoint` (the controller's `--otlp-endpoint` flag): a base URL, `/v1/traces`
 *    is appended, as for the variable below;
 * 2. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full traces URL, used as is;
 * 3. `OTEL_EXPORTER_OTLP_ENDPOINT`: a base URL, `/v1/traces` is appended.
 * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep tracing off regardless.
 *
 * Spans go out as OTLP/HTTP JSON through a batch processor. The SDK is imported only
 * when tracing is on, so a controller without an endpoint loads none of it.
 *
 * Caveat: the tracer provider and the async-context manager are process-global (the
 * OpenTelemetry API's); call `shutdown()` before setting up again in the same process.
 */
import { context, trace } from '@opentelemetry/api';
import { useTracer } from './span.ts';

/** Tracing settings; `undefined` means unset. */
export interface TracingOptions {
  /** OTLP/HTTP base URL, e.g. `http://otel-collector:4318`. @default from the environment (see above) */
  endpoint?: string;
  /** `service.name` of the spans. @default OTEL_SERVICE_NAME, else 'codedance' */
  serviceName?: string;
  /** `service.version` of the spans. @default unset */
  serviceVersion?: string;
  /** How long spans are batched before export, in milliseconds. @default OTEL_BSP_SCHEDULE_DELAY, else 5000 */
  exportDelayMs?: number;
  /** Environment to read; for tests. @default process.env */
  env?: Record<string, string | undefined>;
}

/** A handle on the tracing of the process. */
export interface Tracing {
  /** True when spans are exported. */
  readonly enabled: boolean;
  /** Where spans are sent (the full `/v1/traces` URL); undefined when off. */
  readonly url: string | undefined;
  /** Exports every finished span now. */
  flush(): Promise<void>;
  /** Exports what is left and turns tracing off. */
  shutdown(): Promise<void>;
}

const off: Tracing = { enabled: false, url: undefined, flush: async () => {}, shutdown: async () => {} };

/** Resolves the traces URL from options and environment; undefined when tracing stays off. */
export function tracesUrl(options: Pick<TracingOptions, 'endpoint' | 'env'> = {}): string | undefined {
  const env = options.env ?? process.env;
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER?.toLowerCase() === 'none')
    return undefined;
  const base = options.endpoint?.trim();
  if (base) return appendTracesPath(base);
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (full) return full;
  const shared = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return shared ? appendTracesPath(shared) : undefined;
}

/** The process's tracing while it is on; setting up again returns it. */
let current: Promise<Tracing> | undefined;

/**
 * Sets tracing up for the process; returns a handle that is a no-op when tracing is off.
 * Idempotent: while tracing is on, later calls return the same handle (their options are
 * ignored), so every controller factory may call it. Pending spans are exported when the
 * process runs out of work (`beforeExit`), e.g. after a drained shutdown.
 */
export function setupTracing(options: TracingOptions = {}): Promise<Tracing> {
  if (current) return current;
  const url = tracesUrl(options);
  if (!url) return Promise.resolve(off);
  const started = start(url, options);
  current = started;
  // A failed start (a broken SDK install) leaves tracing off and lets a later call retry.
  started.catch(() => {
    if (current === started) current = undefined;
  });
  return started;
}

async function start(url: string, options: TracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  // Loaded here, not at the top: without an endpoint the SDK stays out of the process.
  const [
    { TracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { AsyncLocalStorageContextManager },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/context-async-hooks'),
  ]);
  const attributes: Record<string, string> = {
    'service.name': options.serviceName ?? env.OTEL_SERVICE_NAME ?? 'codedance',
  };
  if (options.serviceVersion) attributes['service.version'] = options.serviceVersion;
  const provider = new TracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url }),
        scheduledDelayMillis: options.exportDelayMs ?? (Number(env.OTEL_BSP_SCHEDULE_DELAY) || 5000),
      }),
    ],
  });
  // Parent/child links between spans of one reconcile follow the async call chain.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  useTracer(provider.getTracer('codedance'));
  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopped ??= (async () => {
      process.off('beforeExit', onBeforeExit);
      useTracer(undefined);
      current = undefined;
      await provider.shutdown();
      trace.disable();
      context.disable();
    })());
  const onBeforeExit = (): void => void shutdown();
  process.on('beforeExit', onBeforeExit);
  return { enabled: true, url, flush: () => provider.forceFlush(), shutdown };
}

function appendTracesPath(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}
