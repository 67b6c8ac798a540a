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
import {
  createKubeClient,
  DEFAULT_KUBE_API_BURST,
  DEFAULT_KUBE_API_QPS,
  loadKubeConfig,
  type KubeClient,
  type ResolvedKubeConfig,
} from './runtime/client.ts';
import { normalizePrometheusUrl, prometheusAllowList } from './analysis/allowed.ts';
import { createLogger } from './runtime/logging.ts';
import { createMetrics } from './runtime/metrics.ts';
import { createHttpServer } from './runtime/http.ts';
import { createManager, type Manager } from './runtime/manager.ts';
import {
  createLeaderElector,
  resolveLeaderElectionTiming,
  type LeaderElector,
} from './runtime/leader-election.ts';
import { processIdentity } from './runtime/identity.ts';
import { describeError } from './runtime/errors.ts';
import { controllers as registry, type ControllerEntry } from './controllers.ts';
import type { DashboardServer } from './dashboard/index.ts';
import { createAuditSink, parseAuditSink, type AuditSinkSpec } from './audit/sink.ts';
import { createAuditTrail, type AuditTrail } from './audit/trail.ts';
import { registerAuditMetrics } from './audit/metrics.ts';
import { DEFAULT_RELEASE_WORKERS } from './canary/index.ts';

const usage = `usage: codedance controller [flags]

  --kubeconfig FILE        kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
  --namespace NS           watch only this namespace (repeatable; default: all)
  --controllers a,b        controllers to run (default: all: ${registry.map((c) => c.name).join(', ') || 'none registered'})
  --leader-elect BOOL      campaign for the lease before running controllers (default true)
  --lease-name NAME        lease name (default codedance-controller)
  --lease-namespace NS     lease namespace (default: the first --namespace, else default)
  --lease-duration MS      (default 15000)   --renew-deadline MS (default 10000)   --retry-period MS (default 2000)
  --http-port N            /healthz /readyz /metrics port (default 8080; 0 = any free port)
  --bind-address ADDR      address of every listener (default 127.0.0.1; 0.0.0.0 in a Pod, so probes reach it)
  --log-level LEVEL        trace|debug|info|warn|error (default info)
  --prometheus-url URL     Prometheus for the analysis of releases (always allowed)
  --allowed-prometheus-url URL
                           another Prometheus releases may name in metrics.provider.address
                           (repeatable; exact match after normalising case, default port and
                           trailing '/'; default: none, so only --prometheus-url). A release
                           naming any other address is refused: condition Accepted=False,
                           a Warning Event, no traffic to its canary, never promoted
  --allow-internal-notification-urls [BOOL]
                           let notification URLs reach cluster-internal hosts: loopback,
                           link-local, private ranges, single-label, *.svc, *.cluster.local,
                           *.local, *.internal names (default false: refused)
  --kube-api-qps N         API requests per second on average (default ${DEFAULT_KUBE_API_QPS}; 0 = no limit)
  --kube-api-burst N       API requests at once above that average (default ${DEFAULT_KUBE_API_BURST})
  --release-workers N      CanaryDeployment reconciles at once (default ${DEFAULT_RELEASE_WORKERS}); they wait on the
                           API server, not the CPU: raise it when codedance_queue_wait_seconds grows
  --otlp-endpoint URL      OTLP/HTTP endpoint for reconcile traces (default: the OTEL_* environment)
  --watch-timeout S        server-side timeout of watch requests in seconds (default 300)
  --dashboard BOOL         serve the release dashboard on its own port (default false)
  --dashboard-port N       the dashboard's port (default 8081; giving it turns the dashboard on). Every
                           request needs a bearer token (TokenReview); the person sees and steers only
                           what RBAC lets them (SubjectAccessReview), and writes with their own token.
                           Needs ClusterRole codedance-dashboard (deploy/dashboard.yaml)
  --dashboard-tls-cert FILE, --dashboard-tls-key FILE   serve the dashboard over HTTPS (PEM files)
  --audit-sink SINK        write the audit trail (every transition, analysis and command, with who
                           gave it; docs/audit.md) to stdout | file:<path> | webhook:<url> |
                           cloudevents:<url>; at least once, ids stable across re-deliveries
                           (default: none)
`;

/** Product token of the controller's User-Agent (`codedance-controller/<version>`). */
export const ControllerUserAgentProduct = 'codedance-controller';

/** `codedance-controller/<package version>`, what the audit log shows for the controller's requests. */
export function controllerUserAgent(): string {
  let version = 'dev';
  try {
    version =
      (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string })
        .version ?? version;
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
  bindAddress: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  prometheusUrl: string | undefined;
  /** `--allowed-prometheus-url` (repeatable). */
  allowedPrometheusUrls: string[];
  allowInternalNotificationUrls: boolean;
  kubeApiQps: number;
  kubeApiBurst: number;
  /** `--release-workers`: CanaryDeployment reconciles at once. */
  releaseWorkers: number;
  otlpEndpoint: string | undefined;
  watchTimeoutSeconds: number | undefined;
  /** The dashboard's port, or undefined when it is off. */
  dashboardPort: number | undefined;
  /** PEM files the dashboard serves HTTPS with; undefined for plain HTTP. */
  dashboardTls: { certFile: string; keyFile: string } | undefined;
  /** `--audit-sink`, parsed; undefined: no audit trail. */
  auditSink?: AuditSinkSpec | undefined;
}

/** Port of the in-cluster dashboard when `--dashboard true` names none. */
export const DEFAULT_DASHBOARD_PORT = 8081;

/** Parses the flags; throws a message for bad input. */
export function parseControllerArgs(args: string[]): ControllerProcessOptions | 'help' {
  // `--leader-elect` alone means true (parseArgs has no optional values); the same for the other switches.
  const switches = ['--leader-elect', '--allow-internal-notification-urls'];
  const normalized = args.map((a, i) =>
    switches.includes(a) && !/^(true|false)$/.test(args[i + 1] ?? '') ? `${a}=true` : a,
  );
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
      'bind-address': { type: 'string', default: '127.0.0.1' },
      'dashboard-port': { type: 'string' },
      'dashboard-tls-cert': { type: 'string' },
      'dashboard-tls-key': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'prometheus-url': { type: 'string' },
      'allowed-prometheus-url': { type: 'string', multiple: true },
      'allow-internal-notification-urls': { type: 'string', default: 'false' },
      'kube-api-qps': { type: 'string' },
      'kube-api-burst': { type: 'string' },
      'release-workers': { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      'watch-timeout': { type: 'string' },
      dashboard: { type: 'string' },
      'audit-sink': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const number = (flag: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`--${flag}: expected a non-negative number, got '${value}'`);
    return n;
  };
  const leaderElect = values['leader-elect'];
  if (values.dashboard !== undefined && values.dashboard !== 'true' && values.dashboard !== 'false') {
    throw new Error(`--dashboard: expected true or false, got '${values.dashboard}'`);
  }
  const dashboardPort = number('dashboard-port', values['dashboard-port']);
  if (values.dashboard === 'false' && dashboardPort !== undefined)
    throw new Error('--dashboard false contradicts --dashboard-port');
  const httpPort = number('http-port', values['http-port']) ?? 8080;
  const dashboardOn = values.dashboard === 'true' || dashboardPort !== undefined;
  const certFile = values['dashboard-tls-cert'];
  const keyFile = values['dashboard-tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new Error('--dashboard-tls-cert and --dashboard-tls-key go together');
  if (certFile && !dashboardOn)
    throw new Error('--dashboard-tls-cert: the dashboard is off (give --dashboard-port or --dashboard true)');
  if (dashboardOn && dashboardPort !== 0 && (dashboardPort ?? DEFAULT_DASHBOARD_PORT) === httpPort) {
    throw new Error(
      `--dashboard-port: must differ from --http-port (${httpPort}): the dashboard is served apart from /metrics and the probes`,
    );
  }
  if (leaderElect !== 'true' && leaderElect !== 'false')
    throw new Error(`--leader-elect: expected true or false, got '${leaderElect}'`);
  const allowInternal = values['allow-internal-notification-urls'];
  if (allowInternal !== 'true' && allowInternal !== 'false')
    throw new Error(`--allow-internal-notification-urls: expected true or false, got '${allowInternal}'`);
  for (const [flag, urls] of [
    ['prometheus-url', values['prometheus-url'] === undefined ? [] : [values['prometheus-url']]],
    ['allowed-prometheus-url', values['allowed-prometheus-url'] ?? []],
  ] as const) {
    for (const url of urls) {
      if (normalizePrometheusUrl(url) === undefined)
        throw new Error(`--${flag}: expected an http(s) URL without query or fragment, got '${url}'`);
    }
  }
  const burst = number('kube-api-burst', values['kube-api-burst']);
  if (burst !== undefined && burst < 1) throw new Error('--kube-api-burst: expected at least 1');
  const workers = number('release-workers', values['release-workers']);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1))
    throw new Error(
      `--release-workers: expected a whole number of at least 1, got '${values['release-workers']}'`,
    );
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
  const logLevel = levels.find((l) => l === values['log-level']);
  if (!logLevel) throw new Error(`--log-level: expected one of ${levels.join(', ')}`);
  const namespaces = values.namespace?.length ? values.namespace : undefined;
  const timing = resolveLeaderElectionTiming({
    leaseDurationMs: number('lease-duration', values['lease-duration']),
    renewDeadlineMs: number('renew-deadline', values['renew-deadline']),
    retryPeriodMs: number('retry-period', values['retry-period']),
  });
  const names = values.controllers
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names ?? []) {
    if (!registry.some((c) => c.name === name)) {
      throw new Error(
        `--controllers: unknown controller '${name}' (known: ${registry.map((c) => c.name).join(', ') || 'none'})`,
      );
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
    httpPort,
    bindAddress: values['bind-address'],
    logLevel,
    prometheusUrl: values['prometheus-url'],
    allowedPrometheusUrls: values['allowed-prometheus-url'] ?? [],
    allowInternalNotificationUrls: allowInternal === 'true',
    kubeApiQps: number('kube-api-qps', values['kube-api-qps']) ?? DEFAULT_KUBE_API_QPS,
    kubeApiBurst: burst ?? DEFAULT_KUBE_API_BURST,
    releaseWorkers: workers ?? DEFAULT_RELEASE_WORKERS,
    otlpEndpoint: values['otlp-endpoint'],
    watchTimeoutSeconds: number('watch-timeout', values['watch-timeout']),
    dashboardPort: dashboardOn ? (dashboardPort ?? DEFAULT_DASHBOARD_PORT) : undefined,
    dashboardTls: certFile && keyFile ? { certFile, keyFile } : undefined,
    auditSink: values['audit-sink'] === undefined ? undefined : parseAuditSink(values['audit-sink']),
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
  const selected: ControllerEntry[] = options.controllers
    ? registry.filter((c) => options.controllers?.includes(c.name))
    : registry;

  let client: KubeClient;
  let leaseClient: KubeClient;
  let kubeConfig: ResolvedKubeConfig;
  // Made before the clients: their rate limiter reports its waits here.
  const metrics = createMetrics({ defaultMetrics: true });
  try {
    kubeConfig = loadKubeConfig({ path: options.kubeconfig });
    const rate = {
      qps: options.kubeApiQps,
      burst: options.kubeApiBurst,
      // As client-go does: a wait long enough to notice is worth a line.
      onThrottle: (waitedMs: number, request: string) => {
        metrics.apiRateLimitWait.observe(waitedMs / 1000);
        if (waitedMs >= 1000)
          log.info(
            { waitedMs, request },
            'waited for the client-side rate limit (--kube-api-qps, --kube-api-burst)',
          );
      },
      // The audit log and the API server's metrics tell the controller's requests apart by this.
      userAgent: controllerUserAgent(),
    };
    client = await createKubeClient({ kubeConfig, ...rate });
    // Lease calls get their own client (and rate budget, so renewals never queue behind
    // reconciles): each request times out at half the renew deadline.
    leaseClient = await createKubeClient({
      kubeConfig,
      requestTimeoutMs: options.renewDeadlineMs / 2,
      ...rate,
    });
  } catch (err) {
    log.fatal({ err }, `cannot load the kubeconfig: ${describeError(err)}`);
    return 1;
  }

  const audit: AuditTrail | undefined = options.auditSink
    ? createAuditTrail({
        sink: createAuditSink(options.auditSink),
        log: log.child({ component: 'audit' }),
      })
    : undefined;

  if (audit) registerAuditMetrics(metrics.registry, audit);
  metrics.addRequestCounts(() => client.requestCounts());
  metrics.addRequestCounts(() => leaseClient.requestCounts());
  const http = createHttpServer({
    port: options.httpPort,
    host: options.bindAddress,
    registry: metrics.registry,
    log,
  });
  const manager: Manager = createManager({
    client,
    log,
    namespaces: options.namespaces,
    identity,
    metrics,
    watchTimeoutSeconds: options.watchTimeoutSeconds,
  });
  metrics.addCaches(() =>
    manager.caches().map((c) => ({
      kind: c.kind.kind,
      selector: c.labelSelector,
      shape: c.shape,
      objects: c.store.size(),
      bytes: c.store.bytes(),
    })),
  );

  let elector: LeaderElector | undefined;
  http.addReadiness(() => {
    // A standby is ready (it is doing its job: waiting); a leader once its caches are synced.
    if (elector && !elector.isLeader()) return undefined;
    return manager.synced() ? undefined : 'caches not synced';
  });

  const dashboardAbort = new AbortController();
  let dashboard: DashboardServer | undefined;

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
      // What the drained reconciles stored goes out before the lease does (at most 5 s:
      // the next controller replays anything left).
      await audit?.close(5_000);
      electionAbort.abort();
      dashboardAbort.abort();
      await elector?.release();
      await dashboard?.close();
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
        manager.add(
          await entry.create({
            client,
            log: log.child({ controller: entry.name }),
            namespaces: options.namespaces,
            prometheusUrl: options.prometheusUrl,
            allowedPrometheusUrls: options.allowedPrometheusUrls,
            allowInternalNotificationUrls: options.allowInternalNotificationUrls,
            releaseWorkers: options.releaseWorkers,
            otlpEndpoint: options.otlpEndpoint,
            identity,
            http,
            registry: metrics.registry,
            audit,
          }),
        );
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
  if (options.dashboardPort !== undefined) {
    // Its own informer, so a standby replica serves it too; its own port, apart from the probes.
    try {
      // Loaded only when asked for: its modules (schemas, pages) cost ~10 MiB of RSS at rest.
      const { startClusterDashboard } = await import('./dashboard/index.ts');
      dashboard = await startClusterDashboard({
        client,
        kubeConfig,
        namespaces: options.namespaces,
        host: options.bindAddress,
        port: options.dashboardPort,
        tls: options.dashboardTls,
        // The charts ask the Prometheus servers the analyses may ask, and no other.
        metrics: {
          defaultAddress: options.prometheusUrl,
          allowList: prometheusAllowList(options.prometheusUrl, options.allowedPrometheusUrls),
        },
        log: log.child({ component: 'dashboard' }),
        signal: dashboardAbort.signal,
      });
      log.info({ port: dashboard.port, tls: options.dashboardTls !== undefined }, 'dashboard listening');
    } catch (err) {
      log.fatal(
        { err },
        `cannot serve the dashboard on port ${options.dashboardPort}: ${describeError(err)}`,
      );
      await shutdown(1, 'dashboard failed');
      return finished.finally(() => removeSignalHandlers(onSignal));
    }
  }
  log.info(
    {
      controllers: selected.map((c) => c.name),
      namespaces: options.namespaces ?? 'all',
      leaderElect: options.leaderElect,
    },
    'controller process starting',
  );

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
