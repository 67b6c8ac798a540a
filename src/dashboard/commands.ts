/**
 * Steering a release from the dashboard: the same rules and the same writes as the CLI
 * (`refusal` decides whether the command makes sense now; pause sets `spec.paused`,
 * the rest write the one-shot command annotation the controller acts on once).
 */
import { randomBytes } from 'node:crypto';
import { CommandAnnotation, type CanaryDeployment, type Command } from '../api/canary-deployment.ts';
import { commandValue } from '../canary/commands.ts';
import { refusal } from '../cli/release.ts';
import type { KubeClient } from '../runtime/client.ts';
import { CanaryDeployment as CanaryDeploymentKind } from '../runtime/kinds.ts';
import type { CommandOutcome, DashboardCommand } from './server.ts';

/** Sends `command` to the release `namespace/name`; refusals are outcomes, not errors. */
export async function sendCommand(client: KubeClient, namespace: string, name: string, command: DashboardCommand): Promise<CommandOutcome> {
  const release = await client.get<CanaryDeployment>(CanaryDeploymentKind, namespace, name);
  if (!release) return { ok: false, message: `release "${namespace}/${name}" not found` };
  const refused = refusal(command, release, false);
  if (refused) return { ok: false, message: refused };
  if (command === 'pause') {
    await client.patch(CanaryDeploymentKind, namespace, name, { spec: { paused: true } }, 'merge');
    return { ok: true, message: `pause sent to "${name}"` };
  }
  const value = commandValue(command as Command, `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
  const patch: { metadata: { annotations: Record<string, string> }; spec?: { paused: boolean } } = {
    metadata: { annotations: { [CommandAnnotation]: value } },
  };
  if (command === 'resume' && release.spec.paused) patch.spec = { paused: false };
  await client.patch(CanaryDeploymentKind, namespace, name, patch, 'merge');
  return { ok: true, message: `${command} sent to "${name}"` };
}
