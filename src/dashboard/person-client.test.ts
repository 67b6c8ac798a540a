import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { clientConfigForToken } from './person-client.ts';

test("keeps the cluster and drops every part of the dashboard's own identity", () => {
  const base = new KubeConfig();
  base.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: 'Q0E=', skipTLSVerify: false }],
    users: [{ name: 'controller', token: 'controller-token', certData: 'Y2VydA==', keyData: 'a2V5', impersonateUser: 'root' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'controller' }],
    currentContext: 'ctx',
  });
  const kc = clientConfigForToken(base, 'person-token');
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  assert.equal(kc.getCurrentCluster()?.caData, 'Q0E=');
  assert.deepEqual({ ...kc.getCurrentUser() }, { name: 'person', token: 'person-token' });
});
