/**
 * Seed 003's scenario 3 on the real cluster: 50 services upgraded from one command's
 * worth of API (a ReleaseGroup whose template makes a CanaryDeployment for every
 * Deployment of the fleet), at most 5 at once, with the same policy; the ones the
 * simulator makes fail roll back on their own, and a kill -9 of the controller mid-way
 * changes nothing: every member is started once, the limit holds throughout. A second,
 * smaller group shows the failure limit stopping new starts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { CanaryDeployment, CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind, ReleaseGroupKind } from '../../../src/api/kinds.ts';
import { GroupTurnAnnotation } from '../../../src/api/names.ts';
import type { ReleaseGroup } from '../../../src/api/release-group.ts';
import type { KubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { startController } from '../../support/controller.ts';
import { testCluster, type NamespaceOwner } from '../../support/cluster.ts';
import {
  createApp,
  getDeployment,
  imageOf,
  killHard,
  releaseEnv,
  rolledOut,
  startScrapedSimulator,
  waitFor,
} from '../canary/support.ts';

const policy = {
  strategy: {
    steps: [
      { weight: 50, pause: '3s' },
      { weight: 100, pause: '0s' },
    ],
  },
  analysis: {
    interval: '1s',
    window: '10s',
    successThreshold: 1,
    failureThreshold: 2,
    inconclusiveLimit: 30,
  },
  metrics: { errorRate: { threshold: 5 } },
} satisfies Partial<CanaryDeploymentSpec>;

const service = (i: number) => `svc-${String(i).padStart(2, '0')}`;

/** What each service's pod requests: the release cost counts it per canary pod-second. */
const requests = { cpu: '100m', memory: '128Mi' };

async function fleetApps(admin: KubeClient, ns: string, count: number): Promise<void> {
  // A few at a time: each waits until its Deployment is available.
  for (let i = 0; i < count; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, k) =>
        (async () => {
          const name = service(i + k);
          await createApp(admin, ns, name, { replicas: 1 });
          // The group's deploymentSelector matches the Deployment's own labels.
          await admin.patch(kinds.Deployment, ns, name, { metadata: { labels: { fleet: 'shop' } } }, 'merge');
          await admin.patch(
            kinds.Deployment,
            ns,
            name,
            [{ op: 'add', path: '/spec/template/spec/containers/0/resources', value: { requests } }],
            'json',
          );
          await waitFor(async () => rolledOut(await getDeployment(admin, ns, name)), {
            describe: `${name} rolled out with its requests`,
            timeoutMs: 60_000,
          });
        })(),
      ),
    );
}

function fleetController(t: NamespaceOwner, ns: string) {
  return startController(t, { namespaces: [ns], controllers: ['canary', 'fleet'] });
}

async function createGroup(admin: KubeClient, ns: string, spec: ReleaseGroup['spec']): Promise<void> {
  await admin.create(ReleaseGroupKind, { metadata: { name: 'shop', namespace: ns }, spec });
}

const members = async (admin: KubeClient, ns: string) =>
  (await admin.list(CanaryDeploymentKind, { namespace: ns })).items;

/** The most members active at one moment, from their own histories (Started → end). */
function peakConcurrency(releases: readonly CanaryDeployment[]): number {
  const edges: [number, number][] = [];
  for (const cd of releases) {
    const history = cd.status?.history ?? [];
    const start = history.find((h) => h.event === 'Started');
    const end = history.find(
      (h) => h.event === 'Completed' || h.event === 'RolledBack' || h.event === 'Aborted',
    );
    if (!start) continue;
    edges.push([Date.parse(start.time), 1]);
    edges.push([end ? Date.parse(end.time) : Number.POSITIVE_INFINITY, -1]);
  }
  // An end and a start at the same second: the end first (the slot was freed for the start).
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) {
    now += delta;
    peak = Math.max(peak, now);
  }
  return peak;
}

test('50 services, 5 at once: the failing ones roll back on their own, a kill -9 mid-way continues exactly', {
  timeout: 900_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await fleetApps(admin, ns, 50);
  const sim = await startScrapedSimulator(t, ns, 20);
  // The healthy ones serve no errors at all: at 20 requests a second, one random error in a
  // canary's first second of data is over 5% (the analysis has no minimum sample size), and
  // this test is about the group, not about sampling noise.
  for (let i = 0; i < 50; i++) sim.setProfile({ namespace: ns, name: service(i), errorRate: 0 });
  const failing = [service(7), service(23), service(41)];
  for (const name of failing) sim.setProfile({ namespace: ns, name, version: 'canary', errorRate: 0.5 });
  let controller = await fleetController(t, ns);
  const started = Date.now();
  await createGroup(admin, ns, {
    template: { deploymentSelector: { matchLabels: { fleet: 'shop' } }, canaryVersion: 'lib:v2', ...policy },
    maxConcurrent: 5,
    failureLimit: 10,
  });

  // Every member is made waiting; none starts before its turn.
  const made = await waitFor(
    async () => ((await members(admin, ns)).length === 50 ? members(admin, ns) : undefined),
    {
      describe: '50 members made',
      timeoutMs: 120_000,
    },
  );
  assert.ok(made.every((cd) => cd.metadata.annotations?.[GroupTurnAnnotation] !== undefined));

  // Samples the active members until the end: never more than 5.
  let sampledPeak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const active = (await members(admin, ns)).filter((cd) =>
        ['Initializing', 'Progressing', 'Paused'].includes(cd.status?.phase ?? ''),
      ).length;
      sampledPeak = Math.max(sampledPeak, active);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();

  // Mid-way: kill -9, a while without a controller, then a new one.
  await waitFor(
    async () => ((await admin.get(ReleaseGroupKind, ns, 'shop'))?.status?.counts?.completed ?? 0) >= 15,
    { describe: '15 members completed', timeoutMs: 400_000, intervalMs: 500 },
  );
  await killHard(controller);
  const killedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  controller = await fleetController(t, ns);
  t.diagnostic(`controller killed after ${Math.round((killedAt - started) / 1000)}s, restarted 3s later`);

  const group = await waitFor(
    async () => {
      const g = await admin.get(ReleaseGroupKind, ns, 'shop');
      return g?.status?.phase === 'Completed' || g?.status?.phase === 'Failed' ? g : undefined;
    },
    { describe: 'the group ends', timeoutMs: 700_000, intervalMs: 1_000 },
  );
  sampling = false;
  await sampler;
  const wall = Date.now() - started;
  const all = await members(admin, ns);
  t.diagnostic(
    `50 services, maxConcurrent 5: wall time ${Math.round(wall / 1000)}s; ${group.status?.summary}; peak active ${peakConcurrency(all)} (sampled ${sampledPeak})`,
  );
  t.diagnostic(`fleet cost: ${JSON.stringify(group.status?.cost)}`);

  // Three failed (their own analysis rolled them back), every other one completed.
  assert.equal(group.status?.phase, 'Failed');
  assert.equal(group.status?.reason, 'MembersFailed');
  assert.deepEqual(group.status?.counts, {
    total: 50,
    waiting: 0,
    running: 0,
    paused: 0,
    completed: 47,
    failed: 3,
  });
  assert.deepEqual(
    group.status?.failed?.map((f) => [f.name, f.reason]),
    failing.map((name) => [name, 'MetricsFailed']),
  );
  for (const cd of all) {
    const name = cd.metadata.name ?? '';
    const image = imageOf(await getDeployment(admin, ns, name));
    assert.equal(image, failing.includes(name) ? `${name}:v1` : 'lib:v2', `${name}'s stable image`);
    // Started once, even across the kill.
    const starts = (cd.status?.history ?? []).filter((h) => h.event === 'Started').length;
    assert.equal(starts, 1, `${name} started ${starts} times`);
    const cost = cd.status?.cost;
    assert.ok(cost && cost.canaryPodSeconds > 0, `${name} has its cost`);
    // 0.1 core and 128 MiB (0.125 GiB) per canary pod-second.
    assert.ok(Math.abs(cost.cpuCoreSeconds - cost.canaryPodSeconds * 0.1) < 0.01, JSON.stringify(cost));
    assert.ok(Math.abs(cost.memoryGiBSeconds - cost.canaryPodSeconds * 0.125) < 0.01, JSON.stringify(cost));
  }
  const canaries = (await admin.list(kinds.Deployment, { namespace: ns })).items.filter((d) =>
    d.metadata.name?.endsWith('-canary'),
  );
  assert.deepEqual(canaries, [], 'no canary left');
  assert.ok(peakConcurrency(all) <= 5, `at most 5 at once (peak ${peakConcurrency(all)})`);
  assert.ok(sampledPeak <= 5, `at most 5 seen active at once (${sampledPeak})`);
  const cost = group.status?.cost;
  assert.ok(cost, 'the fleet cost is summed');
  const summed = all.reduce((s, cd) => s + (cd.status?.cost?.canaryPodSeconds ?? 0), 0);
  assert.ok(Math.abs(cost.canaryPodSeconds - summed) < 0.01, `${cost.canaryPodSeconds} = ${summed}`);
});

test('the failure limit stops new starts; those running finish; the rest never start', {
  timeout: 400_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await fleetApps(admin, ns, 8);
  const sim = await startScrapedSimulator(t, ns, 20);
  // The first two by name start together and fail; the first failure reaches the limit, so
  // no third starts, and the second, already running, rolls back on its own.
  for (let i = 0; i < 8; i++) sim.setProfile({ namespace: ns, name: service(i), errorRate: 0 });
  for (const name of [service(0), service(1)])
    sim.setProfile({ namespace: ns, name, version: 'canary', errorRate: 0.5 });
  await fleetController(t, ns);
  await createGroup(admin, ns, {
    template: { deploymentSelector: { matchLabels: { fleet: 'shop' } }, canaryVersion: 'lib:v2', ...policy },
    maxConcurrent: 2,
    failureLimit: 1,
  });
  const group = await waitFor(
    async () => {
      const g = await admin.get(ReleaseGroupKind, ns, 'shop');
      return g?.status?.phase === 'Failed' ? g : undefined;
    },
    { describe: 'the group stops', timeoutMs: 300_000, intervalMs: 500 },
  );
  assert.equal(group.status?.reason, 'FailureLimitReached');
  assert.deepEqual(group.status?.counts, {
    total: 8,
    waiting: 6,
    running: 0,
    paused: 0,
    completed: 0,
    failed: 2,
  });
  for (const cd of await members(admin, ns)) {
    const name = cd.metadata.name ?? '';
    if (name === service(0) || name === service(1)) {
      assert.equal(cd.status?.phase, 'Failed');
      assert.equal(cd.status?.reason, 'MetricsFailed');
    } else {
      assert.equal(cd.status?.reason, 'WaitingForGroup', `${name} never started`);
      assert.equal(cd.status?.phase, undefined);
      assert.equal(imageOf(await getDeployment(admin, ns, name)), `${name}:v1`);
    }
  }
  const events = (await admin.list(kinds.Event, { namespace: ns })).items as { reason?: string }[];
  assert.ok(
    events.some((e) => e.reason === 'FailureLimitReached'),
    'a FailureLimitReached Event',
  );
});

test('codedance release from CI: an image per service, a live summary, exit 0 once all completed', {
  timeout: 300_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await fleetApps(admin, ns, 3);
  await fleetController(t, ns);
  const { kubeconfigPath } = await testCluster();
  const settings = join(mkdtempSync(join(tmpdir(), 'codedance-release-')), 'settings.yaml');
  writeFileSync(
    settings,
    'strategy:\n  steps:\n    - {weight: 50, pause: 1s}\n    - {weight: 100, pause: 0s}\n',
  );
  const cli = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url)),
      'release',
      '--kubeconfig',
      kubeconfigPath,
      '-n',
      ns,
      '--name',
      'ci',
      '--selector',
      'fleet=shop',
      '--image',
      'lib:v2',
      '--image',
      `${service(1)}=special:v3`,
      '--max-concurrent',
      '2',
      '--settings',
      settings,
      '--timeout',
      '240',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(cli, 'exit')) as [number | null];
  t.diagnostic(output);
  assert.equal(code, 0, output);
  assert.match(output, /Completed: every member released/);
  assert.match(output, /members 3: 3 completed/);
  assert.match(output, /cost: canary/);
  assert.equal(imageOf(await getDeployment(admin, ns, service(0))), 'lib:v2');
  assert.equal(imageOf(await getDeployment(admin, ns, service(1))), 'special:v3');
  assert.equal(imageOf(await getDeployment(admin, ns, service(2))), 'lib:v2');
});

test('group pause holds the running member and starts none; group abort ends every member, the waiting ones too', {
  timeout: 300_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  await fleetApps(admin, ns, 3);
  await fleetController(t, ns);
  await createGroup(admin, ns, {
    template: {
      deploymentSelector: { matchLabels: { fleet: 'shop' } },
      canaryVersion: 'lib:v2',
      strategy: {
        steps: [
          // Long enough that the member is surely mid-step when the CLI's pause arrives
          // (a 5 s pause could end, and the member complete, before it on a busy machine).
          { weight: 50, pause: '15s' },
          { weight: 100, pause: '0s' },
        ],
      },
    },
    maxConcurrent: 1,
  });
  await waitFor(
    async () => (await admin.get(CanaryDeploymentKind, ns, service(0)))?.status?.phase === 'Progressing',
    {
      describe: 'the first member stepping',
      timeoutMs: 120_000,
    },
  );
  const cli = (...args: string[]) =>
    runCli(['group', ...args, 'shop', '-n', ns]).then((r) => {
      t.diagnostic(r.output);
      return r;
    });
  assert.equal((await cli('pause')).code, 0);
  const paused = await waitFor(
    async () => {
      const g = await admin.get(ReleaseGroupKind, ns, 'shop');
      return g?.status?.phase === 'Paused' && g.status.counts?.paused === 1 ? g : undefined;
    },
    { describe: 'the group Paused with its running member paused', timeoutMs: 60_000 },
  );
  assert.equal(paused.spec.paused, true);
  // Past the member's 15 s pause: nothing moved, nothing else started.
  await new Promise((resolve) => setTimeout(resolve, 16_000));
  const held = await members(admin, ns);
  assert.deepEqual(
    held.map((cd) => [cd.metadata.name, cd.status?.phase ?? cd.status?.reason]),
    [
      [service(0), 'Paused'],
      [service(1), 'WaitingForGroup'],
      [service(2), 'WaitingForGroup'],
    ],
  );
  assert.equal((await cli('abort')).code, 0);
  const aborted = await waitFor(
    async () => {
      const g = await admin.get(ReleaseGroupKind, ns, 'shop');
      return g?.status?.phase === 'Failed' ? g : undefined;
    },
    { describe: 'the group aborted', timeoutMs: 90_000 },
  );
  assert.equal(aborted.status?.reason, 'Aborted');
  for (const cd of await members(admin, ns)) {
    assert.equal(cd.status?.phase, 'Failed', `${cd.metadata.name}`);
    assert.equal(cd.status?.reason, 'Aborted', `${cd.metadata.name}`);
    assert.equal(imageOf(await getDeployment(admin, ns, cd.metadata.name ?? '')), `${cd.metadata.name}:v1`);
  }
  const status = await runCli(['group', 'status', 'shop', '-n', ns]);
  assert.match(status.output, /Failed \(Aborted\)/);
  assert.match(status.output, /✗ svc-00: Aborted/);
});

/** Runs the `codedance` CLI as the admin; resolves with its exit code and output. */
async function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const { kubeconfigPath } = await testCluster();
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url)),
      ...args,
      '--kubeconfig',
      kubeconfigPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}
