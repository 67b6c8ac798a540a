import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterSecretLabel } from '../api/names.ts';
import { kubeconfigYaml } from '../cluster/kubeconfig.ts';
import type { KubeClient, ResolvedKubeConfig } from '../runtime/client.ts';
import { Secret } from '../runtime/kinds.ts';
import { createFakeClient } from '../runtime/testing/fake-client.ts';
import { createClusterClients } from './clusters.ts';

const kubeconfig = (server: string) =>
  Buffer.from(kubeconfigYaml({ server, caPem: 'pem', user: 'u', token: 't' })).toString('base64');

test('a cluster client comes from a labelled kubeconfig Secret, made again when the Secret changes', async () => {
  const local = createFakeClient();
  await local.create(Secret, {
    metadata: { name: 'prod-a', namespace: 'ops', labels: { [ClusterSecretLabel]: 'prod a' } },
    data: { kubeconfig: kubeconfig('https://10.0.0.1:6443') },
  } as never);
  await local.create(Secret, {
    metadata: { name: 'db-password', namespace: 'ops' },
    data: { kubeconfig: kubeconfig('https://evil') },
  } as never);
  await local.create(Secret, {
    metadata: { name: 'empty', namespace: 'ops', labels: { [ClusterSecretLabel]: '' } },
    data: {},
  } as never);
  const made: string[] = [];
  const closed: string[] = [];
  const clients = createClusterClients({
    connect: async (kc: ResolvedKubeConfig) => {
      made.push(kc.server);
      return { server: kc.server, close: async () => void closed.push(kc.server) } as KubeClient;
    },
  });

  const a = await clients.get(local, 'ops', 'prod-a');
  assert.ok('client' in a);
  assert.equal(a.client.server, 'https://10.0.0.1:6443');
  assert.equal(await clients.get(local, 'ops', 'prod-a'), a, 'one client per Secret version');
  assert.deepEqual(made, ['https://10.0.0.1:6443']);

  const refused = await clients.get(local, 'ops', 'db-password');
  assert.ok('error' in refused);
  assert.match(refused.error, /not a cluster Secret: label it deploy\.codedance\.io\/cluster=/);
  const missing = await clients.get(local, 'ops', 'nope');
  assert.ok('error' in missing && /cluster Secret ops\/nope not found/.test(missing.error));
  const empty = await clients.get(local, 'ops', 'empty');
  assert.ok('error' in empty && /has no kubeconfig key/.test(empty.error));
  assert.equal(made.length, 1, 'no client for a refused Secret');

  await local.patch(
    Secret,
    'ops',
    'prod-a',
    { data: { kubeconfig: kubeconfig('https://10.0.0.2:6443') } },
    'merge',
  );
  const b = await clients.get(local, 'ops', 'prod-a');
  assert.ok('client' in b && b.client.server === 'https://10.0.0.2:6443');
  await clients.close();
  assert.deepEqual(closed.sort(), ['https://10.0.0.1:6443', 'https://10.0.0.2:6443']);
});
