import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeClient } from './client.ts';
import { parseKubeConfig, type ResolvedKubeConfig } from './kubeconfig.ts';
import { ConfigMap } from './kinds.ts';

/** A plain-HTTP stand-in for the API server that answers every GET with an empty ConfigMap. */
async function apiServer(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ kubeConfig: ResolvedKubeConfig; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: req.url?.split('/').pop() ?? '' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const kubeConfig = parseKubeConfig(
    JSON.stringify({
      'current-context': 'x',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            'insecure-skip-tls-verify': true,
          },
        },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  return { kubeConfig, requests: () => requests };
}

test('requests beyond the burst wait for the rate limit, in order', async (t) => {
  const { kubeConfig, requests } = await apiServer(t);
  const throttled: { waitedMs: number; request: string }[] = [];
  const client = await createKubeClient({
    kubeConfig,
    qps: 2,
    burst: 2,
    onThrottle: (waitedMs, request) => throttled.push({ waitedMs, request }),
  });
  t.after(() => client.close());
  const names = ['a', 'b', 'c', 'd'];
  const got = await Promise.all(names.map((n) => client.get(ConfigMap, 'ns', n)));
  assert.deepEqual(
    got.map((o) => o?.metadata.name),
    names,
  );
  assert.equal(requests(), 4);
  // Burst 2 passes at once; the third and the fourth wait, the fourth behind the third.
  // (How long exactly is the bucket's business, tested on a fake clock in
  // rate-limit.test.ts; here real time passes between the calls.)
  assert.equal(throttled.length, 2);
  const [third, fourth] = throttled.map((x) => x.waitedMs);
  assert.ok(
    third !== undefined && fourth !== undefined && third > 0 && fourth > third,
    `waits ${third}, ${fourth}`,
  );
  assert.equal(throttled[0]?.request, 'GET /api/v1/namespaces/ns/configmaps/c');
});

test('qps 0 means no client-side limit', async (t) => {
  const { kubeConfig } = await apiServer(t);
  const throttled: number[] = [];
  const client = await createKubeClient({
    kubeConfig,
    qps: 0,
    burst: 1,
    onThrottle: (waitedMs) => throttled.push(waitedMs),
  });
  t.after(() => client.close());
  await Promise.all(Array.from({ length: 20 }, (_, i) => client.get(ConfigMap, 'ns', `n${i}`)));
  assert.deepEqual(throttled, []);
});
