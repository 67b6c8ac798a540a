/**
 * Steering a release from the dashboard: the same rules and the same writes as the CLI
 * (`planSteer`): pause sets `spec.paused`, the rest write the one-shot command
 * annotation the controller acts on once.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { planSteer } from '../canary/commands.ts';
import type { KubeClient } from '../runtime/client.ts';
import { CanaryDeployment as CanaryDeploymentKind } from '../runtime/kinds.ts';
import type { CommandOutcome, DashboardCommand } from './server.ts';

/** Sends `command` to the release `namespace/name`; refusals are outcomes, not errors. */
export async function sendCommand(client: KubeClient, namespace: string, name: string, command: DashboardCommand): Promise<CommandOutcome> {
  const release = await client.get<CanaryDeployment>(CanaryDeploymentKind, namespace, name);
  if (!release) return { ok: false, message: `release "${namespace}/${name}" not found` };
  const plan = planSteer(release, command, false);
  if (plan.kind === 'refused') return { ok: false, message: plan.message };
  if (plan.kind === 'nothing-to-do') return { ok: true, message: plan.message };
  await client.patch(CanaryDeploymentKind, namespace, name, plan.patch, 'merge');
  return { ok: true, message: `${command} sent to "${name}"` };
}
