/**
 * The CanaryDeployment controller's entry in the controller registry (`src/controllers.ts`).
 */
import type { ControllerEntry } from '../controllers.ts';
import { canaryController, CanaryControllerName } from './controller.ts';

export { canaryController, CanaryControllerName, CanaryFinalizer } from './controller.ts';

/** `--controllers canary`. */
export const canaryEntry: ControllerEntry = {
  name: CanaryControllerName,
  create({ prometheusUrl }) {
    return canaryController({ prometheusUrl });
  },
};
