/**
 * The traffic and metrics simulator: stands in for the data plane of services whose
 * pods (under kwok) serve nothing.
 *
 * Every tick (1 s by default) it reads the services to simulate and the canary's share
 * of each from watched caches (`discovery.ts`), gives each service `rps × tick`
 * requests split by that share (`sampler.ts`), samples each request's status and
 * latency from its version's profile, and counts them into the metric families real
 * meshes and ingresses export (`metrics.ts`), served on `/metrics` for Prometheus.
 * It also exports cAdvisor's CPU and memory series for the services' running pods
 * (`resources.ts`), from each version's profile (`cpuCores`, `memoryMiB`, `memoryLeakMiBPerMinute`).
 * Nothing is sent over the network but the watches and the scrapes.
 *
 * Guarantees: the split follows the weights exactly over time (fractions carry over);
 * a weight change is seen within one tick of the watch event; with the same seed, the
 * same weights and the same profiles, the same counts come out.
 * Caveats: the first tick after start counts nothing (it only sets the clock);
 * a service's series disappear when it stops being simulated.
 */
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerScrapeTarget, unregisterScrapeTarget } from '../cluster/prometheus.ts';
import { createKubeClient, isNotFound, type KubeClient } from '../runtime/client.ts';
import {
  describeTargets,
  watchCluster,
  type ClusterView,
  type RoutedService,
  type WatchedCluster,
} from './discovery.ts';
import { createResourceMetrics, type PodSample } from './resources.ts';
import { podPattern } from '../analysis/queries.ts';
import type { WatcherClient } from '../runtime/watcher.ts';
import { createBusinessMetrics } from './business.ts';
import { createLoadTests, parseLoadTest } from './load-test.ts';
import { createDataPlaneMetrics, type FamilySelection } from './metrics.ts';
import {
  createProfileBook,
  healthyProfile,
  parseProfileUpdate,
  type ProfileUpdate,
  type ServiceProfile,
  type VersionProfile,
} from './profile.ts';
import { seededRandom } from './random.ts';
import { mirroredCount, newPaceState, paceTick, sampleRequests, type PaceState } from './sampler.ts';
import { serveSimulator, type ListeningServer, type SimulatorRoutes } from './server.ts';
import { renderFamilies } from './series.ts';
import { Versions, type SimTarget } from './target.ts';

export interface SimulatorOptions {
  /** Client to watch with (left open on stop); when unset one is made from `kubeconfigPath`. */
  client?: WatcherClient;
  /** Kubeconfig file; ignored when `client` is given. @default the default loading rules */
  kubeconfigPath?: string;
  /** Namespaces to simulate. @default all */
  namespaces?: string[];
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** Requests per second of each service, before the split. @default 50 */
  rps?: number;
  /** Time between two ticks, in milliseconds. @default 1000 */
  tickMs?: number;
  /** Seed of the random source. @default random */
  seed?: number;
  /** Which metric families count a service (see `metrics.ts`). @default 'provider' */
  families?: FamilySelection;
  /** Behaviour of versions nobody configured. @default healthyProfile (0.1% errors, p50 20 ms, p99 80 ms) */
  defaults?: VersionProfile;
  /**
   * Register with the local cluster's Prometheus (file-based discovery in the cluster's
   * state folder, see `src/cluster/prometheus.ts`) under `name`, which also becomes the
   * `job` label; removed on stop.
   */
  scrapeTarget?: { stateDir: string; name: string };
  /** @default a pino logger at level `warn` */
  logger?: Logger;
  /** Services whose releases another tool drives through a VirtualService (the benchmark's peers). @default none */
  routedServices?: readonly RoutedService[];
}

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:40123` (`/metrics`, `/profiles`, `/targets`). */
  readonly url: string;
  readonly port: number;
  /** Changes a service's behaviour from the next tick on (see `POST /profiles`); throws a TypeError naming a bad field. */
  setProfile(update: ProfileUpdate): ServiceProfile;
  /** Back to the defaults: one service, one namespace, or everything. */
  resetProfiles(namespace?: string, name?: string): void;
  /** The services simulated at the last tick. */
  targets(): readonly SimTarget[];
  /** Stops ticking, watching and serving; removes the scrape registration. */
  stop(): Promise<void>;
}

interface ResolvedOptions {
  namespaces: string[];
  host: string;
  port: number;
  rps: number;
  tickMs: number;
  seed: number;
  families: FamilySelection;
  defaults: VersionProfile;
  logger: Logger;
}

function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  return {
    namespaces: options.namespaces ?? [],
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    rps: options.rps ?? 50,
    tickMs: options.tickMs ?? 1000,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 32),
    families: options.families ?? 'provider',
    defaults: options.defaults ?? healthyProfile,
    logger: options.logger ?? pino({ name: 'codedance-sim', level: 'warn' }),
  };
}

/** Starts watching, ticking and serving; resolves once the caches are filled and the port is open. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const config = resolveOptions(options);
  const { logger } = config;
  let ownClient: KubeClient | undefined;
  const client: WatcherClient =
    options.client ?? (ownClient = await createKubeClient({ kubeconfigPath: options.kubeconfigPath }));
  const cluster: WatchedCluster = watchCluster(client, {
    namespaces: config.namespaces,
    // A kind whose CRD is not installed fails every list with 404: expected, so quiet.
    onRestart: (kind, reason, err) =>
      isNotFound(err?.cause)
        ? logger.debug({ kind: kind.kind }, 'kind not served; retrying')
        : logger.warn({ kind: kind.kind, reason, err }, 'watch restarted'),
  });
  const book = createProfileBook(config.defaults);
  const dataPlane = createDataPlaneMetrics(config.families);
  const resources = createResourceMetrics();
  const business = createBusinessMetrics();
  const loads = createLoadTests();
  const random = seededRandom(config.seed);
  const paces = new Map<string, PaceState>();
  const own = ownMetrics();
  let current: SimTarget[] = [];
  let lastTick = performance.now();

  // After a long stall (a suspended laptop, a debugger) the next tick would otherwise
  // sample the whole gap at once; counting at most this much keeps a tick short.
  const maxElapsedMs = Math.max(10 * config.tickMs, 10_000);

  function tick(): void {
    const started = performance.now();
    const elapsedMs = Math.min(started - lastTick, maxElapsedMs);
    lastTick = started;
    current = describeTargets(cluster, options.routedServices);
    const seen = new Set<string>();
    for (const target of current) {
      seen.add(target.key);
      let pace = paces.get(target.key);
      if (!pace) paces.set(target.key, (pace = newPaceState()));
      own.weight.set(
        { namespace: target.namespace, name: target.name },
        Math.round(target.canaryShare * 10000) / 100,
      );
      if (!target.serving) continue;
      const profile = book.resolve(target.namespace, [target.name, target.target]);
      // A load test (./load-test.ts) adds its requests to the service's own.
      const rps =
        (profile?.rps ?? config.rps) +
        loads.rpsOf(target.namespace, [target.name, target.target], Date.now());
      const counts = paceTick(pace, rps, elapsedMs, target.canaryShare);
      // Mirrored copies reach the canary, which answers (and is measured); the answers are
      // discarded, so they count as the canary's requests but as nobody's business events.
      const mirrored = mirroredCount(pace, counts.stable, target.mirrorShare ?? 0);
      if (mirrored > 0) {
        const behaviour = profile?.canary ?? config.defaults;
        sampleRequests(mirrored, behaviour, random, dataPlane.recorder(target).version('canary'));
        own.requests.inc({ version: 'canary' }, mirrored);
      }
      const recorder = dataPlane.recorder(target);
      for (const version of Versions) {
        const count = counts[version];
        if (count === 0) continue;
        const behaviour = profile?.[version] ?? config.defaults;
        sampleRequests(count, behaviour, random, recorder.version(version));
        business.count(target, version, count, behaviour.business);
        own.requests.inc({ version }, count);
      }
    }
    for (const key of [...paces.keys()]) {
      if (seen.has(key)) continue;
      paces.delete(key);
      dataPlane.forget(key);
      business.forget(key);
      const [namespace, name] = key.split('/') as [string, string];
      own.weight.remove({ namespace, name });
    }
    resources.tick(
      podSamples(
        cluster,
        current,
        (target) => book.resolve(target.namespace, [target.name, target.target]),
        config.defaults,
      ),
      elapsedMs,
      Date.now(),
    );
    own.services.set(current.length);
    own.tickSeconds.observe((performance.now() - started) / 1000);
  }

  const routes: SimulatorRoutes = {
    async metrics() {
      return {
        contentType: own.registry.contentType,
        body:
          renderFamilies([...dataPlane.families, business.family]) +
          resources.render() +
          (await own.registry.metrics()),
      };
    },
    profiles: () => ({ defaults: config.defaults, rps: config.rps, services: book.list() }),
    setProfile(body) {
      const update = parseProfileUpdate(body);
      return 'error' in update ? update.error : book.set(update);
    },
    resetProfiles: (namespace, name) => book.reset(namespace, name),
    targets: () => current,
    loadTest(body) {
      const test = parseLoadTest(body, Date.now());
      if ('error' in test) return test.error;
      loads.start(test);
      logger.info(test, 'load test started');
      return { started: test, running: loads.list(Date.now()) };
    },
    loadTests: () => loads.list(Date.now()),
  };
  let server: ListeningServer;
  try {
    await cluster.ready;
    server = await serveSimulator(routes, config.host, config.port);
  } catch (err) {
    // Nothing may keep running behind a failed start (a port in use, a bad kubeconfig).
    await cluster.stop();
    await ownClient?.close();
    throw err;
  }
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`;
  const { scrapeTarget } = options;
  if (scrapeTarget) await registerScrapeTarget(scrapeTarget.stateDir, scrapeTarget.name, new URL(url).host);
  lastTick = performance.now();
  const timer = setInterval(() => {
    try {
      tick();
    } catch (err) {
      logger.error({ err }, 'tick failed');
    }
  }, config.tickMs);
  logger.info(
    { url, namespaces: config.namespaces, rps: config.rps, seed: config.seed },
    'simulator started',
  );

  return {
    url,
    port: server.port,
    setProfile(update) {
      const checked = parseProfileUpdate(update);
      if ('error' in checked) throw new TypeError(`setProfile: ${checked.error}`);
      return book.set(checked);
    },
    resetProfiles: (namespace, name) => book.reset(namespace, name),
    targets: () => current,
    async stop() {
      clearInterval(timer);
      await cluster.stop();
      if (scrapeTarget) await unregisterScrapeTarget(scrapeTarget.stateDir, scrapeTarget.name);
      await server.close();
      await ownClient?.close();
    },
  };
}

/** The simulator's own metrics, in a prom-client registry of its own. */
function ownMetrics() {
  const registry = new Registry();
  return {
    registry,
    services: new Gauge({
      name: 'codedance_sim_services',
      help: 'Services simulated at the last tick.',
      registers: [registry],
    }),
    weight: new Gauge({
      name: 'codedance_sim_canary_weight_percent',
      help: "Canary's share of a service's simulated requests, in percent, as read from its traffic provider.",
      labelNames: ['namespace', 'name'] as const,
      registers: [registry],
    }),
    requests: new Counter({
      name: 'codedance_sim_requests_total',
      help: 'Simulated requests, by version.',
      labelNames: ['version'] as const,
      registers: [registry],
    }),
    tickSeconds: new Histogram({
      name: 'codedance_sim_tick_duration_seconds',
      help: 'Time one tick takes (reading weights, sampling, counting).',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers: [registry],
    }),
  };
}

/**
 * The running pods of each simulated service, by version: the target Deployment's and
 * the canary Deployment's pods, told apart by name as the analyzer's queries do.
 */
export function podSamples(
  view: ClusterView,
  targets: readonly SimTarget[],
  profileOf: (t: SimTarget) => ServiceProfile | undefined,
  defaults: VersionProfile,
): PodSample[] {
  const out: PodSample[] = [];
  for (const target of targets) {
    const patterns = {
      stable: new RegExp(`^${podPattern(target.target)}$`),
      canary: new RegExp(`^${podPattern(target.canaryWorkload)}$`),
    };
    const profile = profileOf(target);
    for (const pod of view.pods?.(target.namespace) ?? []) {
      const name = pod.metadata.name ?? '';
      if (pod.status?.phase !== 'Running') continue;
      const version = patterns.canary.test(name)
        ? 'canary'
        : patterns.stable.test(name)
          ? 'stable'
          : undefined;
      if (!version) continue;
      out.push({
        namespace: target.namespace,
        pod: name,
        containers: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' })),
        profile: profile?.[version] ?? defaults,
      });
    }
  }
  return out;
}
