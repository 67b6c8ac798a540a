/**
 * The CanaryDeployment controller's entry in the controller registry (`src/controllers.ts`):
 * `--prometheus-url` (and `--allowed-prometheus-url`) for analyses, notifications
 * through src/notify (failures logged, never holding a release up; internal URLs
 * refused unless `--allow-internal-notification-urls`).
 */
import type { ControllerEntry } from '../controllers.ts';
import type { SecretReader } from '../analysis/credentials.ts';
import { releaseNotifier } from '../notify/index.ts';
import { Secret } from '../runtime/kinds.ts';
import { canaryController, CanaryControllerName } from './controller.ts';
import { createGateRunner } from './gates.ts';

export {
  canaryController,
  CanaryControllerName,
  CanaryFinalizer,
  DEFAULT_RELEASE_WORKERS,
} from './controller.ts';

/** `--controllers canary`. */
export const canaryEntry: ControllerEntry = {
  name: CanaryControllerName,
  create({
    client,
    log,
    prometheusUrl,
    allowedPrometheusUrls,
    allowInternalNotificationUrls,
    releaseWorkers,
    registry,
    audit,
  }) {
    const notify = releaseNotifier(client, {
      allowInternal: allowInternalNotificationUrls ?? false,
      onReport: (report) => {
        const failed = report.deliveries.filter((d) => !d.ok);
        if (failed.length > 0 || report.problems.length > 0)
          log.warn(
            { release: report.release, event: report.event, failed, problems: report.problems },
            'notification not delivered',
          );
        else
          log.info(
            { release: report.release, event: report.event, receivers: report.deliveries.length },
            'notified',
          );
      },
    });
    // Prometheus credentials: one named Secret at a time, used only when opted in (src/analysis/credentials.ts).
    const readSecret: SecretReader = (namespace, name) => client.get(Secret, namespace, name);
    // Webhook gates: the notification URL policy and Secret opt-in apply (src/notify/gate.ts).
    const gates = createGateRunner({ client, allowInternal: allowInternalNotificationUrls ?? false });
    return canaryController({
      prometheusUrl,
      allowedPrometheusUrls,
      allowInternalNotificationUrls,
      notify,
      readSecret,
      gates,
      registry,
      audit,
      concurrency: releaseWorkers,
    });
  },
};
