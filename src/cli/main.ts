/**
 * The `codedance` command (also `kubectl codedance`): dispatches to one module per
 * command group. Each module exports `run(args): Promise<number>` (the exit code).
 *
 * Commands are imported only when chosen, and Node's compile cache keeps the
 * type-stripped, compiled modules between runs: stripping the TypeScript of every module
 * again on each start cost most of a CLI command's start-up time.
 */
import { enableCompileCache } from 'node:module';

enableCompileCache();

const commands: Record<
  string,
  { summary: string; load: () => Promise<{ run: (args: string[]) => Promise<number> }> }
> = {
  cluster: {
    summary: 'local control plane: up | down | status | kubeconfig',
    load: () => import('./cluster.ts'),
  },
  controller: {
    summary: 'run the controller (same as npm start -- --kubeconfig FILE)',
    load: () => import('../main.ts'),
  },
  dashboard: {
    summary: 'the release dashboard on 127.0.0.1, acting with your kubeconfig',
    load: () => import('./dashboard.ts'),
  },
  group: {
    summary: 'release groups (fleets): list | status | promote | pause | resume | abort',
    load: () => import('./group.ts'),
  },
  release: {
    summary: 'release every Deployment a selector matches as one group (CI), wait for the end',
    load: async () => ({ run: (await import('./group.ts')).runRelease }),
  },
  backtest: {
    summary: "replay a release's analysis on past Prometheus data; suggest thresholds",
    load: () => import('./backtest.ts'),
  },
};

/** Commands about one release live in ./release.ts; they share its argument handling. */
const releaseCommands = ['get', 'status', 'promote', 'pause', 'resume', 'abort', 'retry'];

function usage(): string {
  const lines = ['usage: codedance <command> [options]', ''];
  for (const [name, { summary }] of Object.entries(commands)) lines.push(`  ${name.padEnd(12)} ${summary}`);
  lines.push(`  ${releaseCommands.join(' | ')}   inspect and steer a CanaryDeployment (NAME -n NAMESPACE)`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (releaseCommands.includes(command)) {
    const release = await import('./release.ts');
    return release.run([command, ...rest]);
  }
  const entry = commands[command];
  if (!entry) {
    console.error(`codedance: unknown command '${command}'\n\n${usage()}`);
    return 2;
  }
  const module = await entry.load();
  return module.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
