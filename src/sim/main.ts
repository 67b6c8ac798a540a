/**
 * The simulator as a long-running process:
 *
 *   npx node src/sim/main.ts --kubeconfig FILE --port 9400 [--namespace NS ...]
 *       [--rps 50] [--tick-ms 1000] [--seed N] [--families provider|all]
 *       [--register [--state-dir DIR] [--register-name codedance-sim]]
 *
 * `--register` makes the local cluster's Prometheus scrape it (the dev cluster's unless
 * `--state-dir` names another cluster's state folder).
 * Runs until SIGINT or SIGTERM, then removes its scrape registration and exits.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { clusterStateDir, codedanceHome } from '../cluster/paths.ts';
import { startSimulator, type SimulatorOptions } from './simulator.ts';

const usage = `usage: npx node src/sim/main.ts [--kubeconfig FILE] [--port N] [--host ADDR] [--namespace NS ...]
  [--rps N] [--tick-ms N] [--seed N] [--families provider|all] [--register [--state-dir DIR] [--register-name NAME]]`;

function number(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min)
    throw new Error(`--${flag} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      rps: { type: 'string' },
      'tick-ms': { type: 'string' },
      seed: { type: 'string' },
      families: { type: 'string' },
      register: { type: 'boolean' },
      'state-dir': { type: 'string' },
      'register-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values.families !== undefined && values.families !== 'provider' && values.families !== 'all') {
    throw new Error(`--families must be 'provider' or 'all', got ${JSON.stringify(values.families)}`);
  }
  const logger = pino({ name: 'codedance-sim', level: process.env.LOG_LEVEL ?? 'info' });
  const options: SimulatorOptions = {
    kubeconfigPath: values.kubeconfig ?? process.env.KUBECONFIG,
    namespaces: values.namespace,
    host: values.host,
    port: number('port', values.port, 0),
    rps: number('rps', values.rps, 0),
    tickMs: number('tick-ms', values['tick-ms'], 50),
    seed: number('seed', values.seed, 0),
    families: values.families,
    scrapeTarget: values.register
      ? {
          stateDir: values['state-dir'] ?? clusterStateDir(codedanceHome()),
          name: values['register-name'] ?? 'codedance-sim',
        }
      : undefined,
    logger,
  };
  const simulator = await startSimulator(options);
  console.log(`simulator listening on ${simulator.url} (/metrics, /profiles, /targets)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: do not wait
    stopping = true;
    logger.info({ signal }, 'stopping');
    simulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`codedance-sim: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
  process.exit(1);
});
