/**
 * The WebApp controller's entry in the controller registry (`src/controllers.ts`).
 *
 * Creating it also sets up OpenTelemetry tracing for the process when an OTLP endpoint
 * is configured (an `otlpEndpoint` factory option from `--otlp-endpoint`, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT`; see `src/tracing/setup.ts`); without one, tracing stays
 * off and the SDK is never loaded.
 */
import type { ControllerEntry } from '../controllers.ts';
import { setupTracing } from '../tracing/setup.ts';
import { webappController } from './controller.ts';

export { webappController, WebAppFinalizer } from './controller.ts';

/** `--controllers webapp`. */
export const webappEntry: ControllerEntry = {
  name: 'webapp',
  async create(options) {
    // `--otlp-endpoint`, once the process passes it to factories; the environment otherwise.
    const endpoint =
      'otlpEndpoint' in options && typeof options.otlpEndpoint === 'string'
        ? options.otlpEndpoint
        : undefined;
    const tracing = await setupTracing({ endpoint });
    const { log } = options;
    if (tracing.enabled) log.info({ url: tracing.url }, 'tracing reconciles to OTLP/HTTP');
    return webappController();
  },
};
