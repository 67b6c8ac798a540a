/**
 * 50 releases at once under one controller (run in this process, so its client's
 * request counts can be read): all complete, each stable Deployment ends on the new
 * version with no canary left. Reports the median time from creation to the first
 * weight written and the API requests one release costs (watches excluded).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKubeClient } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { createManager } from '../../../src/runtime/manager.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { canaryController } from '../../../src/canary/controller.ts';
import { testCluster } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  names,
  releaseEnv,
  waitFor,
} from './support.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

const RELEASES = 50;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

test(`${RELEASES} CanaryDeployments in parallel all complete under one controller`, {
  timeout: 300_000,
}, async (t) => {
  const { admin, ns } = await releaseEnv(t, { controller: false });
  const cluster = await testCluster();
  const client = await createKubeClient({
    kubeconfigPath: cluster.controllerKubeconfigPath || cluster.kubeconfigPath,
  });
  const manager = createManager({
    client,
    log: createLogger({ level: 'warn' }),
    namespaces: [ns],
    identity: 'canary-scale-test',
  });
  manager.add(canaryController());
  await manager.start();
  t.after(async () => {
    await manager.stop();
    await client.close();
  });

  const apps = Array.from({ length: RELEASES }, (_, i) => `app${i}`);
  for (let i = 0; i < apps.length; i += 10) {
    await Promise.all(
      apps.slice(i, i + 10).map((app) => createApp(admin, ns, app, { replicas: 2, service: false })),
    );
  }
  const before = client.requestCounts();
  const createdAt = new Map<string, number>();
  await Promise.all(
    apps.map(async (app) => {
      createdAt.set(app, Date.now());
      await createRelease(admin, ns, app, {
        targetDeployment: app,
        canaryVersion: `${app}:v2`,
        strategy: {
          steps: [
            { weight: 50, pause: '2s' },
            { weight: 100, pause: '0s' },
          ],
        },
      });
    }),
  );
  await waitFor(
    async () => {
      const list = await admin.list<{ metadata: { name?: string }; status?: { phase?: string } }>(
        CanaryDeploymentKind,
        { namespace: ns },
      );
      const failed = list.items.find((cd) => cd.status?.phase === 'Failed');
      if (failed) throw new Error(`${failed.metadata.name} Failed`);
      return list.items.filter((cd) => cd.status?.phase === 'Completed').length === RELEASES;
    },
    { describe: `all ${RELEASES} Completed`, timeoutMs: 240_000, intervalMs: 1_000 },
  );
  const after = client.requestCounts();

  const firstWeight: number[] = [];
  for (const app of apps) {
    const cd = await getRelease(admin, ns, app);
    const reached = cd?.status?.history?.find((h) => h.event === 'StepReached');
    assert.ok(reached, `${app}: step 1 recorded`);
    firstWeight.push(Date.parse(reached.time) - (createdAt.get(app) ?? 0));
    assert.equal(imageOf(await getDeployment(admin, ns, app)), `${app}:v2`);
  }
  assert.deepEqual(
    (await names(admin, kinds.Deployment, ns)).filter((n) => n.endsWith('-canary')),
    [],
    'no canary left',
  );

  const delta: Record<string, number> = {};
  let total = 0;
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d === 0 || key.startsWith('WATCH')) continue;
    delta[key] = d;
    total += d;
  }
  const perRelease = Object.fromEntries(
    Object.entries(delta).map(([k, v]) => [k, Math.round((v / RELEASES) * 10) / 10]),
  );
  t.diagnostic(
    `create → first weight written: median ${median(firstWeight)}ms (min ${Math.min(...firstWeight)}, max ${Math.max(...firstWeight)})`,
  );
  t.diagnostic(`API requests per release: ${(total / RELEASES).toFixed(1)} ${JSON.stringify(perRelease)}`);
  assert.ok(total / RELEASES < 60, `requests per release bounded (${(total / RELEASES).toFixed(1)})`);
});
