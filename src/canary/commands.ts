/**
 * One-shot commands from the CLI and the dashboard: the annotation
 * `deploy.codedance.io/command` holds `<verb>:<unique id>[;by=<username>]`. The
 * controller acts on a value once and records it in `status.handledCommand`; writing the
 * same verb again needs a new id, so a command is never lost to, nor repeated by, a
 * restart. The optional author is the person's name as the API server knows them; the
 * controller repeats it in its Events and history.
 */
import { randomBytes } from 'node:crypto';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import {
  CommandAnnotation,
  CommandAuthorSeparator,
  Commands,
  PausedByAnnotation,
  type Command,
} from '../api/names.ts';
import type { CommandObservation } from './model.ts';
import { isSteeringVerb, releaseState, steeringRefusal } from './steering.ts';

/** The command in `value`, or undefined when it is not `<known verb>:<id>[;by=<username>]`. */
export function parseCommand(value: string | undefined): CommandObservation | undefined {
  if (!value) return undefined;
  const author = value.indexOf(CommandAuthorSeparator);
  const command = author < 0 ? value : value.slice(0, author);
  const by = author < 0 ? undefined : value.slice(author + CommandAuthorSeparator.length);
  const colon = command.indexOf(':');
  const verb = colon < 0 ? command : command.slice(0, colon);
  if (colon < 1 || colon === command.length - 1) return undefined;
  if (!(Commands as readonly string[]).includes(verb)) return undefined;
  return by ? { verb: verb as Command, raw: value, by } : { verb: verb as Command, raw: value };
}

/** The command on a CanaryDeployment not yet acted on, if any. */
export function pendingCommand(cd: CanaryDeployment): CommandObservation | undefined {
  const command = parseCommand(cd.metadata.annotations?.[CommandAnnotation]);
  if (!command || command.raw === cd.status?.handledCommand) return undefined;
  return command;
}

/** The annotation value for a new command (`id` unique per command: time + random), with its author when known. */
export function commandValue(verb: Command, id: string, by?: string): string {
  return by ? `${verb}:${id}${CommandAuthorSeparator}${by}` : `${verb}:${id}`;
}

/** What a person can ask of a release (the CLI's verbs and the dashboard's buttons); `promote` with `full` asks for `promote-full`. */
export const SteerVerbs = ['promote', 'pause', 'resume', 'abort', 'retry'] as const;
export type SteerVerb = (typeof SteerVerbs)[number];

/** Why `verb` makes no sense for the release now (the steering table, ./steering.ts), or undefined when it does. */
export function refusal(verb: string, cd: CanaryDeployment, full: boolean): string | undefined {
  const asked = verb === 'promote' && full ? 'promote-full' : verb;
  if (!isSteeringVerb(asked)) return `unknown command ${verb}`;
  const why = steeringRefusal(asked, releaseState(cd.status, cd.spec.paused === true));
  return why === undefined ? undefined : `release "${cd.metadata.name}" ${why}`;
}

/** The write that asks the controller for `verb`, as a merge patch and what to wait for. */
export type SteerPlan =
  | { kind: 'refused'; message: string }
  | { kind: 'nothing-to-do'; message: string }
  /** `commandValue` is set for one-shot commands: the controller echoes it in status.handledCommand. */
  | { kind: 'patch'; patch: SteerPatch; commandValue: string | undefined };

export interface SteerPatch {
  /** `null` removes an annotation (merge patch). */
  metadata?: { annotations: Record<string, string | null> };
  spec?: { paused: boolean };
}

/**
 * Plans `verb` on `cd`: pause sets `spec.paused` (and `deploy.codedance.io/paused-by`);
 * the others write a one-shot command annotation with a unique id (and resume also clears
 * `spec.paused`). `by` is the person's username, written into the command so the
 * controller can say who.
 */
export function planSteer(cd: CanaryDeployment, verb: SteerVerb, full: boolean, by?: string): SteerPlan {
  const refused = refusal(verb, cd, full);
  if (refused) return { kind: 'refused', message: refused };
  if (verb === 'pause') {
    if (cd.spec.paused)
      return { kind: 'nothing-to-do', message: `release "${cd.metadata.name}" is already paused` };
    // A pause without an author removes an older one's name rather than credit them.
    return {
      kind: 'patch',
      patch: { metadata: { annotations: { [PausedByAnnotation]: by ?? null } }, spec: { paused: true } },
      commandValue: undefined,
    };
  }
  const command: Command = verb === 'promote' ? (full ? 'promote-full' : 'promote') : verb;
  const value = commandValue(command, `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`, by);
  const patch: SteerPatch = { metadata: { annotations: { [CommandAnnotation]: value } } };
  if (verb === 'resume' && cd.spec.paused) patch.spec = { paused: false };
  return { kind: 'patch', patch, commandValue: value };
}
