/**
 * One-shot commands from the CLI: the annotation `deploy.codedance.io/command` holds
 * `<verb>:<unique id>`. The controller acts on a value once and records it in
 * `status.handledCommand`; writing the same verb again needs a new id, so a command is
 * never lost to, nor repeated by, a restart.
 */
import { CommandAnnotation, Commands, type CanaryDeployment, type Command } from '../api/canary-deployment.ts';
import type { CommandObservation } from './phases.ts';

/** The command in `value`, or undefined when it is not `<known verb>:<id>`. */
export function parseCommand(value: string | undefined): CommandObservation | undefined {
  if (!value) return undefined;
  const colon = value.indexOf(':');
  const verb = colon < 0 ? value : value.slice(0, colon);
  if (colon < 1 || colon === value.length - 1) return undefined;
  if (!(Commands as readonly string[]).includes(verb)) return undefined;
  return { verb: verb as Command, raw: value };
}

/** The command on a CanaryDeployment not yet acted on, if any. */
export function pendingCommand(cd: CanaryDeployment): CommandObservation | undefined {
  const command = parseCommand(cd.metadata.annotations?.[CommandAnnotation]);
  if (!command || command.raw === cd.status?.handledCommand) return undefined;
  return command;
}

/** The annotation value for a new command (`id` unique per command: time + random). */
export function commandValue(verb: Command, id: string): string {
  return `${verb}:${id}`;
}
