/**
 * A change listener that throws, on the real control plane: a controller whose watch map
 * function throws on one object keeps its watch, keeps reconciling, and the process
 * stays up (the informer reports the failure and skips that listener's call).
 */
import { test } from 'node:test';
import { Writable } from 'node:stream';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { ConfigMap, Secret } from '../../../src/runtime/kinds.ts';
import { createManager } from '../../../src/runtime/manager.ts';
import { controller } from '../../../src/runtime/controller.ts';
import { Action } from '../../../src/runtime/action.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';

test('a watch map function that throws stops neither the watch nor the reconciles', {
  timeout: 60_000,
}, async (t) => {
  const { admin } = await testCluster();
  const ns = await testNamespace(t);
  await admin.create(ConfigMap, { metadata: { name: 'app', namespace: ns } });
  const reconciled: string[] = [];
  const logged: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger({ level: 'error', destination });
  const manager = createManager({ client: admin, log, identity: 'listeners-test', namespaces: [ns] });
  manager.add(
    controller<KubeObject>({
      name: 'listeners',
      kind: ConfigMap,
      watches: [
        {
          kind: Secret,
          map: (secret) => {
            if (secret.metadata.name === 'poison') throw new Error('map function bug');
            return [{ namespace: ns, name: 'app' }];
          },
        },
      ],
      async reconcile(obj) {
        reconciled.push(obj.metadata.name ?? '');
        return Action.awaitChange();
      },
    }),
  );
  await manager.start();
  t.after(() => manager.stop());
  await waitFor(() => reconciled.length >= 1, { describe: 'the first reconcile' });
  await admin.create(Secret, { metadata: { name: 'poison', namespace: ns } });
  await waitFor(() => logged.some((l) => l.includes('map function bug')), { describe: 'the failure logged' });
  const before = reconciled.length;
  await admin.create(Secret, { metadata: { name: 'fine', namespace: ns } });
  await waitFor(() => reconciled.length > before, {
    describe: 'a reconcile from a later Secret, through the same watch',
  });
  assert.ok(logged.some((l) => /a change listener of Secret failed; the watch goes on/.test(l)));
});
