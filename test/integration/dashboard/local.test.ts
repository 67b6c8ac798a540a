/**
 * The local dashboard (`codedance dashboard`) on the real API server: it watches and
 * writes with the person's own kubeconfig, so the API server's RBAC decides. The
 * writer-checking policy of ./support.ts proves each accepted command was written with
 * the person's credentials (and never the controller's).
 *
 * People: alice may get/list/watch in A; bob may also patch in A; nobody but admin has
 * anything in B.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { test as nodeTest, type TestContext } from 'node:test';
import { startLocalDashboard, type LocalDashboard } from '../../../src/dashboard/local.ts';
import type { ReleaseView } from '../../../src/dashboard/release-view.ts';
import type { EventView, EventsAnswer, WebAppView } from '../../../src/dashboard/contract.ts';
import { createKubeClient, type KubeClient } from '../../../src/runtime/client.ts';
import { createEventRecorder } from '../../../src/runtime/events.ts';
import { silentLogger } from '../../../src/runtime/logging.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import { grant, testUser, type TestUser } from '../../support/users.ts';
import { commandOf, createRelease, identities, proveWriters, readRelease } from './support.ts';
import { WebAppKind } from '../../../src/api/kinds.ts';

const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'codedance');
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
const open: LocalDashboard[] = [];
let admin: KubeClient;
let controller: KubeClient;
let A: string;
let B: string;
let alice: TestUser;
let bob: TestUser;

/** Namespaces, people, policy and dashboard(s) for every case; torn down when the file's test ends. */
async function setup(t: TestContext): Promise<void> {
  const owner = (name: string): NamespaceOwner => ({ name, after: (fn) => t.after(fn) });
  t.after(async () => {
    abort.abort();
    for (const dashboard of open) await dashboard.close();
    await controller?.close();
  });
  const ids = await identities();
  admin = ids.admin;
  controller = await createKubeClient({ kubeconfigPath: ids.controllerKubeconfigPath });
  A = await testNamespace(owner('dashboard local a'));
  B = await testNamespace(owner('dashboard local b'));
  await proveWriters(owner('writers'), admin, [A, B], controller);
  await createRelease(admin, A, 'cart');
  await createRelease(admin, B, 'pay');
  [alice, bob] = await Promise.all([testUser('alice'), testUser('bob')]);
  await grant(A, 'alice', ['get', 'list', 'watch']);
  await grant(A, 'bob', ['get', 'list', 'watch', 'patch']);
}

async function dashboardOf(user: TestUser, namespaces?: string[]): Promise<LocalDashboard> {
  const dashboard = await startLocalDashboard({
    kubeconfigPath: user.kubeconfigPath,
    namespaces,
    port: 0,
    log: silentLogger(),
    signal: abort.signal,
  });
  open.push(dashboard);
  return dashboard;
}

async function views(dashboard: LocalDashboard): Promise<ReleaseView[]> {
  const response = await fetch(new URL('api/releases', dashboard.url));
  assert.equal(response.status, 200);
  return ((await response.json()) as ReleaseView[]).filter((r) => r.name !== 'writers-probe');
}

async function act(
  dashboard: LocalDashboard,
  namespace: string,
  name: string,
  verb: string,
  headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-codedance-request': 'dashboard',
  },
): Promise<{ status: number; message: string }> {
  const response = await fetch(new URL(`api/releases/${namespace}/${name}/${verb}`, dashboard.url), {
    method: 'POST',
    headers,
    body: '{}',
  });
  return { status: response.status, message: ((await response.json()) as { message: string }).message };
}

async function nothingWritten(namespace: string, name: string, fn: () => Promise<void>): Promise<void> {
  const before = (await readRelease(admin, namespace, name)).metadata.resourceVersion;
  await fn();
  assert.equal(
    (await readRelease(admin, namespace, name)).metadata.resourceVersion,
    before,
    `nothing may be written to ${namespace}/${name}`,
  );
}

test('binds 127.0.0.1, and knows the person from the API server (SelfSubjectReview)', async () => {
  const dashboard = await dashboardOf(alice, [A]);
  assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal(dashboard.username, 'alice');
  assert.deepEqual((await (await fetch(new URL('api/whoami', dashboard.url))).json()) as unknown, {
    username: 'alice',
  });
});

test("alice's dashboard reads through her own watch and cannot act: the API server says 403, nothing written", async () => {
  const dashboard = await dashboardOf(alice, [A]);
  await waitFor(async () => (await views(dashboard)).some((r) => r.name === 'cart'), {
    describe: "alice's watch to list cart",
  });
  await nothingWritten(A, 'cart', async () => {
    const refused = await act(dashboard, A, 'cart', 'promote');
    assert.equal(refused.status, 403);
    assert.match(refused.message, /"alice" cannot patch/);
  });
});

test("a release's Events are read with the person's credentials: refused (403) to alice, who may not list them; shown to one who may, series counted, an earlier release's left out", async () => {
  const cart = await readRelease(admin, A, 'cart');
  const recorder = createEventRecorder({ client: admin, controller: 'canary', instance: 'events-test' });
  // Published as the controller publishes (events.k8s.io/v1); the page reads core v1.
  await recorder.publish(
    { ...cart, metadata: { ...cart.metadata, uid: 'uid-of-an-earlier-cart' } },
    { reason: 'OldNews', note: 'about the cart released before this one' },
  );
  for (let i = 0; i < 2; i++)
    await recorder.publish(cart, {
      type: 'Warning',
      reason: 'CrashLoopBackOff',
      note: 'pod cart-canary-abc: container app is crash-looping',
    });
  const events = (dashboard: LocalDashboard) =>
    fetch(new URL(`api/releases/${A}/cart/events`, dashboard.url)).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as EventsAnswer & { message?: string },
    }));

  const asAlice = await dashboardOf(alice, [A]);
  const refused = await events(asAlice);
  assert.equal(refused.status, 403);
  assert.match(refused.body.message ?? '', /"alice" cannot list resource "events"/);

  const { kubeconfigPath } = await testCluster();
  const asAdmin = await startLocalDashboard({
    kubeconfigPath,
    namespaces: [A],
    port: 0,
    log: silentLogger(),
    signal: abort.signal,
  });
  open.push(asAdmin);
  // Until the dashboard's watch holds cart, its uid is unknown and nothing is left out.
  await waitFor(async () => (await views(asAdmin)).some((r) => r.name === 'cart'), {
    describe: "the admin dashboard's watch to list cart",
  });
  let read: EventView[] = [];
  await waitFor(
    async () => {
      const answer = await events(asAdmin);
      read = answer.status === 200 ? answer.body.events : [];
      return read.some((e) => e.reason === 'CrashLoopBackOff' && e.count === 2);
    },
    { describe: 'the crash-loop Event, counted twice', timeoutMs: 30_000 },
  );
  const crash = read.find((e) => e.reason === 'CrashLoopBackOff')!;
  assert.equal(crash.type, 'Warning');
  assert.equal(crash.note, 'pod cart-canary-abc: container app is crash-looping');
  assert.equal(crash.reporter, 'codedance.io/canary');
  assert.ok(!read.some((e) => e.reason === 'OldNews'), 'the earlier release of the name is left out');
});

test('a person who may not watch everywhere gets the context namespace, not an error', async () => {
  const dashboard = await dashboardOf(alice);
  assert.deepEqual(dashboard.namespaces, ['default']);
});

test("bob's dashboard acts on A as bob; in B, where he has nothing, it shows nothing and writes nothing", async () => {
  const inA = await dashboardOf(bob, [A]);
  await waitFor(async () => (await views(inA)).some((r) => r.name === 'cart'), {
    describe: "bob's watch to list cart",
  });
  const done = await act(inA, A, 'cart', 'promote');
  assert.equal(done.status, 200, done.message);
  assert.match(commandOf(await readRelease(admin, A, 'cart')) ?? '', /^promote:[^;]+;by=bob$/);
  const inB = await dashboardOf(bob, [B]);
  assert.deepEqual(await views(inB), []);
  await nothingWritten(B, 'pay', async () => assert.equal((await act(inB, B, 'pay', 'abort')).status, 403));
});

/** Whether the API server lets `user` do `verb` on `group`/`resource` in `namespace` now. */
async function allowedOn(
  namespace: string,
  user: string,
  verb: string,
  group: string,
  resource: string,
): Promise<boolean> {
  const review = await admin.raw<{ status?: { allowed?: boolean } }>(
    'POST',
    '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user, resourceAttributes: { namespace, verb, group, resource } },
    },
  );
  return review.status?.allowed === true;
}

test("WebApps come through the person's own watch where they may watch webapps; elsewhere none, and the releases still show", async () => {
  await admin.create(WebAppKind, {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'storefront', namespace: A },
    spec: { image: 'nginx:1.27' },
  });
  const webApps = async (dashboard: LocalDashboard): Promise<WebAppView[]> => {
    const response = await fetch(new URL('api/releases', dashboard.url));
    assert.equal(response.status, 200);
    return ((await response.json()) as (ReleaseView | WebAppView)[]).filter(
      (r): r is WebAppView => r.kind === 'WebApp',
    );
  };
  // bob may watch canarydeployments in A, not webapps: his dashboard lists the release and no WebApp.
  const without = await dashboardOf(bob, [A]);
  await waitFor(async () => (await views(without)).some((r) => r.name === 'cart'), {
    describe: "bob's dashboard to list cart",
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'alice-webapps' },
    rules: [{ apiGroups: ['apps.codedance.io'], resources: ['webapps'], verbs: ['list', 'watch'] }],
  });
  await admin.raw('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${A}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'alice-webapps' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'alice-webapps' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
  await waitFor(() => allowedOn(A, 'alice', 'watch', 'apps.codedance.io', 'webapps'), {
    describe: 'alice to be allowed to watch webapps in A',
  });
  const withRight = await dashboardOf(alice, [A]);
  const seen = await waitFor(async () => (await webApps(withRight)).find((w) => w.name === 'storefront'), {
    describe: "alice's dashboard to list the WebApp",
  });
  assert.equal(seen.image, 'nginx:1.27');
  // Both dashboards' watches have had the same time since the WebApp was created.
  assert.deepEqual(await webApps(without), [], 'bob may not watch webapps: none shown, and no error');
});

test('browser safety: a cross-site POST without the header, or under a foreign Host name, is refused', async () => {
  const dashboard = await dashboardOf(bob, [A]);
  await nothingWritten(A, 'cart', async () => {
    assert.equal(
      (await act(dashboard, A, 'cart', 'abort', { 'content-type': 'application/x-www-form-urlencoded' }))
        .status,
      403,
    );
    assert.equal(
      (
        await act(dashboard, A, 'cart', 'abort', {
          'content-type': 'application/json',
          'x-codedance-request': '1',
          origin: 'http://evil.example',
        })
      ).status,
      403,
    );
    // DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header keeps the name.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(new URL(`api/releases/${A}/cart/abort`, dashboard.url), {
        method: 'POST',
        headers: {
          host: `evil.example:${dashboard.port}`,
          'content-type': 'application/json',
          'x-codedance-request': '1',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(rebound, 421);
  });
  const page = await fetch(dashboard.url);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
});

test('`codedance dashboard` prints its 127.0.0.1 URL, serves as the kubeconfig user, and stops on Ctrl-C', {
  timeout: 60_000,
}, async () => {
  const child = spawn(bin, ['dashboard', '--kubeconfig', bob.kubeconfigPath, '-n', A, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const line = await waitFor(
      () => /Codedance dashboard as bob, namespace \S+: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out),
      { describe: `the dashboard's URL in its output (so far: ${out})`, timeoutMs: 30_000 },
    );
    const whoami = await fetch(new URL('api/whoami', line[1]!));
    assert.deepEqual((await whoami.json()) as unknown, { username: 'bob' });
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, out);
});

nodeTest('the local dashboard, with real identities', { timeout: 240_000 }, async (t) => {
  await setup(t);
  for (const [name, options, fn] of cases) await t.test(name, options, fn);
});
