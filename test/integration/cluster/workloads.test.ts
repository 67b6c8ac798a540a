/**
 * Workloads on the fake nodes: a Deployment's pods become Running and Ready, and the
 * `kwok.codedance.io/crash: "true"` pod template label makes containers crash-loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deployment, Pod } from '../../../src/runtime/kinds.ts';
import type {
  ContainerStatus,
  Deployment as DeploymentObject,
  Pod as PodObject,
} from '../../../src/runtime/core-types.ts';
import { crashLabel } from '../../../src/cluster/kwok-stages.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

function deployment(
  namespace: string,
  name: string,
  replicas: number,
  labels: Record<string, string> = {},
): DeploymentObject {
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels } },
        spec: { containers: [{ name: 'app', image: 'example.com/app:v1' }] },
      },
    },
  } as DeploymentObject;
}

const isReady = (pod: PodObject): boolean =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

test('a Deployment gets Running and Ready pods', async (t) => {
  const { admin } = await testCluster();
  const namespace = await testNamespace(t);
  await admin.create(Deployment, deployment(namespace, 'web', 3));
  const pods = await waitFor(
    async () => {
      const list = await admin.list(Pod, { namespace, labelSelector: 'app=web' });
      const ready = list.items.filter((pod) => pod.status?.phase === 'Running' && isReady(pod));
      return ready.length === 3 ? ready : undefined;
    },
    { describe: '3 Running and Ready pods' },
  );
  for (const pod of pods) {
    assert.ok(pod.spec?.nodeName?.startsWith('kwok-node-'), 'scheduled on a kwok node');
    assert.ok(pod.status?.podIP, 'has a (fictional) pod IP');
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
  }
  await waitFor(
    async () => (await admin.get(Deployment, namespace, 'web'))?.status?.availableReplicas === 3,
    {
      describe: 'Deployment available',
    },
  );
});

test(`the ${crashLabel} label makes containers crash-loop with a growing restartCount`, async (t) => {
  const { admin } = await testCluster();
  const namespace = await testNamespace(t);
  await admin.create(Deployment, deployment(namespace, 'crashy', 1, { [crashLabel]: 'true' }));
  const crashing = async (): Promise<ContainerStatus | undefined> => {
    const list = await admin.list(Pod, { namespace, labelSelector: 'app=crashy' });
    const pod = list.items[0];
    const status = pod?.status?.containerStatuses?.[0];
    if (!pod || !status || status.state?.waiting?.reason !== 'CrashLoopBackOff') return undefined;
    assert.equal(isReady(pod), false, 'a crash-looping pod is not Ready');
    assert.equal(status.ready, false);
    return status;
  };
  const first = await waitFor(
    async () => {
      const status = await crashing();
      return status && (status.restartCount ?? 0) >= 1 ? status : undefined;
    },
    { describe: 'CrashLoopBackOff with restartCount >= 1' },
  );
  await waitFor(async () => ((await crashing())?.restartCount ?? 0) > (first.restartCount ?? 0), {
    describe: `restartCount growing past ${first.restartCount}`,
  });
  const deploymentStatus = await admin.get(Deployment, namespace, 'crashy');
  assert.ok(!deploymentStatus?.status?.availableReplicas, 'no replica of a crashing Deployment is available');
});
