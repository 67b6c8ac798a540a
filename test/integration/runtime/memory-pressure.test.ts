/**
 * Issue 17, "safe under pressure": a controller with a small heap (`--max-old-space-size`)
 * watching namespaces full of objects no release uses (ConfigMaps of 100 KiB, Deployments)
 * still completes a release, and its `/metrics` shows the unrelated objects are held as
 * metadata only, never whole.
 *
 * Before the caches followed the releases, the first list of those ConfigMaps alone
 * (40 MiB of data, parsed into the heap) ran past the 64 MiB heap: the process died with
 * "JavaScript heap out of memory" before the release could start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { createApp, createRelease, releaseEnv, waitPhase, waitFor } from '../canary/support.ts';
import { startController } from '../../support/controller.ts';
import { testNamespace } from '../../support/cluster.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

const CONFIGMAPS = 400;
const DEPLOYMENTS = 200;
const HEAP_MIB = 64;

async function inBatches(count: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** Reads one metric family of the controller's /metrics as `labels → value`. */
async function metric(port: number, name: string): Promise<{ labels: string; value: number }[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => ({
      labels: line.slice(name.length, line.lastIndexOf(' ')),
      value: Number(line.slice(line.lastIndexOf(' ') + 1)),
    }));
}

test('a controller with a 64 MiB heap on namespaces full of unrelated objects completes a release', {
  timeout: 600_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  const unrelated = await testNamespace(t);
  const payload = randomBytes(75 * 1024).toString('base64');
  await inBatches(CONFIGMAPS, 8, (i) =>
    admin.create<KubeObject>(kinds.ConfigMap, {
      metadata: { name: `blob-${i}`, namespace: unrelated },
      data: { payload },
    } as KubeObject),
  );
  await inBatches(DEPLOYMENTS, 8, (i) =>
    admin.create<KubeObject>(kinds.Deployment, {
      metadata: { name: `web-${i}`, namespace: unrelated, labels: { app: `web-${i}` } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: `web-${i}` } },
        template: {
          metadata: { labels: { app: `web-${i}` } },
          spec: { containers: [{ name: 'app', image: `web-${i}:v1` }] },
        },
      },
    } as KubeObject),
  );
  await createApp(admin, ns, 'shop', { replicas: 2 });

  const controller = await startController(t, {
    namespaces: [ns],
    controllers: ['canary', 'webapp'],
    args: ['--namespace', unrelated],
    env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MIB}` },
  });
  const port = (
    JSON.parse(controller.lines.find((l) => l.includes('"http listening"')) ?? '{}') as { port?: number }
  ).port;
  assert.ok(port, 'the controller logged its port');

  await createRelease(admin, ns, 'shop', {
    targetDeployment: 'shop',
    canaryVersion: 'shop:v2',
    strategy: {
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  const done = await waitPhase(admin, ns, 'shop', 'Completed', 180_000).catch(async (err: unknown) => {
    const cd = await admin.get<KubeObject & { status?: unknown }>(CanaryDeploymentKind, ns, 'shop');
    const target = await admin.get<KubeObject & { spec?: unknown; status?: unknown }>(
      kinds.Deployment,
      ns,
      'shop',
    );
    throw new Error(
      `${(err as Error).message}; status ${JSON.stringify(cd?.status)}; target ${JSON.stringify({ spec: target?.spec, status: target?.status })}; controller ${controller.child.exitCode === null ? 'running' : `exited ${controller.child.exitCode}`}:\n${controller.lines.slice(-25).join('\n')}`,
    );
  });
  assert.equal(done.status?.phase, 'Completed');
  assert.equal(
    controller.child.exitCode,
    null,
    `the controller is still running:\n${controller.lines.slice(-5).join('\n')}`,
  );

  const limit = (await metric(port, 'codedance_heap_limit_bytes'))[0]?.value ?? Infinity;
  // V8's limit is the old space plus the young generation (up to 3 × 32 MiB): far below the default (GiBs).
  assert.ok(limit <= (HEAP_MIB + 128) * 2 ** 20, `the heap limit took effect (${limit} bytes)`);
  const objects = await metric(port, 'codedance_cache_objects');
  const held = (kind: string, shape: string): number =>
    objects
      .filter((o) => o.labels.includes(`kind="${kind}"`) && o.labels.includes(`shape="${shape}"`))
      .reduce((a, o) => a + o.value, 0);
  // Every unrelated ConfigMap and Deployment is known by name only; none is held whole.
  await waitFor(
    () => held('ConfigMap', 'metadata') >= CONFIGMAPS && held('Deployment', 'metadata') >= DEPLOYMENTS,
    { timeoutMs: 30_000, describe: 'metadata caches filled' },
  );
  assert.equal(held('ConfigMap', 'full'), 0, `no ConfigMap held whole: ${JSON.stringify(objects)}`);
  assert.ok(
    held('Deployment', 'full') + held('Deployment', 'referenced') <= 4,
    `only the release's Deployments held whole: ${JSON.stringify(objects)}`,
  );
});
