import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseKubeConfig } from '../runtime/kubeconfig.ts';
import { clientConfigForToken } from './person-client.ts';

test("keeps the cluster and drops every part of the dashboard's own identity", async () => {
  const base = parseKubeConfig(
    JSON.stringify({
      'current-context': 'ctx',
      clusters: [
        { name: 'c', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0E=' } },
      ],
      users: [
        {
          name: 'controller',
          user: {
            token: 'controller-token',
            'client-certificate-data': 'Y2VydA==',
            'client-key-data': 'a2V5',
          },
        },
      ],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'controller' } }],
    }),
  );
  const kc = clientConfigForToken(base, 'person-token');
  assert.equal(kc.server, 'https://127.0.0.1:6443');
  assert.equal(kc.tls.ca, 'CA');
  assert.equal(kc.tls.cert, undefined);
  assert.equal(kc.tls.key, undefined);
  assert.equal(kc.userName, 'person');
  assert.equal(await kc.authorization(), 'Bearer person-token');
});
