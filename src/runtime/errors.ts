/**
 * Error types of the runtime.
 *
 * Each module has one error class whose literal `kind` names the step that failed
 * (`InitialListFailed`, `AddFinalizer`, ...) and whose `cause` is the original error,
 * so callers switch on `kind` instead of parsing messages.
 */

/** Base of the runtime's errors: a literal `kind` naming the failed step, plus `cause`. */
export class RuntimeError<K extends string = string> extends Error {
  readonly kind: K;
  constructor(kind: K, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
    this.name = 'RuntimeError';
  }
}

/**
 * An error retrying cannot fix (typically a spec the schema could not reject).
 * Thrown from a reconcile, it is reported on the object as a condition and a Warning
 * Event, counted, and not retried: the next reconcile waits for a change.
 */
export class TerminalError extends Error {
  /** PascalCase reason for the condition and the Event. @default 'InvalidSpec' */
  readonly reason: string;
  /** Condition type set to False. @default the controller's error condition type ('Ready') */
  readonly conditionType: string | undefined;
  constructor(message: string, options: { reason?: string; conditionType?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TerminalError';
    this.reason = options.reason ?? 'InvalidSpec';
    this.conditionType = options.conditionType;
  }
}

/** True for a {@link TerminalError} (also across module copies, by name). */
export function isTerminal(err: unknown): err is TerminalError {
  return err instanceof TerminalError || (err instanceof Error && err.name === 'TerminalError');
}

/** The message of any thrown value (`String(value)` for one that is not an Error), without its causes. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The message of any thrown value, with its causes (`a: b: c`). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    // Wrappers often repeat their cause's message; print each text once.
    if (!parts.some((p) => p.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
