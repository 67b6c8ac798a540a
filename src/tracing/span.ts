/**
 * Spans around units of work: `inSpan(name, attributes, fn)` runs `fn` inside a span
 * that is a child of the span active when it is called.
 *
 * Guarantees:
 * - while tracing is off (no exporter configured, see `setupTracing`), `inSpan` calls
 *   `fn` directly with a shared non-recording span: no allocation of spans or contexts,
 *   no async-context switch;
 * - a span ends when `fn` settles; a thrown error is recorded on the span (exception
 *   event, status ERROR with the message) and rethrown unchanged.
 */
import {
  INVALID_SPAN_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/** The span handed to `fn` while tracing is off: accepts attributes, records nothing. */
const idleSpan: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

let activeTracer: Tracer | undefined;

/** Installs (or, with undefined, removes) the tracer spans are made with; called by `setupTracing`. */
export function useTracer(tracer: Tracer | undefined): void {
  activeTracer = tracer;
}

/** True while spans are recorded and exported. */
export function tracingActive(): boolean {
  return activeTracer !== undefined;
}

/**
 * Runs `fn` in a span named `name` (low cardinality: `webapp.reconcile`, not the object's
 * name — put that in `attributes`).
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer;
  if (!tracer) return fn(idleSpan);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      throw err;
    } finally {
      span.end();
    }
  });
}
