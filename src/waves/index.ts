/** The ReleasePlan controller's entry for the controller registry (`src/controllers.ts`). */
import type { ControllerEntry } from '../controllers.ts';
import { PlanControllerName, planController } from './controller.ts';

export { planController, PlanControllerName } from './controller.ts';

/** `--controllers waves`. */
export const wavesEntry: ControllerEntry = {
  name: PlanControllerName,
  create: () => planController(),
};
