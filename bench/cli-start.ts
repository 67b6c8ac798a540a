/**
 * How fast the `codedance` command answers, as a person runs it: `bin/codedance get -A`
 * and `bin/codedance status NAME` against this run's cluster, wall time from the process
 * start to its exit (Node start, module loading, kubeconfig, one or two API requests,
 * output). The first run fills Node's compile cache and is reported on its own; the
 * median is over the runs after it, as a person who uses the command meets it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchEnv } from './env.ts';
import { repo } from './env.ts';
import { now, summarize, type Summary } from './stats.ts';

/** What one command measured. */
export interface CliCommandResult {
  command: string;
  /** The first run (cold compile cache), ms. */
  first: number;
  /** The runs after it. */
  runs: Summary;
}

export interface CliStartResult {
  commands: CliCommandResult[];
}

const bin = join(repo, 'bin', 'codedance');

function timeRun(args: string[], kubeconfig: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = now();
    const child = spawn(bin, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const elapsed = now() - started;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`codedance ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * Times `get -A` and `status NAME -n NS` (`release` must exist), `runs` times each after
 * one run that fills the compile cache.
 */
export async function benchCliStart(
  env: BenchEnv,
  release: { namespace: string; name: string },
  runs: number,
): Promise<CliStartResult> {
  const commands: [string, string[]][] = [
    ['get -A', ['get', '-A']],
    ['status NAME', ['status', release.name, '-n', release.namespace]],
  ];
  const results: CliCommandResult[] = [];
  for (const [command, args] of commands) {
    const first = await timeRun(args, env.state.kubeconfigPath);
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) samples.push(await timeRun(args, env.state.kubeconfigPath));
    results.push({ command, first, runs: summarize(samples) });
  }
  return { commands: results };
}
