/**
 * The in-cluster dashboard (served by the controller) on the real API server, with real
 * identities: every request's bearer token goes through TokenReview, what a person sees
 * and may do through SubjectAccessReview, and every write is made with the person's own
 * token. A ValidatingAdmissionPolicy (./support.ts) makes the API server refuse any write
 * by the controller identity in these namespaces and any command not named after its
 * real writer, so a passing write is the person's own.
 *
 * People: alice may get/list/watch in A; bob may also patch in A; carol may only patch
 * in B; a ServiceAccount `deployer` may list and patch in A.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { test as nodeTest, type TestContext } from 'node:test';
import type { CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import { startClusterDashboard, type DashboardServer } from '../../../src/dashboard/index.ts';
import type { ReleaseView } from '../../../src/dashboard/release-view.ts';
import type { WebAppView } from '../../../src/dashboard/contract.ts';
import { createKubeClient, loadKubeConfig, type KubeClient } from '../../../src/runtime/client.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import { allowed, grant, testUser, type TestUser } from '../../support/users.ts';
import { commandOf, createRelease, identities, proveWriters, readRelease } from './support.ts';
import { CanaryDeploymentKind, WebAppKind } from '../../../src/api/kinds.ts';

/** The cases, run in order as subtests of one test that owns the setup. */
const cases: [string, { timeout?: number }, () => Promise<void>][] = [];
function test(
  name: string,
  options: { timeout?: number } | (() => Promise<void>),
  fn?: () => Promise<void>,
): void {
  if (typeof options === 'function') cases.push([name, {}, options]);
  else cases.push([name, options, fn!]);
}

const abort = new AbortController();
let admin: KubeClient;
let controller: KubeClient;
let dashboard: DashboardServer;
let A: string;
let B: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let bobBinding: string;

/** Namespaces, people, policy and dashboard(s) for every case; torn down when the file's test ends. */
async function setup(t: TestContext): Promise<void> {
  const owner = (name: string): NamespaceOwner => ({ name, after: (fn) => t.after(fn) });
  t.after(async () => {
    abort.abort();
    await dashboard?.close();
    await controller?.close();
  });
  const ids = await identities();
  admin = ids.admin;
  controller = await createKubeClient({ kubeconfigPath: ids.controllerKubeconfigPath });
  A = await testNamespace(owner('dashboard cluster a'));
  B = await testNamespace(owner('dashboard cluster b'));
  await proveWriters(owner('writers'), admin, [A, B], controller);
  await createRelease(admin, A, 'cart');
  await createRelease(admin, B, 'pay');
  [alice, bob, carol] = await Promise.all([testUser('alice'), testUser('bob'), testUser('carol')]);
  await grant(A, 'alice', ['get', 'list', 'watch']);
  bobBinding = await grant(A, 'bob', ['get', 'list', 'watch', 'patch']);
  await grant(B, 'carol', ['patch']);
  // As the controller serves it: the controller's identity reads and reviews; nothing more.
  dashboard = await startClusterDashboard({
    client: controller,
    kubeConfig: loadKubeConfig({ path: ids.controllerKubeconfigPath }),
    namespaces: [A, B],
    port: 0,
    log: silentLogger(),
    signal: abort.signal,
    cacheTtlMs: 200,
  });
  await waitFor(async () => (await releases(bob.token)).some((r) => r.name === 'cart'), {
    describe: 'the dashboard to see the releases',
  });
}

function url(path: string): string {
  return new URL(path.slice(1), dashboard.url).toString();
}

/** Every row of the list (releases and WebApps) `token` gets. */
async function rows(token: string): Promise<(ReleaseView | WebAppView)[]> {
  const response = await fetch(url('/api/releases'), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return (await response.json()) as (ReleaseView | WebAppView)[];
}

/** The CanaryDeployments of the list `token` gets. */
async function releases(token: string): Promise<ReleaseView[]> {
  return (await rows(token)).filter(
    (r): r is ReleaseView => r.kind !== 'WebApp' && r.name !== 'writers-probe',
  );
}

/** POSTs a command the way the page does; `headers` replaces the page's own. */
async function act(
  namespace: string,
  name: string,
  verb: string,
  token: string | undefined,
  headers?: Record<string, string>,
  body = '{}',
): Promise<{ status: number; message: string }> {
  const response = await fetch(url(`/api/releases/${namespace}/${name}/${verb}`), {
    method: 'POST',
    headers: headers ?? {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'content-type': 'application/json',
      'x-codedance-request': 'dashboard',
    },
    body,
  });
  return { status: response.status, message: ((await response.json()) as { message: string }).message };
}

/** Runs `fn` and asserts the release was not written meanwhile. */
async function nothingWritten(namespace: string, name: string, fn: () => Promise<void>): Promise<void> {
  const before = (await readRelease(admin, namespace, name)).metadata.resourceVersion;
  await fn();
  assert.equal(
    (await readRelease(admin, namespace, name)).metadata.resourceVersion,
    before,
    `nothing may be written to ${namespace}/${name}`,
  );
}

test('no token, or one the API server does not know: 401, and nothing is written', async () => {
  for (const path of ['/api/releases', '/api/stream', '/api/whoami']) {
    const response = await fetch(url(path));
    assert.equal(response.status, 401, path);
    assert.match(((await response.json()) as { message: string }).message, /bearer token is required/);
  }
  const forged = await fetch(url('/api/releases'), { headers: { authorization: 'Bearer not-a-token' } });
  assert.equal(forged.status, 401);
  await nothingWritten(A, 'cart', async () => {
    assert.equal((await act(A, 'cart', 'promote', undefined)).status, 401);
    assert.equal((await act(A, 'cart', 'abort', 'not-a-token')).status, 401);
  });
});

test('alice (get/list/watch in A) sees only A, and cannot act: 403, nothing written', async () => {
  assert.deepEqual(
    (await (
      await fetch(url('/api/whoami'), { headers: { authorization: `Bearer ${alice.token}` } })
    ).json()) as unknown,
    { username: 'alice' },
  );
  assert.deepEqual(
    (await releases(alice.token)).map((r) => `${r.namespace}/${r.name}`),
    [`${A}/cart`],
  );
  // The stream's snapshot obeys the same rule.
  const stream = new AbortController();
  const response = await fetch(url('/api/stream'), {
    headers: { authorization: `Bearer ${alice.token}` },
    signal: stream.signal,
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!/event: snapshot\ndata: .*\n\n/.test(text)) text += (await reader.read()).value ?? '';
  stream.abort();
  const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(text)![1]!) as ReleaseView[];
  assert.deepEqual(
    snapshot.map((r) => r.namespace).filter((ns) => ns !== A),
    [],
    'no release of B in the stream',
  );
  await nothingWritten(A, 'cart', async () => {
    const refused = await act(A, 'cart', 'promote', alice.token);
    assert.equal(refused.status, 403);
    assert.match(refused.message, /alice may not patch/);
  });
  await nothingWritten(B, 'pay', async () =>
    assert.equal((await act(B, 'pay', 'abort', alice.token)).status, 403),
  );
});

test('bob (patch in A) acts on A with his own credentials, not on B', async () => {
  const seen = await releases(bob.token);
  assert.deepEqual(
    seen.map((r) => r.namespace),
    [A],
  );
  assert.equal(seen[0]?.malformed, undefined, 'an object as the API server stores it is read as a release');
  const promoted = await act(A, 'cart', 'promote', bob.token);
  assert.equal(promoted.status, 200, promoted.message);
  const release = await readRelease(admin, A, 'cart');
  // The policy accepted `;by=bob` only because bob's token made the request.
  assert.match(commandOf(release) ?? '', /^promote:[^;]+;by=bob$/);
  const entry = release.metadata.managedFields?.find(
    (f) => f.operation === 'Update' && JSON.stringify(f.fieldsV1).includes('deploy.codedance.io/command'),
  );
  assert.equal(entry?.manager, 'codedance-dashboard');
  const paused = await act(A, 'cart', 'pause', bob.token);
  assert.equal(paused.status, 200, paused.message);
  const afterPause = await readRelease(admin, A, 'cart');
  assert.equal(afterPause.spec.paused, true);
  assert.equal(afterPause.metadata.annotations?.['deploy.codedance.io/paused-by'], 'bob');
  await nothingWritten(B, 'pay', async () => {
    const refused = await act(B, 'pay', 'promote', bob.token);
    assert.equal(refused.status, 403);
    assert.match(refused.message, /bob may not patch canarydeployments "pay"/);
  });
});

test('the shipped policy refuses a command that names someone else, whoever writes it', async () => {
  const own = await bob.client();
  try {
    await nothingWritten(A, 'cart', async () => {
      for (const annotations of [
        { 'deploy.codedance.io/command': 'promote:forged;by=alice' },
        { 'deploy.codedance.io/paused-by': 'alice' },
      ]) {
        await assert.rejects(
          own.patch(CanaryDeploymentKind, A, 'cart', { metadata: { annotations } }, 'merge'),
          /must be the user making the request/,
        );
      }
    });
    // Naming himself is fine.
    await own.patch(
      CanaryDeploymentKind,
      A,
      'cart',
      { metadata: { annotations: { 'deploy.codedance.io/command': 'promote:own;by=bob' } } },
      'merge',
    );
  } finally {
    await own.close();
  }
});

test('carol (patch in B, no list) sees nothing, yet may act on B', async () => {
  assert.deepEqual(await releases(carol.token), []);
  const done = await act(B, 'pay', 'abort', carol.token);
  assert.equal(done.status, 200, done.message);
  assert.match(commandOf(await readRelease(admin, B, 'pay')) ?? '', /^abort:[^;]+;by=carol$/);
});

test('cross-site style POSTs are refused before any review, even with a valid token', async () => {
  await nothingWritten(A, 'cart', async () => {
    const auth = { authorization: `Bearer ${bob.token}` };
    const form = await act(
      A,
      'cart',
      'abort',
      bob.token,
      { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
      'confirm=1',
    );
    assert.equal(form.status, 403);
    const noHeader = await act(A, 'cart', 'abort', bob.token, {
      ...auth,
      'content-type': 'application/json',
    });
    assert.equal(noHeader.status, 403);
    assert.match(noHeader.message, /x-codedance-request/);
    const otherOrigin = await act(A, 'cart', 'abort', bob.token, {
      ...auth,
      'content-type': 'application/json',
      'x-codedance-request': '1',
      origin: 'https://evil.example',
    });
    assert.equal(otherOrigin.status, 403);
  });
});

test('a right taken away stops the next action', async () => {
  await admin.raw('DELETE', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/rolebindings/${bobBinding}`);
  await waitFor(async () => !(await allowed(A, 'bob', 'patch')), { describe: 'bob to lose patch in A' });
  await nothingWritten(A, 'cart', async () =>
    assert.equal((await act(A, 'cart', 'resume', bob.token)).status, 403),
  );
  await waitFor(async () => (await releases(bob.token)).length === 0, {
    describe: "bob's list to be empty once his cached right expires",
  });
});

test('with --dashboard-tls-cert/-key it serves HTTPS: tokens never travel in the clear', async () => {
  const { stateDir } = await testCluster();
  // The API server's own self-signed serving certificate is valid for 127.0.0.1.
  const certFile = join(stateDir, 'apiserver-certs', 'apiserver.crt');
  const tls = await startClusterDashboard({
    client: controller,
    kubeConfig: loadKubeConfig({ path: (await identities()).controllerKubeconfigPath }),
    namespaces: [A],
    port: 0,
    log: silentLogger(),
    signal: abort.signal,
    tls: { certFile, keyFile: join(stateDir, 'apiserver-certs', 'apiserver.key') },
  });
  const agent = new Agent({ connect: { ca: await readFile(certFile, 'utf8') } });
  try {
    assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await undiciFetch(new URL('api/releases', tls.url), { dispatcher: agent })).status, 401);
    const whoami = await undiciFetch(new URL('api/whoami', tls.url), {
      dispatcher: agent,
      headers: { authorization: `Bearer ${alice.token}` },
    });
    assert.deepEqual(await whoami.json(), { username: 'alice' });
    await assert.rejects(fetch(tls.url.replace('https:', 'http:')), 'no plain HTTP on the TLS port');
  } finally {
    await agent.close();
    await tls.close();
  }
});

test('a ServiceAccount token is a person too: reviewed with its groups and extra, and named in the command', async () => {
  await admin.raw('POST', `/api/v1/namespaces/${A}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'deployer' },
  });
  const role = { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' };
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'deployer' },
    rules: [
      { apiGroups: ['deploy.codedance.io'], resources: ['canarydeployments'], verbs: ['list', 'patch'] },
    ],
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'deployer' },
    roleRef: role,
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: A }],
  });
  const issued = await admin.raw<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${A}/serviceaccounts/deployer/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 600 },
    },
  );
  const who = `system:serviceaccount:${A}:deployer`;
  await waitFor(() => allowed(A, who, 'patch'), { describe: 'the ServiceAccount to be allowed to patch' });
  const current = (await readRelease(admin, A, 'cart')) as CanaryDeployment;
  const verb = current.spec.paused ? 'resume' : 'pause';
  const done = await act(A, 'cart', verb, issued.status.token);
  assert.equal(done.status, 200, done.message);
  const release = await readRelease(admin, A, 'cart');
  if (verb === 'resume') assert.match(commandOf(release) ?? '', new RegExp(`^resume:[^;]+;by=${who}$`));
  else assert.equal(release.metadata.annotations?.['deploy.codedance.io/paused-by'], who);
});

test('a WebApp is listed, and streamed, only to a person the API server lets list webapps in its namespace', async () => {
  await admin.create(WebAppKind, {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'storefront', namespace: A },
    spec: { image: 'nginx:1.27' },
  });
  const webApps = async (token: string): Promise<WebAppView[]> =>
    (await rows(token)).filter((r): r is WebAppView => r.kind === 'WebApp');
  // alice may list webapps in A as well; dave may list canarydeployments there, not webapps.
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'alice-webapps' },
    rules: [{ apiGroups: ['apps.codedance.io'], resources: ['webapps'], verbs: ['list'] }],
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'alice-webapps' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'alice-webapps' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
  await grant(A, 'dave', ['list']);
  const dave = await testUser('dave');
  // alice's cached answer expires after cacheTtlMs; the controller's informer has the WebApp for her.
  const seen = await waitFor(async () => (await webApps(alice.token)).find((w) => w.name === 'storefront'), {
    describe: 'alice to see the WebApp she may list',
  });
  assert.equal(seen.namespace, A);
  assert.equal(seen.image, 'nginx:1.27');
  assert.equal(seen.replicas, 1, 'the API server defaulted spec.replicas');
  assert.equal(seen.release, undefined, 'no spec.release: no CanaryDeployment to link to');
  // The dashboard holds the WebApp now: the others' empty answers are refusals, not a cache still filling.
  await waitFor(async () => (await releases(dave.token)).some((r) => r.name === 'cart'), {
    describe: 'dave to see the release he may list',
  });
  assert.deepEqual(await webApps(dave.token), [], 'dave may list canarydeployments in A, not webapps');
  assert.deepEqual(await rows(carol.token), [], 'carol may list nothing');
  // The stream's snapshot obeys the same rule.
  const snapshot = async (token: string): Promise<(ReleaseView | WebAppView)[]> => {
    const stream = new AbortController();
    const response = await fetch(url('/api/stream'), {
      headers: { authorization: `Bearer ${token}` },
      signal: stream.signal,
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: snapshot\ndata: .*\n\n/.test(text)) text += (await reader.read()).value ?? '';
    stream.abort();
    return JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(text)![1]!) as (ReleaseView | WebAppView)[];
  };
  assert.ok((await snapshot(alice.token)).some((r) => r.kind === 'WebApp' && r.name === 'storefront'));
  assert.deepEqual(
    (await snapshot(dave.token)).filter((r) => r.kind === 'WebApp'),
    [],
  );
});

nodeTest('the in-cluster dashboard, with real identities', { timeout: 240_000 }, async (t) => {
  await setup(t);
  for (const [name, options, fn] of cases) await t.test(name, options, fn);
});
