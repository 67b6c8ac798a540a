/**
 * The controller process: informers, controllers, leader election, HTTP server.
 *
 * `codedance controller [flags]` (src/cli/main.ts) calls {@link run}; running this file
 * directly (`npx node src/main.ts ...`) does the same.
 *
 * Lifecycle: the HTTP server starts first (so /healthz answers while campaigning); with
 * leader election on, controllers start only once this process leads, and losing the
 * lease exits the process (code 1). The first SIGTERM/SIGINT drains running reconciles,
 * releases the lease and exits 0; a second one exits at once (code 130).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createKubeClient, type KubeClient } from './runtime/client.ts';
import { createLogger } from './runtime/logging.ts';
import { createMetrics } from './runtime/metrics.ts';
import { createHttpServer } from './runtime/http.ts';
import { createManager, type Manager } from './runtime/manager.ts';
import { createLeaderElector, resolveLeaderElectionTiming, type LeaderElector } from './runtime/leader-election.ts';
import { processIdentity } from './runtime/identity.ts';
import { describeError } from './runtime/errors.ts';
import { controllers as registry, type ControllerEntry } from './controllers.ts';
import { mountDashboard } from './dashboard/index.ts';
import { sendCommand } from './dashboard/commands.ts';

const usage = `usage: codedance controller [flags]

  --kubeconfig FILE        kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace NS           watch only this namespace (repeatable; default: all)
  --controllers a,b        controllers to run (default: all: ${registry.map((c) => c.name).join(', ') || 'none registered'})
  --leader-elect BOOL      campaign for the lease before running controllers (default true)
  --lease-name NAME        lease name (default codedance-controller)
  --lease-namespace NS     lease namespace (default: the first --namespace, else default)
  --lease-duration MS      (default 15000)   --renew-deadline MS (default 10000)   --retry-period MS (default 2000)
  --http-port N            /healthz /readyz /metrics port (default 8080; 0 = any free port)
  --log-level LEVEL        trace|debug|info|warn|error (default info)
  --prometheus-url URL     Prometheus for the analysis of releases
  --otlp-endpoint URL      OTLP/HTTP endpoint for reconcile traces (default: the OTEL_* environment)
  --watch-timeout S        server-side timeout of watch requests in seconds (default 300)
  --dashboard BOOL         serve the release dashboard at / on the HTTP port (default true)
`;

/** Product token of the controller's User-Agent (`codedance-controller/<version>`). */
export const ControllerUserAgentProduct = 'codedance-controller';

/** `codedance-controller/<package version>`, what the audit log shows for the controller's requests. */
export function controllerUserAgent(): string {
  let version = 'dev';
  try {
    version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // An unusual install without package.json: the product token alone still tells the controller apart.
  }
  return `${ControllerUserAgentProduct}/${version}`;
}

/** Options of the process, resolved from the flags. */
export interface ControllerProcessOptions {
  kubeconfig: string | undefined;
  namespaces: string[] | undefined;
  controllers: string[] | undefined;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  httpPort: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  prometheusUrl: string | undefined;
  otlpEndpoint: string | undefined;
  watchTimeoutSeconds: number | undefined;
  dashboard: boolean;
}

/** Parses the flags; throws a message for bad input. */
export function parseControllerArgs(args: string[]): ControllerProcessOptions | 'help' {
  // `--leader-elect` alone means true (parseArgs has no optional values).
  const normalized = args.map((a) => (a === '--leader-elect' ? '--leader-elect=true' : a));
  const { values } = parseArgs({
    args: normalized,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true, short: 'n' },
      controllers: { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-name': { type: 'string', default: 'codedance-controller' },
      'lease-namespace': { type: 'string' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'http-port': { type: 'string', default: '8080' },
      'log-level': { type: 'string', default: 'info' },
      'prometheus-url': { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'watch-timeout': { type: 'string' },
      dashboard: { type: 'string', default: 'true' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const number = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: expected a non-negative number, got '${value}'`);
    return n;
  };
  const leaderElect = values['leader-elect'];
  if (values.dashboard !== 'true' && values.dashboard !== 'false') throw new Error(`--dashboard: expected true or false, got '${values.dashboard}'`);
  if (leaderElect !== 'true' && leaderElect !== 'false') throw new Error(`--leader-elect: expected true or false, got '${leaderElect}'`);
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
  const logLevel = levels.find((l) => l === values['log-level']);
  if (!logLevel) throw new Error(`--log-level: expected one of ${levels.join(', ')}`);
  const namespaces = values.namespace?.length ? values.namespace : undefined;
  const timing = resolveLeaderElectionTiming({
    leaseDurationMs: number('lease-duration', values['lease-duration']),
    renewDeadlineMs: number('renew-deadline', values['renew-deadline']),
    retryPeriodMs: number('retry-period', values['retry-period']),
  });
  const names = values.controllers?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names ?? []) {
    if (!registry.some((c) => c.name === name)) {
      throw new Error(`--controllers: unknown controller '${name}' (known: ${registry.map((c) => c.name).join(', ') || 'none'})`);
    }
  }
  return {
    kubeconfig: values.kubeconfig,
    namespaces,
    controllers: names,
    leaderElect: leaderElect === 'true',
    leaseName: values['lease-name'],
    leaseNamespace: values['lease-namespace'] ?? namespaces?.[0] ?? 'default',
    ...timing,
    httpPort: number('http-port', values['http-port']) ?? 8080,
    logLevel,
    prometheusUrl: values['prometheus-url'],
    otlpEndpoint: values['otlp-endpoint'],
    watchTimeoutSeconds: number('watch-timeout', values['watch-timeout']),
    dashboard: values.dashboard === 'true',
  };
}

/** Runs the controller process until a signal or a lost lease; resolves to the exit code. */
export async function run(args: string[]): Promise<number> {
  let options: ControllerProcessOptions;
  try {
    const parsed = parseControllerArgs(args);
    if (parsed === 'help') {
      console.log(usage);
      return 0;
    }
    options = parsed;
  } catch (err) {
    console.error(`codedance controller: ${describeError(err)}\n\n${usage}`);
    return 2;
  }
  const identity = processIdentity();
  const log = createLogger({ level: options.logLevel, base: { identity } });
  const selected: ControllerEntry[] = options.controllers ? registry.filter((c) => options.controllers?.includes(c.name)) : registry;

  let client: KubeClient;
  let leaseClient: KubeClient;
  try {
    // The audit log and the API server's metrics tell the controller's requests apart by this.
    const userAgent = controllerUserAgent();
    client = await createKubeClient({ kubeconfigPath: options.kubeconfig, userAgent });
    // Lease calls get their own client: each request times out at half the renew deadline.
    leaseClient = await createKubeClient({ kubeconfigPath: options.kubeconfig, requestTimeoutMs: options.renewDeadlineMs / 2, userAgent });
  } catch (err) {
    log.fatal({ err }, `cannot load the kubeconfig: ${describeError(err)}`);
    return 1;
  }

  const metrics = createMetrics({ defaultMetrics: true });
  metrics.addRequestCounts(() => client.requestCounts());
  metrics.addRequestCounts(() => leaseClient.requestCounts());
  const http = createHttpServer({ port: options.httpPort, registry: metrics.registry, log });
  const manager: Manager = createManager({
    client,
    log,
    namespaces: options.namespaces,
    identity,
    metrics,
    watchTimeoutSeconds: options.watchTimeoutSeconds,
  });

  let elector: LeaderElector | undefined;
  http.addReadiness(() => {
    // A standby is ready (it is doing its job: waiting); a leader once its caches are synced.
    if (elector && !elector.isLeader()) return undefined;
    return manager.synced() ? undefined : 'caches not synced';
  });

  const dashboardAbort = new AbortController();
  if (options.dashboard) {
    mountDashboard({
      client,
      http,
      namespaces: options.namespaces,
      log: log.child({ component: 'dashboard' }),
      signal: dashboardAbort.signal,
      sendCommand: (namespace, name, command) => sendCommand(client, namespace, name, command),
    });
  }

  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  let stopping = false;
  const electionAbort = new AbortController();

  async function shutdown(code: number, why: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down: draining reconciles');
    try {
      // Keep renewing the lease while reconciles drain, so no other process acts meanwhile;
      // then stop campaigning and hand the lease over.
      await manager.stop();
      electionAbort.abort();
      dashboardAbort.abort();
      await elector?.release();
      await http.close();
      await client.close();
      await leaseClient.close();
    } catch (err) {
      log.warn({ err }, `shutdown: ${describeError(err)}`);
    }
    log.info('stopped');
    finish(code);
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    void shutdown(0, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  async function startControllers(): Promise<void> {
    if (stopping) return;
    try {
      for (const entry of selected) {
        manager.add(await entry.create({ client, log: log.child({ controller: entry.name }), namespaces: options.namespaces, prometheusUrl: options.prometheusUrl, otlpEndpoint: options.otlpEndpoint, identity, http }));
      }
      await manager.start();
    } catch (err) {
      log.fatal({ err }, `controllers failed to start: ${describeError(err)}`);
      await shutdown(1, 'start failed');
    }
  }

  try {
    const port = await http.listen();
    log.info({ port }, 'http listening');
  } catch (err) {
    log.fatal({ err }, `cannot listen on port ${options.httpPort}: ${describeError(err)}`);
    await shutdown(1, 'http failed');
    return finished.finally(() => removeSignalHandlers(onSignal));
  }
  log.info({ controllers: selected.map((c) => c.name), namespaces: options.namespaces ?? 'all', leaderElect: options.leaderElect }, 'controller process starting');

  if (options.leaderElect) {
    const lease = `${options.leaseNamespace}/${options.leaseName}`;
    elector = createLeaderElector({
      client: leaseClient,
      namespace: options.leaseNamespace,
      name: options.leaseName,
      identity,
      leaseDurationMs: options.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs,
      log,
      onStartedLeading: () => {
        metrics.leader.set({ lease }, 1);
        void startControllers();
      },
      onStoppedLeading: () => {
        metrics.leader.set({ lease }, 0);
        // Another process may lead already: stop acting at once, as controller-runtime does.
        log.fatal({ lease }, 'lost the lease: exiting');
        process.exit(1);
      },
      onNewLeader: (holder) => log.info({ lease, leader: holder }, 'leader seen'),
    });
    log.info({ lease }, 'campaigning for the lease');
    void elector.run(electionAbort.signal);
  } else {
    void startControllers();
  }

  return finished.finally(() => removeSignalHandlers(onSignal));
}

function removeSignalHandlers(handler: (signal: NodeJS.Signals) => void): void {
  process.off('SIGTERM', handler);
  process.off('SIGINT', handler);
}

// Also a script: `npx node src/main.ts --namespace demo`.
if (import.meta.main) process.exitCode = await run(process.argv.slice(2));
