/** The ReleaseGroup controller's entry in the controller registry (`src/controllers.ts`). */
import type { ControllerEntry } from '../controllers.ts';
import { GroupControllerName, groupController } from './controller.ts';

export { groupController, GroupControllerName } from './controller.ts';

/** `--controllers fleet`. */
export const fleetEntry: ControllerEntry = {
  name: GroupControllerName,
  create: () => groupController(),
};
