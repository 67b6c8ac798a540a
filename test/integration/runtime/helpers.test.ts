/**
 * The runtime's helpers on the real control plane: finalizers added and removed through a
 * running manager, apply()/applyStatus() making no write for an unchanged intent,
 * Events folded into a series, and a TerminalError reported as condition + Event.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { ConfigMap, CustomResourceDefinition, Event, type ResourceKind } from '../../../src/runtime/kinds.ts';
import { apply, applyStatus } from '../../../src/runtime/apply.ts';
import { createManager, type Manager } from '../../../src/runtime/manager.ts';
import { controller } from '../../../src/runtime/controller.ts';
import { Action } from '../../../src/runtime/action.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';
import { createEventRecorder, type KubeEvent } from '../../../src/runtime/events.ts';
import { setCondition, type Condition } from '../../../src/runtime/conditions.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

const cluster = await testCluster();

/** A throwaway CRD with a status subresource, only for these tests. */
type WidgetObject = KubeObject & {
  spec?: { size?: number; bad?: boolean };
  status?: { phase?: string; conditions?: Condition[] };
};
const Widget: ResourceKind<WidgetObject> = {
  group: 'runtime-test.codedance.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
};

before(async () => {
  await cluster.admin.apply(CustomResourceDefinition, {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.runtime-test.codedance.io' },
    spec: {
      group: Widget.group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  } as KubeObject);
  await waitFor(
    async () => {
      const crd = await cluster.admin.get<KubeObject & { status?: { conditions?: Condition[] } }>(
        CustomResourceDefinition,
        undefined,
        'widgets.runtime-test.codedance.io',
      );
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { describe: 'Widget CRD established' },
  );
});

function startManager(ns: string): Manager {
  return createManager({
    client: cluster.admin,
    log: silentLogger(),
    identity: 'helpers-test',
    namespaces: [ns],
  });
}

test('finalizers are added before reconcile and removed after cleanup', async (t) => {
  const ns = await testNamespace(t);
  const seen: string[] = [];
  const manager = startManager(ns);
  manager.add(
    controller<WidgetObject>({
      name: 'widget-finalizer',
      kind: Widget,
      finalizer: {
        name: 'runtime-test.codedance.io/cleanup',
        async cleanup(obj) {
          seen.push(`cleanup ${obj.metadata.name}`);
        },
      },
      async reconcile(obj) {
        seen.push(`reconcile ${obj.metadata.name} finalizers=${(obj.metadata.finalizers ?? []).join(',')}`);
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  t.after(() => manager.stop());
  await cluster.admin.create(Widget, {
    apiVersion: 'runtime-test.codedance.io/v1',
    kind: 'Widget',
    metadata: { name: 'w1', namespace: ns },
    spec: { size: 1 },
  } as WidgetObject);
  await waitFor(
    async () =>
      (await cluster.admin.get<WidgetObject>(Widget, ns, 'w1'))?.metadata.finalizers?.includes(
        'runtime-test.codedance.io/cleanup',
      ),
    {
      describe: 'finalizer added',
    },
  );
  await waitFor(() => seen.length > 0, { describe: 'a reconcile' });
  assert.equal(
    seen[0],
    'reconcile w1 finalizers=runtime-test.codedance.io/cleanup',
    'the finalizer is stored before the first reconcile',
  );
  await cluster.admin.delete(Widget, ns, 'w1');
  await waitFor(async () => (await cluster.admin.get(Widget, ns, 'w1')) === undefined, {
    describe: 'widget deleted',
  });
  assert.ok(seen.includes('cleanup w1'));
});

test('re-applying the same intent makes no write (resourceVersion unchanged)', async (t) => {
  const ns = await testNamespace(t);
  const client = cluster.admin;
  type CM = KubeObject & { data?: Record<string, string> };
  const intent: CM = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: ns, labels: { app: 'x', tier: 'web' } },
    data: { k: 'v' },
  };
  const first = await apply(client, ConfigMap, intent);
  const patchesBefore = client.requestCounts()['PATCH configmaps'] ?? 0;
  const again = await apply(client, ConfigMap, structuredClone(intent));
  assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
  assert.equal(client.requestCounts()['PATCH configmaps'] ?? 0, patchesBefore, 'no apply request was sent');
  assert.equal(
    (await client.get(ConfigMap, ns, 'c'))?.metadata.resourceVersion,
    first.metadata.resourceVersion,
  );

  // A changed intent is written; so is a dropped field we owned (apply removes it).
  const changed = await apply(client, ConfigMap, { ...intent, data: { k: 'w' } });
  assert.notEqual(changed.metadata.resourceVersion, first.metadata.resourceVersion);
  const dropped = await apply(client, ConfigMap, {
    ...intent,
    metadata: { ...intent.metadata, labels: { app: 'x' } },
    data: { k: 'w' },
  });
  assert.equal(dropped.metadata.labels?.tier, undefined);
  // Drift made by someone else is repaired.
  await client.patch(ConfigMap, ns, 'c', { data: { k: 'edited' } }, 'merge');
  const repaired = await apply(client, ConfigMap, {
    ...intent,
    metadata: { ...intent.metadata, labels: { app: 'x' } },
    data: { k: 'w' },
  });
  assert.equal(repaired.data?.k, 'w');

  // Status: same rule on the status subresource.
  await client.create(Widget, {
    apiVersion: 'runtime-test.codedance.io/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: ns },
    spec: { size: 1 },
  } as WidgetObject);
  const now = new Date();
  const status = (): WidgetObject => ({
    apiVersion: 'runtime-test.codedance.io/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: ns },
    status: {
      phase: 'Ready',
      conditions: setCondition(
        [],
        { type: 'Ready', status: 'True', reason: 'Up', observedGeneration: 1 },
        now,
      ),
    },
  });
  const s1 = await applyStatus(client, Widget, status());
  assert.equal(s1.status?.phase, 'Ready');
  const s2 = await applyStatus(client, Widget, status());
  assert.equal(s2.metadata.resourceVersion, s1.metadata.resourceVersion);
  assert.equal(
    (await client.get<WidgetObject>(Widget, ns, 'w'))?.metadata.resourceVersion,
    s1.metadata.resourceVersion,
  );
});

test('repeated Events fold into a series on the real API server', async (t) => {
  const ns = await testNamespace(t);
  const cm = await cluster.admin.create(ConfigMap, { metadata: { name: 'about', namespace: ns } });
  const recorder = createEventRecorder({
    client: cluster.admin,
    controller: 'helpers-test',
    instance: 'host_1234',
  });
  for (let i = 0; i < 3; i++)
    await recorder.publish(cm, {
      type: 'Warning',
      reason: 'SomethingFailed',
      note: 'same note',
      action: 'Check',
    });
  const events = await cluster.admin.list<KubeEvent>(Event, { namespace: ns });
  assert.equal(events.items.length, 1);
  const [event] = events.items;
  assert.equal(event!.series?.count, 3);
  assert.equal(event!.reportingController, 'codedance.io/helpers-test');
  assert.equal(event!.regarding.kind, 'ConfigMap');
});

test('a TerminalError is reported as a condition and an Event, and not retried', async (t) => {
  const ns = await testNamespace(t);
  let calls = 0;
  const manager = startManager(ns);
  manager.add(
    controller<WidgetObject>({
      name: 'widget-terminal',
      kind: Widget,
      async reconcile(obj) {
        calls++;
        if (obj.spec?.bad)
          throw new TerminalError('spec.bad: widgets cannot be bad', { reason: 'BadWidget' });
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  t.after(() => manager.stop());
  await cluster.admin.create(Widget, {
    apiVersion: 'runtime-test.codedance.io/v1',
    kind: 'Widget',
    metadata: { name: 'bad', namespace: ns },
    spec: { bad: true },
  } as WidgetObject);
  const bad = await waitFor(
    async () => {
      const w = await cluster.admin.get<WidgetObject>(Widget, ns, 'bad');
      return w?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ? w : undefined;
    },
    { describe: 'Ready=False condition' },
  );
  const condition = bad.status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(condition.reason, 'BadWidget');
  assert.match(condition.message ?? '', /widgets cannot be bad/);
  assert.equal(condition.observedGeneration, 1);
  const events = await waitFor(
    async () => {
      const list = await cluster.admin.list<KubeEvent>(Event, { namespace: ns });
      return list.items.length ? list.items : undefined;
    },
    { describe: 'a Warning Event' },
  );
  assert.equal(events[0]!.reason, 'BadWidget');
  assert.equal(events[0]!.type, 'Warning');
  const settled = calls;
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(calls - settled <= 1, `not retried (${calls} reconciles)`);
});
