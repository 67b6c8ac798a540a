/**
 * Memory: what the controller holds at rest, how much it grows when the cluster fills with
 * objects no release uses, and what one release in flight costs (issue 17).
 *
 * The controller runs as shipped: every controller (canary and webapp), over the whole
 * cluster (no `--namespace`), under the controller identity with the shipped RBAC.
 *
 * 1. **at rest**: a fresh controller on a cluster with no releases; RSS after it idled.
 * 2. **unrelated objects**: ConfigMaps of 100 KiB and Deployments of 0 replicas in
 *    namespaces no release uses are created while that controller runs; its idle RSS
 *    afterwards minus the at-rest figure is the growth. A second, fresh controller is then
 *    started on the full cluster (its first list is the worst case for a cache that holds
 *    what it should not) and its idle RSS is read too.
 * 3. **per release**: in that second controller, N releases are started whose first step
 *    pauses for an hour (they stay in flight); (idle RSS after − idle RSS before) / N.
 *
 * RSS is read from `/proc/<pid>/status`; the heap and cache figures from the controller's
 * `/metrics` (`nodejs_heap_size_used_bytes`, `codedance_cache_objects`).
 */
import { randomBytes } from 'node:crypto';
import type { CanaryDeployment } from '../src/api/canary-deployment.ts';
import type { KubeObject } from '../src/runtime/client.ts';
import * as kinds from '../src/runtime/kinds.ts';
import { pollUntil } from '../src/cluster/probe.ts';
import { createApp, createRelease, inBatches, waitRolledOut } from './apps.ts';
import { createNamespace, startControllerProcess, type BenchEnv, type ControllerProcess } from './env.ts';
import { observe } from './observe.ts';
import { parseMetrics, readProcess } from './process-stats.ts';
import { sleep } from './stats.ts';
import { CanaryDeploymentKind } from '../src/api/kinds.ts';

/** How long a controller idles before its RSS is read (the GC settles, start-up garbage goes). */
export const MEMORY_IDLE_MS = 15_000;
const CREATE_CONCURRENCY = 16;
/** Bytes of data in each unrelated ConfigMap. */
export const CONFIGMAP_BYTES = 100 * 1024;

/** Sizes of one run. */
export interface MemoryCounts {
  configMaps: number;
  deployments: number;
  /** Namespaces the unrelated objects are spread over. */
  namespaces: number;
  /** Releases held in flight for the marginal figure. */
  releases: number;
}

/** What the controller's `/metrics` says about its memory. */
export interface HeapReading {
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Objects per cache (`kind|selector` → count). */
  cacheObjects: Record<string, number>;
  /** Estimated bytes per cache, when the controller reports them. */
  cacheBytes: Record<string, number>;
}

/** One controller's memory at a moment. */
export interface MemoryReading {
  /** RSS after idling (the median of five readings). */
  rssBytes: number;
  peakRssBytes: number;
  heap?: HeapReading;
  /** RSS and heap right after full garbage collections (forced through the inspector): the live objects, without GC headroom. */
  afterGc?: { rssBytes: number; heap?: HeapReading };
}

/** Node flags of the benchmark's controllers: an inspector on a free loopback port, to force a GC before reading the live heap. */
const INSPECT = ['--inspect=127.0.0.1:0'];

/** Forces full garbage collections in the controller (`HeapProfiler.collectGarbage` over the inspector protocol). */
async function collectGarbage(controller: ControllerProcess): Promise<boolean> {
  const url = controller.inspectorUrl();
  if (!url) return false;
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`inspector ${url}: could not connect`)), {
      once: true,
    });
  });
  try {
    for (let id = 1; id <= 2; id++) {
      await new Promise<void>((resolve) => {
        const onMessage = (event: MessageEvent): void => {
          if ((JSON.parse(String(event.data)) as { id?: number }).id !== id) return;
          socket.removeEventListener('message', onMessage);
          resolve();
        };
        socket.addEventListener('message', onMessage);
        socket.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    socket.close();
  }
  return true;
}

export interface MemoryResult {
  counts: MemoryCounts;
  /** RSS of a first start after idling, when the compile cache may still be cold (after a code change, a new pod). */
  coldAtRestBytes: number;
  /** Spawn → HTTP listening / caches synced / controllers started, ms (first controller). */
  startup: ControllerProcess['startup'];
  atRest: MemoryReading;
  /** The same process after the unrelated objects were created. */
  withUnrelated: MemoryReading;
  /** Seconds spent creating the unrelated objects. */
  createSeconds: number;
  /** A fresh controller started on the full cluster. */
  freshOnFullCluster: MemoryReading;
  freshStartup: ControllerProcess['startup'];
  /** The fresh controller before and after `counts.releases` releases went in flight. */
  beforeReleases: MemoryReading;
  withReleases: MemoryReading;
  releasesInFlight: number;
}

async function heapOf(controller: ControllerProcess): Promise<HeapReading | undefined> {
  try {
    const response = await fetch(`${controller.url}/metrics`);
    if (!response.ok) return undefined;
    const metrics = parseMetrics(await response.text());
    const one = (name: string): number => metrics.get(name)?.[0]?.value ?? NaN;
    const byCache = (name: string): Record<string, number> =>
      Object.fromEntries(
        (metrics.get(name) ?? []).map((s) => [
          `${s.labels.kind ?? '?'}${s.labels.selector ? `{${s.labels.selector}}` : ''}${s.labels.shape && s.labels.shape !== 'full' ? `(${s.labels.shape})` : ''}`,
          s.value,
        ]),
      );
    return {
      heapUsedBytes: one('nodejs_heap_size_used_bytes'),
      heapTotalBytes: one('nodejs_heap_size_total_bytes'),
      cacheObjects: byCache('codedance_cache_objects'),
      cacheBytes: byCache('codedance_cache_bytes'),
    };
  } catch {
    return undefined;
  }
}

/** Idles, then reads RSS (the median of five readings a second apart) and the heap metrics. */
async function settle(controller: ControllerProcess, idleMs = MEMORY_IDLE_MS): Promise<MemoryReading> {
  await sleep(idleMs);
  const samples: number[] = [];
  let peak = 0;
  for (let i = 0; i < 5; i++) {
    const r = readProcess(controller.pid);
    if (r) {
      samples.push(r.rssBytes);
      peak = r.peakRssBytes;
    }
    await sleep(1000);
  }
  samples.sort((a, b) => a - b);
  const heap = await heapOf(controller);
  let afterGc: MemoryReading['afterGc'];
  if (await collectGarbage(controller)) {
    await sleep(1000);
    afterGc = { rssBytes: readProcess(controller.pid)?.rssBytes ?? NaN, heap: await heapOf(controller) };
  }
  return { rssBytes: samples[Math.floor(samples.length / 2)] ?? NaN, peakRssBytes: peak, heap, afterGc };
}

/** Creates `counts` unrelated ConfigMaps and Deployments, spread over their own namespaces. */
async function fillCluster(
  env: BenchEnv,
  counts: MemoryCounts,
  onProgress: (line: string) => void,
): Promise<void> {
  const namespaces: string[] = [];
  for (let i = 0; i < counts.namespaces; i++)
    namespaces.push(await createNamespace(env.admin, `unrelated-${i}`));
  // One random payload, base64: incompressible-looking data of CONFIGMAP_BYTES characters.
  const payload = randomBytes(Math.ceil((CONFIGMAP_BYTES * 3) / 4))
    .toString('base64')
    .slice(0, CONFIGMAP_BYTES);
  const items = [
    ...Array.from({ length: counts.configMaps }, (_, i) => ({ type: 'cm' as const, i })),
    ...Array.from({ length: counts.deployments }, (_, i) => ({ type: 'deploy' as const, i })),
  ];
  let done = 0;
  const timer = setInterval(() => onProgress(`  ${done}/${items.length} unrelated objects created`), 15_000);
  try {
    await inBatches(items, CREATE_CONCURRENCY, async (item) => {
      const namespace = namespaces[item.i % namespaces.length]!;
      if (item.type === 'cm') {
        await env.admin.create<KubeObject>(kinds.ConfigMap, {
          metadata: { name: `blob-${item.i}`, namespace, labels: { app: `unrelated-${item.i % 50}` } },
          data: { payload },
        } as KubeObject);
      } else {
        const labels = { app: `unrelated-${item.i}` };
        // Zero replicas: the objects sit in etcd and in watches, no pods load the fake nodes.
        await env.admin.create<KubeObject>(kinds.Deployment, {
          metadata: {
            name: `web-${item.i}`,
            namespace,
            labels,
            annotations: { 'example.com/owner': 'someone-else' },
          },
          spec: {
            replicas: 0,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  {
                    name: 'app',
                    image: `registry.example.com/team/web-${item.i}:v1`,
                    ports: [{ containerPort: 8080 }],
                    env: [{ name: 'MODE', value: 'production' }],
                  },
                ],
              },
            },
          },
        } as KubeObject);
      }
      done++;
    });
  } finally {
    clearInterval(timer);
  }
}

/** Runs the memory benchmark (see the module docblock). */
export async function benchMemory(
  env: BenchEnv,
  counts: MemoryCounts,
  onProgress: (line: string) => void,
): Promise<MemoryResult> {
  onProgress('memory: a fresh controller (canary + webapp, whole cluster) at rest');
  // One start and stop first: it fills Node's compile cache (src/cli/main.ts turns it on) as
  // a restarted pod finds it. A cold first start also loads the TypeScript stripper (about
  // 12-15 MiB more RSS for the life of the process); `coldAtRest` says how much.
  const cold = await startControllerProcess(env, { name: 'memory-cold-start', controllers: 'canary,webapp' });
  let coldAtRest: number;
  try {
    await sleep(MEMORY_IDLE_MS);
    coldAtRest = readProcess(cold.pid)?.rssBytes ?? NaN;
  } finally {
    await cold.stop();
  }
  onProgress(`  first start (compile cache may be cold): ${(coldAtRest / 2 ** 20).toFixed(1)} MiB RSS`);
  const first = await startControllerProcess(env, {
    name: 'memory-at-rest',
    controllers: 'canary,webapp',
    nodeArgs: INSPECT,
  });
  let atRest: MemoryReading;
  // (the at-rest controller is the second start: a warm compile cache, as after a restart)
  let withUnrelated: MemoryReading;
  let createSeconds: number;
  try {
    atRest = await settle(first);
    onProgress(`  at rest: ${(atRest.rssBytes / 2 ** 20).toFixed(1)} MiB RSS`);
    onProgress(
      `memory: creating ${counts.configMaps} ConfigMaps of ${CONFIGMAP_BYTES / 1024} KiB and ${counts.deployments} Deployments in ${counts.namespaces} unrelated namespaces`,
    );
    const started = performance.now();
    await fillCluster(env, counts, onProgress);
    createSeconds = (performance.now() - started) / 1000;
    withUnrelated = await settle(first);
    onProgress(
      `  with unrelated objects: ${(withUnrelated.rssBytes / 2 ** 20).toFixed(1)} MiB RSS (peak ${(withUnrelated.peakRssBytes / 2 ** 20).toFixed(1)})`,
    );
  } finally {
    await first.stop();
  }

  onProgress('memory: a fresh controller on the full cluster');
  const second = await startControllerProcess(env, {
    name: 'memory-full-cluster',
    controllers: 'canary,webapp',
    nodeArgs: INSPECT,
  });
  try {
    const freshOnFullCluster = await settle(second);
    onProgress(
      `  fresh on the full cluster: ${(freshOnFullCluster.rssBytes / 2 ** 20).toFixed(1)} MiB RSS (peak ${(freshOnFullCluster.peakRssBytes / 2 ** 20).toFixed(1)})`,
    );

    const ns = await createNamespace(env.admin, 'bench-memory-releases');
    const apps = Array.from({ length: counts.releases }, (_, i) => `m-${i}`);
    onProgress(`memory: ${apps.length} apps of 1 replica, then as many releases held in flight`);
    await inBatches(apps, CREATE_CONCURRENCY, (app) => createApp(env.admin, ns, app, 1));
    await waitRolledOut(env.admin, ns, apps, 600_000);
    const beforeReleases = await settle(second);
    const releases = await observe<CanaryDeployment>(env.admin, CanaryDeploymentKind, ns);
    try {
      await inBatches(apps, CREATE_CONCURRENCY, async (app) => {
        await createRelease(env.admin, ns, app, {
          targetDeployment: app,
          canaryVersion: `${app}:v2`,
          strategy: { steps: [{ weight: 50, pause: '1h' }, { weight: 100 }] },
        });
      });
      let holding = 0;
      await pollUntil(
        `${apps.length} releases holding their first step`,
        async () => {
          holding = apps.filter(
            (app) => (releases.store.get(ns, app)?.status?.currentWeight ?? 0) > 0,
          ).length;
          return holding === apps.length;
        },
        {
          timeoutMs: 20 * 60_000,
          intervalMs: 1000,
          describe: () => `${holding} of ${apps.length} at their first weight`,
        },
      );
    } finally {
      releases.stop();
    }
    const withReleases = await settle(second);
    onProgress(
      `  ${apps.length} releases in flight: ${(withReleases.rssBytes / 2 ** 20).toFixed(1)} MiB RSS (before ${(beforeReleases.rssBytes / 2 ** 20).toFixed(1)})`,
    );
    return {
      counts,
      coldAtRestBytes: coldAtRest,
      startup: first.startup,
      atRest,
      withUnrelated,
      createSeconds,
      freshOnFullCluster,
      freshStartup: second.startup,
      beforeReleases,
      withReleases,
      releasesInFlight: apps.length,
    };
  } finally {
    await second.stop();
  }
}
