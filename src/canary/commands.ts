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
import { CommandAnnotation, CommandAuthorSeparator, Commands, PausedByAnnotation, type Command } from '../api/names.ts';
import type { CommandObservation } from './phases.ts';

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

/** What a person can ask of a release (the CLI's verbs and the dashboard's buttons). */
export const SteerVerbs = ['promote', 'pause', 'resume', 'abort', 'retry'] as const;
export type SteerVerb = (typeof SteerVerbs)[number];

/** Why `verb` makes no sense for the release now, or undefined when it does. */
export function refusal(verb: string, cd: CanaryDeployment, full: boolean): string | undefined {
  const phase = cd.status?.phase;
  const finished = phase === 'Completed' || phase === 'Failed';
  const name = cd.metadata.name;
  const promoting = cd.status?.totalSteps !== undefined && (cd.status.currentStepIndex ?? 0) >= cd.status.totalSteps;
  switch (verb) {
    case 'promote':
      if (finished) return `release "${name}" is ${phase}: nothing to promote${phase === 'Failed' ? ' (codedance retry starts it again)' : ''}`;
      if (!full && promoting) return `release "${name}" is already being promoted`;
      return undefined;
    case 'pause':
      if (finished) return `release "${name}" is ${phase}: nothing to pause`;
      return undefined;
    case 'resume':
      if (finished) return `release "${name}" is ${phase}: nothing to resume`;
      if (!cd.spec.paused && phase !== 'Paused') return `release "${name}" is not paused (phase ${phase ?? 'Pending'})`;
      return undefined;
    case 'abort':
      if (finished) return `release "${name}" is already ${phase}`;
      if (promoting) return `release "${name}" is being promoted: the stable Deployment already takes ${cd.spec.canaryVersion}; there is nothing to roll back to`;
      return undefined;
    case 'retry':
      if (phase !== 'Failed') return `release "${name}" is ${phase ?? 'not started'}: only a Failed release can be retried`;
      return undefined;
  }
  return `unknown command ${verb}`;
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
    if (cd.spec.paused) return { kind: 'nothing-to-do', message: `release "${cd.metadata.name}" is already paused` };
    // A pause without an author removes an older one's name rather than credit them.
    return { kind: 'patch', patch: { metadata: { annotations: { [PausedByAnnotation]: by ?? null } }, spec: { paused: true } }, commandValue: undefined };
  }
  const command: Command = verb === 'promote' ? (full ? 'promote-full' : 'promote') : verb;
  const value = commandValue(command, `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`, by);
  const patch: SteerPatch = { metadata: { annotations: { [CommandAnnotation]: value } } };
  if (verb === 'resume' && cd.spec.paused) patch.spec = { paused: false };
  return { kind: 'patch', patch, commandValue: value };
}
