import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import type { ResolvedKubeConfig } from '../runtime/kubeconfig.ts';

/** A kubeconfig these tests never use for a request (the reviews go through the fake client). */
const unusedKubeConfig: ResolvedKubeConfig = {
  server: 'https://127.0.0.1:1',
  tls: { rejectUnauthorized: true },
  contextName: 'test',
  userName: 'test',
  authorization: async () => undefined,
};
import type { KubeClient } from '../runtime/client.ts';
import { bearerToken, clusterAccess } from './cluster-access.ts';

interface Review {
  path: string;
  body: {
    spec: {
      token?: string;
      user?: string;
      resourceAttributes?: { verb: string; namespace: string; name?: string };
    };
  };
}

/** An API server that knows one token (alice) and lets her list in `shop` only; it records each review. */
function reviewer(): { client: KubeClient; reviews: Review[] } {
  const reviews: Review[] = [];
  const raw = async <T>(_method: string, path: string, body?: unknown): Promise<T> => {
    const review = { path, body } as Review;
    reviews.push(review);
    if (path.endsWith('/tokenreviews')) {
      const ok = review.body.spec.token === 'alice-token';
      return {
        status: ok
          ? { authenticated: true, user: { username: 'alice', uid: 'u1', groups: ['system:authenticated'] } }
          : { authenticated: false, error: 'invalid bearer token' },
      } as T;
    }
    const attributes = review.body.spec.resourceAttributes!;
    return { status: { allowed: attributes.verb === 'list' && attributes.namespace === 'shop' } } as T;
  };
  return { client: { raw } as Pick<KubeClient, 'raw'> as KubeClient, reviews };
}

const request = (authorization?: string): IncomingMessage =>
  ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;

test('bearer tokens are read from the Authorization header only', () => {
  assert.equal(bearerToken(request('Bearer abc.def')), 'abc.def');
  assert.equal(bearerToken(request('bearer abc')), 'abc');
  assert.equal(bearerToken(request('Basic YTpi')), undefined);
  assert.equal(bearerToken(request()), undefined);
});

test('tokens are reviewed once per cache period; unknown ones are 401 with the reason', async () => {
  let now = 0;
  const { client, reviews } = reviewer();
  const access = clusterAccess({
    client,
    kubeConfig: unusedKubeConfig,
    lookup: () => undefined,
    cacheTtlMs: 1000,
    now: () => now,
  });
  const none = await access.authenticate(request());
  assert.deepEqual(none.ok ? undefined : none.refusal.status, 401);
  const bad = await access.authenticate(request('Bearer forged'));
  assert.match(bad.ok ? '' : bad.refusal.message, /not accepted by the API server: invalid bearer token/);
  const first = await access.authenticate(request('Bearer alice-token'));
  assert.equal(first.ok && first.caller.person.username, 'alice');
  await access.authenticate(request('Bearer alice-token'));
  assert.equal(
    reviews.filter((r) => r.path.endsWith('/tokenreviews')).length,
    2,
    'the second alice request used the cache',
  );
  now = 1001;
  await access.authenticate(request('Bearer alice-token'));
  assert.equal(reviews.filter((r) => r.path.endsWith('/tokenreviews')).length, 3, 'expired: reviewed again');
});

test('namespaces are reviewed per person with their uid and groups; an action refused by review writes nothing and is never cached', async () => {
  const { client, reviews } = reviewer();
  const access = clusterAccess({
    client,
    kubeConfig: unusedKubeConfig,
    lookup: () => {
      throw new Error('a refused action must not get as far as reading the release');
    },
    now: () => 0,
  });
  const auth = await access.authenticate(request('Bearer alice-token'));
  assert.ok(auth.ok);
  assert.equal(await access.mayList(auth.caller, 'shop'), true);
  assert.equal(await access.mayList(auth.caller, 'shop'), true);
  assert.equal(await access.mayList(auth.caller, 'bank'), false);
  const sars = reviews.filter((r) => r.path.endsWith('/subjectaccessreviews'));
  assert.equal(sars.length, 2);
  assert.deepEqual(sars[0]?.body.spec, {
    user: 'alice',
    uid: 'u1',
    groups: ['system:authenticated'],
    extra: {},
    resourceAttributes: {
      namespace: 'shop',
      verb: 'list',
      group: 'deploy.codedance.io',
      resource: 'canarydeployments',
    },
  });
  for (let i = 0; i < 2; i++) {
    const outcome = await access.act(auth.caller, 'shop', 'cart', 'abort');
    assert.deepEqual(outcome, {
      ok: false,
      status: 403,
      message: 'alice may not patch canarydeployments "cart" in namespace "shop"',
    });
  }
  const patches = reviews.filter((r) => r.body.spec.resourceAttributes?.verb === 'patch');
  assert.equal(patches.length, 2, 'each action is reviewed afresh');
  assert.equal(patches[0]?.body.spec.resourceAttributes?.name, 'cart');
});

test('webapps are reviewed as their own resource, cached apart from canarydeployments', async () => {
  const { client, reviews } = reviewer();
  const access = clusterAccess({
    client,
    kubeConfig: unusedKubeConfig,
    lookup: () => undefined,
    now: () => 0,
  });
  const auth = await access.authenticate(request('Bearer alice-token'));
  assert.ok(auth.ok);
  assert.equal(await access.mayList(auth.caller, 'shop'), true);
  assert.equal(await access.mayList(auth.caller, 'shop', 'WebApp'), true);
  assert.equal(await access.mayList(auth.caller, 'shop', 'WebApp'), true);
  const sars = reviews
    .filter((r) => r.path.endsWith('/subjectaccessreviews'))
    .map((r) => r.body.spec.resourceAttributes);
  assert.deepEqual(sars, [
    { namespace: 'shop', verb: 'list', group: 'deploy.codedance.io', resource: 'canarydeployments' },
    { namespace: 'shop', verb: 'list', group: 'apps.codedance.io', resource: 'webapps' },
  ]);
});
