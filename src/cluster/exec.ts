/**
 * Running a build tool to completion with its output in a log file.
 *
 * The last lines of output are kept, so a failure can say what went wrong without
 * sending the user to the log first.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Appends stdout and stderr here. */
  logPath: string;
  /** Called with each output line (stdout and stderr), e.g. to count compiled packages. */
  onLine?: (line: string) => void;
}

/** A command that exited non-zero; `tail` is its last lines of output. */
export class CommandError extends Error {
  readonly exitCode: number | null;
  readonly tail: string[];
  constructor(message: string, exitCode: number | null, tail: string[]) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
    this.tail = tail;
  }
}

/** Runs `command args` and resolves with its stdout; rejects with {@link CommandError} on failure. */
export function runCommand(command: string, args: string[], options: RunOptions): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const log = createWriteStream(options.logPath, { flags: 'a' });
    log.write(`\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    let stdout = '';
    const lineReader = (isStdout: boolean): ((chunk: Buffer) => void) => {
      let partial = '';
      return (chunk) => {
        const text = chunk.toString('utf8');
        log.write(text);
        if (isStdout) stdout += text;
        partial += text;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 30) tail.shift();
          options.onLine?.(line);
        }
      };
    };
    child.stdout.on('data', lineReader(true));
    child.stderr.on('data', lineReader(false));
    child.on('error', (err) => {
      log.end();
      reject(new CommandError(`could not run ${command}: ${err.message}`, null, tail));
    });
    child.on('close', (code) => {
      log.end();
      if (code === 0) resolvePromise(stdout);
      else {
        const lastLines = tail
          .filter((l) => l.trim())
          .slice(-15)
          .join('\n  ');
        reject(
          new CommandError(
            `${command} ${args.slice(0, 2).join(' ')} failed (exit ${code}); full log: ${options.logPath}\n  ${lastLines}`,
            code,
            tail,
          ),
        );
      }
    });
  });
}
