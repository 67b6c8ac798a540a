/**
 * Least privilege, proven: the controller's ClusterRole (and the Lease Role in its own
 * namespace) grants exactly what the controller uses, as the API server's audit log
 * records it.
 *
 * One controller process (both controllers, leader election on, as user
 * `codedance-controller` under the generated roles) runs every kind of release the
 * product has: each traffic provider (Replicas, Istio, Nginx, Gateway API), a rollback
 * (crash-looping canary), BlueGreen, a release deleted mid-way, notifications through an
 * opted-in Secret and a refused one, a WebApp without and with `spec.release`, and the
 * deletion of both WebApps, and a ReleaseGroup making its member from a template. Then every (verb, API group, resource, subresource) its
 * requests used is read from the audit log (user `codedance-controller`, the
 * controller's User-Agent) and compared with the rules in src/api/manifests.ts:
 * - a 403, or a use the roles do not grant, is a missing grant;
 * - a grant nothing used is an unused grant.
 * Both fail the test, which prints the change to make in src/api/manifests.ts.
 *
 * Other test files running at the same time may run controllers too (in their own
 * namespaces); their requests only add real uses, which is fine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ClusterSecretLabel } from '../../../src/api/names.ts';
import { randomBytes } from 'node:crypto';
import { NotificationSecretLabel, type CanaryDeployment } from '../../../src/api/canary-deployment.ts';
import type { WebApp, WebAppSpec } from '../../../src/api/webapp.ts';
import {
  CONTROLLER_NAMESPACE,
  CONTROLLER_ROLE,
  controllerRules,
  LEASE_ROLE,
  leaseRules,
  rbacManifests,
  type PolicyRule,
} from '../../../src/api/manifests.ts';
import { auditPaths, readAuditEvents, type AuditEvent } from '../../../src/cluster/audit.ts';
import { controllerUser } from '../../../src/cluster/credentials.ts';
import { ControllerUserAgentProduct } from '../../../src/main.ts';
import { CanaryPodLabelsAnnotation } from '../../../src/canary/workloads.ts';
import { NotificationsReadyCondition } from '../../../src/canary/notification-problems.ts';
import { startReceiver } from '../../../src/notify/receiver.test-support.ts';
import type { KubeObject, OwnerReference } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import type { VirtualService } from '../../../src/traffic/istio.ts';
import type { Ingress } from '../../../src/traffic/nginx.ts';
import { testCluster, testNamespace, waitFor, type NamespaceOwner } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  names,
  waitPhase,
} from '../canary/support.ts';
import {
  ensureTcpRouteCrd,
  ensureTrafficCrds,
  installApi,
  startController,
} from '../../support/controller.ts';
import {
  CanaryDeploymentKind,
  ReleaseGroupKind,
  ReleasePlanKind,
  WebAppKind,
} from '../../../src/api/kinds.ts';

// At the top level: testCluster() registers the admin client's close with the file's root.
const cluster = await testCluster();
const { admin } = cluster;
const fieldManager = 'codedance-rbac-audit-test';

/** One permission as RBAC checks it. */
interface Tuple {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
}

const keyOf = (t: Tuple): string =>
  `${t.verb} ${t.group || 'core'}/${t.resource}${t.subresource ? `/${t.subresource}` : ''}`;

/**
 * Grants the audit log cannot show as a request of their own, each with the evidence that
 * makes it used (a `create` by a server-side apply that answered 201 is another; see below). The
 * OwnerReferencesPermissionEnforcement admission plugin (on in the local API server)
 * checks `update` on the owner's finalizers when an object is written with a
 * blockOwnerDeletion owner reference, inside the write's own request: the write is in the
 * log, the check is not. Each applies only if a scenario saw such an owner reference.
 */
const impliedByOwnerReferences: Record<string, Tuple> = {
  CanaryDeployment: {
    verb: 'update',
    group: 'deploy.codedance.io',
    resource: 'canarydeployments',
    subresource: 'finalizers',
  },
  WebApp: { verb: 'update', group: 'apps.codedance.io', resource: 'webapps', subresource: 'finalizers' },
  ReleaseGroup: {
    verb: 'update',
    group: 'deploy.codedance.io',
    resource: 'releasegroups',
    subresource: 'finalizers',
  },
};

/** Every (verb, group, resource, subresource) `rules` grant; wildcards are refused outright. */
function expand(rules: readonly PolicyRule[]): Map<string, Tuple> {
  const tuples = new Map<string, Tuple>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const path of rule.resources) {
        for (const verb of rule.verbs) {
          assert.ok(
            ![group, path, verb].includes('*'),
            `a wildcard in ${JSON.stringify(rule)}: least privilege names what it grants`,
          );
          const [resource = '', subresource = ''] = path.split('/');
          const tuple = { verb, group, resource, subresource };
          tuples.set(keyOf(tuple), tuple);
        }
      }
    }
  }
  return tuples;
}

/** Where a tuple lives in src/api/manifests.ts, as the failure message names it. */
function ruleText(t: Tuple): string {
  return `{ apiGroups: ['${t.group}'], resources: ['${t.resource}${t.subresource ? `/${t.subresource}` : ''}'], verbs: ['${t.verb}'] }`;
}

/** What one controller process did, from the audit log. */
interface Usage {
  tuple: Tuple;
  count: number;
  /** A request that used it, for the message. */
  example: string;
}

function tupleOf(event: AuditEvent): Tuple | undefined {
  const ref = event.objectRef;
  if (!ref?.resource) return undefined;
  return {
    verb: event.verb,
    group: ref.apiGroup ?? '',
    resource: ref.resource,
    subresource: ref.subresource ?? '',
  };
}

// ---------------------------------------------------------------------------------------
// Set-up: the API, the roles under test bound to the controller user, a controller.

async function installRoles(): Promise<void> {
  await installApi(admin);
  await ensureTrafficCrds(admin);
  await admin.apply(
    kinds.Namespace,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONTROLLER_NAMESPACE } },
    { fieldManager },
  );
  for (const obj of rbacManifests() as KubeObject[]) {
    if (obj.kind === 'ClusterRole' && obj.metadata.name === CONTROLLER_ROLE)
      await admin.apply(kinds.ClusterRole, obj, { fieldManager });
    if (obj.kind === 'Role' && obj.metadata.name === LEASE_ROLE)
      await admin.apply(kinds.Role, obj, { fieldManager });
  }
  const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: controllerUser }];
  await admin.apply(
    kinds.ClusterRoleBinding,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${CONTROLLER_ROLE}-rbac-audit` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: CONTROLLER_ROLE },
      subjects,
    } as KubeObject,
    { fieldManager },
  );
  await admin.apply(
    kinds.RoleBinding,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${LEASE_ROLE}-rbac-audit`, namespace: CONTROLLER_NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: LEASE_ROLE },
      subjects,
    } as KubeObject,
    { fieldManager },
  );
}

// ---------------------------------------------------------------------------------------
// The scenarios. Each runs in its own namespace and checks that it did what it is for.

/** Owner references the controller wrote with blockOwnerDeletion, by owner kind. */
const blockingOwners = new Set<string>();

function noteOwners(obj: KubeObject | undefined): void {
  for (const ref of obj?.metadata.ownerReferences ?? ([] as OwnerReference[]))
    if (ref.blockOwnerDeletion) blockingOwners.add(ref.kind);
}

const steps = {
  type: 'Linear' as const,
  steps: [
    { weight: 50, pause: '1s' },
    { weight: 100, pause: '0s' },
  ],
};
const releaseTimeoutMs = 180_000;

interface KubeEvent extends KubeObject {
  reason?: string;
  type?: string;
  note?: string;
  regarding?: { name?: string; kind?: string };
  series?: { count?: number };
}

async function replicasWithNotifications(t: NamespaceOwner, ns: string): Promise<void> {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  await admin.create(kinds.Secret, {
    metadata: { name: 'release-hooks', namespace: ns, labels: { [NotificationSecretLabel]: 'true' } },
    stringData: { url: `${receiver.url}/team` },
  } as KubeObject);
  await admin.create(kinds.Secret, {
    metadata: { name: 'app-credentials', namespace: ns },
    stringData: { url: `${receiver.url}/leak` },
  } as KubeObject);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    notifications: [
      { name: 'team', type: 'Webhook', secretRef: { name: 'release-hooks' } },
      { name: 'leak', type: 'Webhook', secretRef: { name: 'app-credentials' } },
    ],
  });
  noteOwners(
    await waitFor(() => getDeployment(admin, ns, 'myapp-canary'), {
      describe: 'the Replicas canary Deployment',
      timeoutMs: 60_000,
    }),
  );
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
  await waitFor(
    () => receiver.requests.some((r) => r.url.pathname === '/team' && r.body.includes('"Completed"')),
    { describe: 'Completed delivered through the opted-in Secret' },
  );
  assert.ok(
    !receiver.requests.some((r) => r.url.pathname === '/leak'),
    'nothing was sent through the Secret without the opt-in label',
  );
  const cd = await waitFor(
    async () => {
      const release = await getRelease(admin, ns, 'myapp');
      return release?.status?.conditions?.some(
        (c) => c.type === NotificationsReadyCondition && c.status === 'False',
      )
        ? release
        : undefined;
    },
    { describe: `${NotificationsReadyCondition}=False on the release` },
  );
  const condition = cd.status?.conditions?.find((c) => c.type === NotificationsReadyCondition);
  assert.equal(condition?.reason, 'SecretNotOptedIn');
  assert.match(condition?.message ?? '', new RegExp(`app-credentials.*${NotificationSecretLabel}=true`));
  // Started, Advanced and Completed each refused it: one Event, repeated as a series.
  const refused = await waitFor(
    async () => {
      const events = await admin.list<KubeEvent>(kinds.Event, { namespace: ns });
      return events.items.find(
        (e) =>
          e.reason === 'NotificationSecretRefused' && e.type === 'Warning' && (e.series?.count ?? 1) >= 2,
      );
    },
    { describe: 'a Warning NotificationSecretRefused Event, repeated as a series' },
  );
  assert.equal(refused.regarding?.name, 'myapp');
  assert.match(refused.note ?? '', /Secret .*\/app-credentials is not opted in/);
}

async function istio(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name: 'myapp', namespace: ns },
    spec: {
      hosts: ['myapp'],
      http: [{ name: 'primary', route: [{ destination: { host: 'myapp', port: { number: 80 } } }] }],
    },
  });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp' } },
  });
  // The DestinationRule is missing, so the provider creates it (and removes it at the end).
  noteOwners(
    await waitFor(() => admin.get(kinds.DestinationRule, ns, 'myapp'), {
      describe: 'the DestinationRule the Istio provider creates',
      timeoutMs: 60_000,
    }),
  );
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
  await waitFor(async () => !(await admin.get(kinds.DestinationRule, ns, 'myapp')), {
    describe: 'the DestinationRule removed',
  });
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v2');
}

async function nginx(ns: string, blueGreen: boolean): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create<Ingress>(kinds.Ingress, {
    metadata: { name: 'web', namespace: ns },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'myapp', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: blueGreen
      ? { type: 'BlueGreen', blueGreen: { previewPause: '1s', scaleDownDelay: '1s' } }
      : steps,
    traffic: { provider: 'Nginx', nginx: { ingress: 'web' } },
  });
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
  await waitFor(async () => !(await names(admin, kinds.Ingress, ns)).includes('web-canary'), {
    describe: 'the canary Ingress removed',
  });
  await waitFor(async () => (await names(admin, kinds.Service, ns)).join() === 'myapp', {
    describe: 'only the stable Service left',
  });
}

async function gatewayApi(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.HTTPRoute, {
    metadata: { name: 'web', namespace: ns },
    spec: { rules: [{ name: 'app', backendRefs: [{ name: 'myapp', port: 80 }] }] },
  } as KubeObject);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    traffic: { provider: 'GatewayAPI', gatewayAPI: { httpRoute: 'web' } },
  });
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
}

/** A gRPC service behind a GRPCRoute (traffic.protocol GRPC): grpcroutes get and patch. */
async function gatewayApiGrpc(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.GRPCRoute, {
    metadata: { name: 'rpc', namespace: ns },
    spec: { rules: [{ backendRefs: [{ name: 'myapp', port: 80 }] }] },
  } as KubeObject);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    traffic: { provider: 'GatewayAPI', protocol: 'GRPC', gatewayAPI: { grpcRoute: 'rpc' } },
  });
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
}

/** A TCP service behind a TCPRoute (its experimental CRD installed): tcproutes get and patch. */
async function gatewayApiTcp(ns: string): Promise<void> {
  await ensureTcpRouteCrd(admin);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.TCPRoute, {
    metadata: { name: 'db', namespace: ns },
    spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'myapp', port: 80 }] }] },
  } as KubeObject);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: steps,
    traffic: { provider: 'GatewayAPI', protocol: 'TCP', gatewayAPI: { tcpRoute: 'db' } },
  });
  await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
}

/**
 * A ReleasePlan of one wave whose one cluster is this one, reached through a kubeconfig
 * Secret holding the admin's credentials: the plan's own reads and status writes are the
 * controller's; what it does in the "remote" cluster is done as that Secret's identity.
 */
async function waves(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create(kinds.Secret, {
    metadata: { name: 'here', namespace: ns, labels: { [ClusterSecretLabel]: 'here' } },
    data: { kubeconfig: Buffer.from(await readFile(cluster.kubeconfigPath)).toString('base64') },
  } as KubeObject);
  await admin.create(ReleasePlanKind, {
    metadata: { name: 'plan', namespace: ns },
    spec: {
      template: {
        name: 'myapp',
        namespace: ns,
        spec: { targetDeployment: 'myapp', canaryVersion: 'myapp:v2', strategy: steps },
      },
      waves: [{ name: 'only', clusters: ['here'] }],
    },
  });
  await waitFor(async () => (await admin.get(ReleasePlanKind, ns, 'plan'))?.status?.phase === 'Completed', {
    describe: 'the plan Completed',
    timeoutMs: releaseTimeoutMs,
  });
}

/** A ReleaseGroup making its one member from a template, which completes: the group's turn, status and owner reference. */
async function fleet(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.patch(kinds.Deployment, ns, 'myapp', { metadata: { labels: { fleet: 'audit' } } }, 'merge');
  await admin.create(ReleaseGroupKind, {
    metadata: { name: 'audit', namespace: ns },
    spec: {
      template: {
        deploymentSelector: { matchLabels: { fleet: 'audit' } },
        canaryVersion: 'myapp:v2',
        strategy: steps,
      },
    },
  });
  const done = await waitPhase(admin, ns, 'myapp', 'Completed', releaseTimeoutMs);
  noteOwners(done);
  await waitFor(async () => (await admin.get(ReleaseGroupKind, ns, 'audit'))?.status?.phase === 'Completed', {
    describe: 'the group Completed',
  });
}

async function crashRollback(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await createRelease(
    admin,
    ns,
    'myapp',
    {
      targetDeployment: 'myapp',
      canaryVersion: 'myapp:v2',
      strategy: {
        steps: [
          { weight: 50, pause: '10m' },
          { weight: 100, pause: '0s' },
        ],
      },
    },
    { [CanaryPodLabelsAnnotation]: JSON.stringify({ 'kwok.codedance.io/crash': 'true' }) },
  );
  const failed = await waitPhase(admin, ns, 'myapp', 'Failed', releaseTimeoutMs);
  assert.equal(failed.status?.reason, 'PodCrashLoop');
  await waitFor(async () => !(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), {
    describe: 'the crashing canary removed',
  });
}

async function deletedMidRelease(ns: string): Promise<void> {
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  await admin.create<VirtualService>(kinds.VirtualService, {
    metadata: { name: 'myapp', namespace: ns },
    spec: { hosts: ['myapp'], http: [{ name: 'primary', route: [{ destination: { host: 'myapp' } }] }] },
  });
  // The user's own DestinationRule: the provider adds its subsets (and takes them out again).
  await admin.create(kinds.DestinationRule, {
    metadata: { name: 'myapp', namespace: ns },
    spec: { host: 'myapp', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
  } as KubeObject);
  await createRelease(admin, ns, 'myapp', {
    targetDeployment: 'myapp',
    canaryVersion: 'myapp:v2',
    strategy: {
      steps: [
        { weight: 40, pause: '10m' },
        { weight: 100, pause: '0s' },
      ],
    },
    traffic: { provider: 'Istio', istio: { virtualService: 'myapp', destinationRule: 'myapp' } },
  });
  await waitFor(
    async () =>
      (await admin.get<VirtualService>(kinds.VirtualService, ns, 'myapp'))?.spec.http?.[0]?.route?.find(
        (d) => d.destination.subset === 'canary',
      )?.weight === 40,
    { describe: 'the canary at 40%', timeoutMs: releaseTimeoutMs },
  );
  const subsets = async () =>
    (
      (
        await admin.get<KubeObject & { spec?: { subsets?: { name: string }[] } }>(
          kinds.DestinationRule,
          ns,
          'myapp',
        )
      )?.spec?.subsets ?? []
    ).map((s) => s.name);
  assert.deepEqual(
    (await subsets()).sort(),
    ['canary', 'stable'],
    "the subsets added to the user's DestinationRule",
  );
  await admin.delete(CanaryDeploymentKind, ns, 'myapp');
  await waitFor(async () => !(await getRelease(admin, ns, 'myapp')), {
    describe: 'the release gone (its finalizer done)',
    timeoutMs: 60_000,
  });
  assert.deepEqual(await names(admin, kinds.Deployment, ns), ['myapp']);
  assert.deepEqual(await subsets(), [], "the user's DestinationRule is as it was");
}

function webapp(ns: string, spec: WebAppSpec): WebApp {
  return {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'shop', namespace: ns },
    spec,
  };
}

async function waitWebApp(ns: string, what: string, check: (app: WebApp) => boolean): Promise<WebApp> {
  return waitFor(
    async () => {
      const app = await admin.get(WebAppKind, ns, 'shop');
      return app && app.status?.observedGeneration === app.metadata.generation && check(app)
        ? app
        : undefined;
    },
    { describe: what, timeoutMs: releaseTimeoutMs },
  );
}

async function webAppLifecycle(ns: string, release: boolean): Promise<void> {
  const spec: WebAppSpec = { image: 'shop:1', replicas: 2, env: [{ name: 'MODE', value: 'a' }] };
  if (release) {
    // A receiver whose Secret is not opted in: the refusal is reported on the WebApp too.
    await admin.create(kinds.Secret, {
      metadata: { name: 'app-credentials', namespace: ns },
      stringData: { url: 'http://127.0.0.1:9/leak' },
    } as KubeObject);
    spec.release = {
      strategy: steps,
      traffic: { provider: 'Replicas' },
      notifications: [{ name: 'leak', type: 'Webhook', secretRef: { name: 'app-credentials' } }],
    };
  }
  await admin.create(WebAppKind, webapp(ns, spec));
  await waitWebApp(ns, 'shop:1 Running', (a) => a.status?.phase === 'Running');
  noteOwners(await admin.get(kinds.Deployment, ns, 'shop'));
  await admin.patch(
    WebAppKind,
    ns,
    'shop',
    { spec: { image: 'shop:2', env: [{ name: 'MODE', value: 'b' }] } },
    'merge',
  );
  if (release) {
    noteOwners(
      await waitFor(() => admin.get(CanaryDeploymentKind, ns, 'shop'), {
        describe: 'the release of shop:2',
        timeoutMs: 60_000,
      }),
    );
    await waitWebApp(
      ns,
      'the release Completed',
      (a) => a.status?.release?.phase === 'Completed' && a.status.image === 'shop:2',
    );
    await waitFor(
      async () =>
        (await admin.list<KubeEvent>(kinds.Event, { namespace: ns })).items.some(
          (e) =>
            e.reason === 'NotificationSecretRefused' &&
            e.regarding?.kind === 'WebApp' &&
            e.regarding.name === 'shop' &&
            /app-credentials/.test(e.note ?? ''),
        ),
      { describe: 'a NotificationSecretRefused Event on the WebApp' },
    );
  } else {
    await waitWebApp(
      ns,
      'shop:2 rolled in place',
      (a) => a.status?.phase === 'Running' && a.status.image === 'shop:2',
    );
  }
  await admin.delete(WebAppKind, ns, 'shop');
  await waitFor(async () => !(await admin.get(WebAppKind, ns, 'shop')), {
    describe: 'the WebApp gone',
    timeoutMs: 90_000,
  });
  for (const [kind, name] of [
    [CanaryDeploymentKind, 'shop'],
    [kinds.ConfigMap, 'shop-config'],
  ] as const) {
    await waitFor(async () => !(await admin.get(kind, ns, name)), {
      describe: `${kind.kind} ${name} gone`,
      timeoutMs: 90_000,
    });
  }
}

// ---------------------------------------------------------------------------------------

test('the controller RBAC grants exactly what the controller uses (audit log of every kind of release)', {
  timeout: 540_000,
}, async (t) => {
  const keepAlive = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(keepAlive));
  const { log } = auditPaths(cluster.stateDir);
  // Audit timestamps come from the same machine's clock; a second of margin for rounding.
  const since = new Date(Date.now() - 1_000);
  await installRoles();

  const scenarios: [string, (ns: string) => Promise<void>][] = [
    ['replicas-notify', (ns) => replicasWithNotifications(t, ns)],
    ['istio', istio],
    ['nginx', (ns) => nginx(ns, false)],
    ['gateway-api', gatewayApi],
    ['gateway-api-grpc', gatewayApiGrpc],
    ['gateway-api-tcp', gatewayApiTcp],
    ['rollback', crashRollback],
    ['fleet', fleet],
    ['waves', waves],
    ['bluegreen', (ns) => nginx(ns, true)],
    ['deleted', deletedMidRelease],
    ['webapp', (ns) => webAppLifecycle(ns, false)],
    ['webapp-release', (ns) => webAppLifecycle(ns, true)],
  ];
  const namespaces: string[] = [];
  for (const [name] of scenarios)
    namespaces.push(await testNamespace({ name: `audit ${name}`, after: (fn) => t.after(fn) }));
  // The namespaces go after the test; no controller is left to run the releases' finalizers then.
  t.after(async () => {
    for (const ns of namespaces) {
      const list = await admin
        .list(CanaryDeploymentKind, { namespace: ns })
        .catch(() => ({ items: [] as CanaryDeployment[] }));
      await Promise.all(
        list.items.map((cd) =>
          admin
            .patch(
              CanaryDeploymentKind,
              ns,
              cd.metadata.name ?? '',
              { metadata: { finalizers: null } },
              'merge',
            )
            .catch(() => undefined),
        ),
      );
    }
  });

  const leaseName = `rbac-audit-${randomBytes(3).toString('hex')}`;
  t.after(() => admin.delete(kinds.Lease, CONTROLLER_NAMESPACE, leaseName).then(() => undefined));
  const controller = await startController(t, {
    namespaces,
    controllers: ['webapp', 'canary', 'fleet', 'waves'],
    // The notification scenarios' receivers listen on loopback, which the URL policy refuses by default.
    args: [
      '--leader-elect=true',
      `--lease-namespace=${CONTROLLER_NAMESPACE}`,
      `--lease-name=${leaseName}`,
      '--allow-internal-notification-urls',
    ],
  });

  const results = await Promise.allSettled(scenarios.map(([, run], i) => run(namespaces[i]!)));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${scenarios[i]![0]} (${namespaces[i]}): ${(r.reason as Error).message}`] : [],
  );
  // A SIGTERM releases the Lease: that update is usage too.
  if (controller.child.exitCode === null) {
    controller.child.kill('SIGTERM');
    await once(controller.child, 'exit');
  }
  const scenarioReport = failures.length
    ? [
        'scenarios that did not do what they are for (a missing grant below is the likely cause):',
        ...failures.map((f) => `  ${f}`),
        '--- controller log (last warnings) ---',
        ...controller.lines
          .filter((l) => /"level":"(warn|error|fatal)"/.test(l))
          .slice(-5)
          .map((l) => `  ${l.slice(0, 400)}`),
      ]
    : [];

  const events = await readAuditEvents(cluster.stateDir, { since });
  assert.ok(
    events.length > 0,
    `no audit events in ${log}: the API server must run with --audit-log-path (restart the dev cluster: codedance cluster down && codedance cluster up)`,
  );
  const own = events.filter(
    (e) => e.user.username === controllerUser && e.userAgent?.startsWith(`${ControllerUserAgentProduct}/`),
  );
  assert.ok(
    own.length > 0,
    `no requests of user ${controllerUser} with User-Agent ${ControllerUserAgentProduct}/* in ${log}`,
  );

  const clusterUsed = new Map<string, Usage>();
  const leaseUsed = new Map<string, Usage>();
  const refused = new Map<string, Usage>();
  const refusedOther: string[] = [];
  const record = (into: Map<string, Usage>, tuple: Tuple, event: AuditEvent): void => {
    const usage = into.get(keyOf(tuple)) ?? {
      tuple,
      count: 0,
      example: `${event.verb} ${event.requestURI} → ${event.responseStatus?.code ?? '?'}`,
    };
    usage.count++;
    into.set(keyOf(tuple), usage);
  };
  for (const event of own) {
    const tuple = tupleOf(event);
    // A 403 that RBAC allowed is not about grants (e.g. creating an Event in a namespace
    // being deleted at a test's end): only the authorizer's `forbid` is a missing grant.
    const forbidden =
      event.responseStatus?.code === 403 && event.annotations?.['authorization.k8s.io/decision'] !== 'allow';
    if (!tuple) {
      if (forbidden) refusedOther.push(`${event.verb} ${event.requestURI}`);
      continue;
    }
    const lease = tuple.group === 'coordination.k8s.io' && tuple.resource === 'leases';
    // The shipped roles give Leases only in the controller's namespace; a test that runs the
    // controller with its Lease elsewhere (the image test) grants it a Role of its own.
    if (lease && event.objectRef?.namespace !== CONTROLLER_NAMESPACE) continue;
    const into = lease ? leaseUsed : clusterUsed;
    if (forbidden) record(refused, tuple, event);
    else record(into, tuple, event);
    // A server-side apply that made the object (201) was also authorized as `create`,
    // inside the same request: the log shows only the patch.
    if (
      !forbidden &&
      event.verb === 'patch' &&
      event.responseStatus?.code === 201 &&
      event.stage === 'ResponseComplete'
    )
      record(into, { ...tuple, verb: 'create' }, event);
  }
  const implied = [...blockingOwners].flatMap((kind) =>
    impliedByOwnerReferences[kind] ? [impliedByOwnerReferences[kind]] : [],
  );
  if (failures.length === 0) {
    assert.ok(
      implied.length === 3,
      `the scenarios wrote blockOwnerDeletion owner references to ${[...blockingOwners].join(', ') || 'nothing'}; expected CanaryDeployment, WebApp and ReleaseGroup`,
    );
  }
  for (const tuple of implied)
    clusterUsed.set(keyOf(tuple), {
      tuple,
      count: 0,
      example: 'implied: blockOwnerDeletion owner references (OwnerReferencesPermissionEnforcement)',
    });

  const clusterGranted = expand(controllerRules);
  const leaseGranted = expand(leaseRules);
  const missing = [
    ...[...refused.values()].map(
      (u) =>
        `  add to ${u.tuple.resource === 'leases' ? 'leaseRules' : 'controllerRules'}: ${ruleText(u.tuple)}   (refused ${u.count}x, e.g. ${u.example})`,
    ),
    ...[...clusterUsed.values()]
      .filter((u) => !clusterGranted.has(keyOf(u.tuple)))
      .map(
        (u) =>
          `  add to controllerRules: ${ruleText(u.tuple)}   (used ${u.count}x under another grant, e.g. ${u.example})`,
      ),
    ...[...leaseUsed.values()]
      .filter((u) => !leaseGranted.has(keyOf(u.tuple)))
      .map((u) => `  add to leaseRules: ${ruleText(u.tuple)}   (used ${u.count}x, e.g. ${u.example})`),
    ...refusedOther.map((uri) => `  a non-resource request was refused: ${uri}`),
  ];
  const unused = [
    ...[...clusterGranted.entries()]
      .filter(([key]) => !clusterUsed.has(key))
      .map(
        ([, tuple]) =>
          `  remove verb '${tuple.verb}' on ${keyOf({ ...tuple, verb: '' }).trim()} from controllerRules`,
      ),
    ...[...leaseGranted.entries()]
      .filter(([key]) => !leaseUsed.has(key))
      .map(
        ([, tuple]) =>
          `  remove verb '${tuple.verb}' on ${keyOf({ ...tuple, verb: '' }).trim()} from leaseRules`,
      ),
  ];
  const used = [...clusterUsed.values(), ...leaseUsed.values()]
    .map(
      (u) =>
        `  ${keyOf(u.tuple)}${u.tuple.resource === 'leases' ? ` (${CONTROLLER_NAMESPACE})` : ''}: ${u.count}`,
    )
    .sort();
  t.diagnostic(
    `requests of the controller in the audit log: ${own.length}; tuples used:\n${used.join('\n')}`,
  );
  // Unused grants are judged only when every scenario ran to its end: a scenario cut short uses less.
  const judgeUnused = failures.length === 0;
  const rbacReport =
    missing.length > 0 || (judgeUnused && unused.length > 0)
      ? [
          'The controller RBAC is not exactly what the controller uses. Change src/api/manifests.ts, then run `npm run gen`:',
          ...(missing.length ? ['missing grants:', ...missing] : []),
          ...(judgeUnused && unused.length
            ? [
                'unused grants (nothing in the scenarios used them; remove them, or add the scenario that needs them):',
                ...unused,
              ]
            : []),
          'used:',
          ...used,
        ]
      : [];
  assert.ok(
    scenarioReport.length === 0 && rbacReport.length === 0,
    [...rbacReport, ...scenarioReport].join('\n'),
  );
});
