/**
 * The one conformance suite every traffic provider runs on the real control plane:
 * `testTrafficProvider({ name, setup })`, called by one test file per provider.
 *
 * The provider under test is made by the registry from its name, exactly as the
 * reconciler makes it. `setup` creates the user's objects in a fresh namespace and
 * returns a fixture whose readers look at the actual objects themselves (the weights in
 * the VirtualService, the canary Ingress annotation, the HTTPRoute backendRefs, the
 * Deployments' replicas), never through the provider's own `readWeight`.
 *
 * What every provider must show:
 * - 0 → 10 → 50 → 100 → reset, each step seen in the objects and by `readWeight`;
 * - nothing that is not the release's changes (other routes, rules, subsets, paths);
 * - a repeated call writes nothing (every resourceVersion stays), prepare included;
 * - reset is 100% stable, and reset + cleanup give back the user's objects as they were;
 * - a write that races another writer's edit of the same object keeps that edit;
 * - a bad weight or a missing object is a typed TrafficError, and writes nothing;
 * - a request match and a mirror (where the provider declares them) are written beside
 *   the weight without counting as weight, written once, and gone with the next step
 *   without them and with reset; a provider without them refuses, writing nothing.
 */
import { after, test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  createKubeClient,
  type ApplyOptions,
  type Desired,
  type KubeClient,
  type KubeObject,
} from '../../../src/runtime/client.ts';
import type { ResourceKind } from '../../../src/runtime/kinds.ts';

import {
  capabilitiesOf,
  trafficProvider,
  isTrafficError,
  type TrafficProviderName,
  type TrafficTarget,
} from '../../../src/traffic/index.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { ensureTrafficCrds, installApi } from '../../support/controller.ts';
import { RoleLabel } from '../../../src/api/canary-deployment.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

/** What `setup` gets: the admin client (for the user's objects), a namespace of its own, a CanaryDeployment owner in it. */
export interface ConformanceContext {
  client: KubeClient;
  namespace: string;
  owner: { name: string; uid: string };
}

/** A provider's objects in one namespace, and how to read them without the provider. */
export interface ProviderFixture {
  target: TrafficTarget;
  /** The canary weight the actual objects carry, read and computed by the test itself. */
  observedWeight(): Promise<number>;
  /** Everything the release must not change, as plain data (compared with deepEqual). */
  foreign(): Promise<unknown>;
  /** The user's objects as the release may change them; after reset + cleanup it must equal its value before prepare. */
  original(): Promise<unknown>;
  /** resourceVersions (or generations, where a controller writes status) of every object the provider may write; absent objects as `undefined`. */
  versions(): Promise<Record<string, string | undefined>>;
  /** The weight a requested one comes out as. @default the requested weight */
  effectiveWeight?(weight: number): number;
  /** Edits something in the provider's object that is not the release's, as another writer would. */
  editForeign?(): Promise<void>;
  /** A target naming an object that does not exist. */
  missingTarget(): TrafficTarget;
  /**
   * The request match and mirror the objects carry, read by the test itself: each match
   * condition as text naming the header (or cookie) and its value, the mirrored percent.
   * Required of providers that declare `requestMatch` or `mirror`.
   */
  observedRouting?(): Promise<{ match: string[]; mirror: number | undefined }>;
  /**
   * A mutation the API server applies to the provider's writes (as a mutating webhook or
   * admission policy in a user's cluster could), so the stored object differs from what
   * was written: the provider must notice on read-back.
   */
  tamper?: Tamper;
}

/** One MutatingAdmissionPolicy, bound to the test's namespace only. */
export interface Tamper {
  /** The resource it applies to, e.g. `{ apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments' }`. */
  resource: { apiGroup: string; apiVersion: string; resource: string };
  /** CEL over `object`: when to mutate (must become false once mutated, or it loops). */
  condition: string;
  /** CEL returning the JSONPatch list, e.g. `[JSONPatch{op: "replace", path: "/spec/replicas", value: 2}]`. */
  jsonPatch: string;
}

export interface ProviderSuite {
  name: TrafficProviderName;
  /** Tells several fixtures of one provider apart in test names. */
  variant?: string;
  setup(ctx: ConformanceContext): Promise<ProviderFixture>;
}

/** Registers the conformance tests of one provider. */
export function testTrafficProvider(suite: ProviderSuite): void {
  // Connect at the file's top level: clients are closed by `after` hooks registered where
  // they are made, which inside a test would close them when that test ends.
  controllerClient().catch(() => undefined);
  describe(`traffic provider ${suite.name}${suite.variant ? ` (${suite.variant})` : ''}`, () => {
    test('moves 0 → 10 → 50 → 100, then reset is 100% stable and cleanup restores the user objects', async (t) => {
      const { client, fixture } = await start(t, suite);
      const provider = trafficProvider(suite.name, { client });
      const effective = (w: number) => fixture.effectiveWeight?.(w) ?? w;
      const original = await fixture.original();
      const foreign = await fixture.foreign();

      await provider.prepare(fixture.target);
      assert.deepEqual(await fixture.foreign(), foreign, 'prepare changed what is not the release’s');
      for (const weight of [0, 10, 50, 100]) {
        const before = client.requestCounts();
        const result = await provider.setWeight(fixture.target, weight);
        // API requests of one step, for the record (reads are GETs here, no cache).
        t.diagnostic(`setWeight(${weight}): ${requestsSince(before, client.requestCounts())}`);
        assert.equal(result.weight, effective(weight), `setWeight(${weight}) reports the weight in force`);
        assert.equal(await fixture.observedWeight(), effective(weight), `objects carry weight ${weight}`);
        assert.equal(
          await provider.readWeight(fixture.target),
          effective(weight),
          `readWeight after setWeight(${weight})`,
        );
        assert.deepEqual(
          await fixture.foreign(),
          foreign,
          `setWeight(${weight}) changed what is not the release’s`,
        );
      }

      const reset = await provider.reset(fixture.target);
      assert.deepEqual(reset, { changed: true, weight: 0 });
      assert.equal(await fixture.observedWeight(), 0, 'reset sends everything to stable');
      assert.equal(await provider.readWeight(fixture.target), 0);
      assert.deepEqual(await fixture.foreign(), foreign);

      await provider.cleanup(fixture.target);
      assert.deepEqual(await fixture.original(), original, 'reset + cleanup restore the user’s objects');
      assert.deepEqual(await fixture.foreign(), foreign);
    });

    test('setWeight alone brings everything it relies on (no prepare first)', async (t) => {
      const { client, fixture } = await start(t, suite);
      const provider = trafficProvider(suite.name, { client });
      const weight = 30;
      const result = await provider.setWeight(fixture.target, weight);
      const effective = fixture.effectiveWeight?.(weight) ?? weight;
      assert.deepEqual(result, { changed: true, weight: effective });
      assert.equal(await fixture.observedWeight(), effective);
    });

    test('writes nothing when the weight is already in force', async (t) => {
      const { client, fixture } = await start(t, suite);
      const provider = trafficProvider(suite.name, { client });
      const writes = (counts: Record<string, number>): number =>
        Object.entries(counts).reduce((sum, [key, n]) => (key.startsWith('GET ') ? sum : sum + n), 0);

      await provider.prepare(fixture.target);
      let versions = await fixture.versions();
      await provider.prepare(fixture.target);
      assert.deepEqual(await fixture.versions(), versions, 'a second prepare wrote');

      assert.equal((await provider.setWeight(fixture.target, 50)).changed, true);
      versions = await fixture.versions();
      for (let i = 0; i < 2; i++) {
        const before = client.requestCounts();
        const again = await provider.setWeight(fixture.target, 50);
        const counts = client.requestCounts();
        assert.equal(
          writes(counts) - writes(before),
          0,
          `a repeated setWeight sent a write: ${requestsSince(before, counts)}`,
        );
        assert.equal(again.changed, false, 'a repeated setWeight reports a change');
        await provider.prepare(fixture.target);
        assert.deepEqual(await fixture.versions(), versions, 'a repeated setWeight or prepare wrote');
      }

      assert.equal((await provider.reset(fixture.target)).changed, true);
      versions = await fixture.versions();
      const again = await provider.reset(fixture.target);
      assert.deepEqual(again, { changed: false, weight: 0 });
      assert.deepEqual(await fixture.versions(), versions, 'a repeated reset wrote');

      await provider.cleanup(fixture.target);
      versions = await fixture.versions();
      await provider.cleanup(fixture.target);
      assert.deepEqual(await fixture.versions(), versions, 'a repeated cleanup wrote');
    });

    test('keeps another writer’s edit made between its read and its write', async (t) => {
      const { client, fixture } = await start(t, suite);
      if (!fixture.editForeign) {
        t.skip('the provider writes no object another writer shares');
        return;
      }
      await trafficProvider(suite.name, { client }).prepare(fixture.target);
      const racing = racingClient(client, fixture.editForeign);
      const provider = trafficProvider(suite.name, { client: racing.client });

      const before = await fixture.foreign();
      await provider.setWeight(fixture.target, 30);
      assert.equal(racing.raced(), true, 'the race ran');
      const edited = await fixture.foreign();
      assert.notDeepEqual(edited, before, 'the edit made between read and write is still there');
      assert.equal(await fixture.observedWeight(), 30);
      // The edit happened after the provider's read: a blind write would have undone it.
      await provider.setWeight(fixture.target, 40);
      assert.deepEqual(await fixture.foreign(), edited, 'the concurrent edit was lost');
      assert.equal(await fixture.observedWeight(), 40);
    });

    test('notices when the API server keeps something other than what it wrote', async (t) => {
      const { client, fixture } = await start(t, suite);
      const { tamper } = fixture;
      if (!tamper) {
        t.skip('no mutation to try');
        return;
      }
      const provider = trafficProvider(suite.name, { client });
      await provider.prepare(fixture.target);
      await withMutatingPolicy(t, fixture.target.namespace, tamper);
      // The API server picks a new policy up within a moment; until then writes go through
      // unchanged, so alternate weights to make every attempt a real write.
      let attempt = 0;
      const error = await waitFor(
        async () => {
          try {
            await provider.setWeight(fixture.target, 60 + (attempt++ % 2) * 10);
            return undefined;
          } catch (err) {
            return err;
          }
        },
        { describe: 'a ReadBackMismatch once the admission policy is active' },
      );
      assert.ok(isTrafficError(error, 'ReadBackMismatch'), `expected ReadBackMismatch, got ${String(error)}`);
    });

    test('routes by header or cookie and mirrors where it declares so, refuses where it does not', async (t) => {
      const { client, fixture } = await start(t, suite);
      const provider = trafficProvider(suite.name, { client });
      // A TCP connection has no header to match nor request to mirror: refused like a lacking capability.
      const tcp = fixture.target.traffic.protocol === 'TCP';
      const caps = { ...capabilitiesOf(suite.name) };
      if (tcp) Object.assign(caps, { requestMatch: false, mirror: false });
      const match = [{ header: { name: 'X-Canary', exact: 'insider' } }, { cookie: { name: 'canary' } }];
      const original = await fixture.original();
      await provider.prepare(fixture.target);
      const foreign = await fixture.foreign();
      if (!caps.requestMatch) {
        const versions = await fixture.versions();
        await assert.rejects(provider.setWeight(fixture.target, 10, { match }), (err) =>
          isTrafficError(err, 'InvalidTarget'),
        );
        assert.deepEqual(await fixture.versions(), versions, 'a refused match wrote');
      } else {
        const observed = fixture.observedRouting;
        assert.ok(observed, `${suite.name} declares requestMatch: its fixture reads the match`);
        // Alone (weight 0), then beside a weight: the match never counts as weight.
        for (const weight of [0, 20]) {
          const result = await provider.setWeight(fixture.target, weight, { match });
          assert.equal(result.weight, weight);
          assert.equal(await fixture.observedWeight(), weight, `weight ${weight} beside the match`);
          assert.equal(await provider.readWeight(fixture.target), weight, 'readWeight ignores the match');
          const seen: string[] = (await observed()).match;
          t.diagnostic(`match as written: ${seen.join(' | ')}`);
          assert.equal(seen.length, 2, `both conditions written (${seen.join(' | ')})`);
          assert.ok(
            seen.some((c) => /x-canary/i.test(c) && c.includes('insider')),
            'the header and its value',
          );
          assert.ok(
            seen.some((c) => c.includes('canary') && !/x-canary/i.test(c)),
            'the cookie',
          );
        }
        const versions = await fixture.versions();
        assert.equal((await provider.setWeight(fixture.target, 20, { match })).changed, false);
        assert.deepEqual(await fixture.versions(), versions, 'the same match twice wrote');
        await provider.setWeight(fixture.target, 30);
        assert.deepEqual((await observed()).match, [], 'a step without a match removes it');
        assert.equal(await fixture.observedWeight(), 30);
        assert.deepEqual(await fixture.foreign(), foreign, 'the match changed what is not the release’s');
      }
      if (!caps.mirror) {
        const versions = await fixture.versions();
        await assert.rejects(provider.setWeight(fixture.target, 0, { mirror: 50 }), (err) =>
          isTrafficError(err, 'InvalidTarget'),
        );
        assert.deepEqual(await fixture.versions(), versions, 'a refused mirror wrote');
      } else {
        const observed = fixture.observedRouting;
        assert.ok(observed, `${suite.name} declares mirror: its fixture reads the mirror`);
        await provider.setWeight(fixture.target, 0, { mirror: 50 });
        assert.equal((await observed()).mirror, 50, 'half the traffic mirrored');
        assert.equal(await fixture.observedWeight(), 0, 'a mirror is no weight');
        assert.equal(await provider.readWeight(fixture.target), 0);
        await provider.setWeight(fixture.target, 10);
        assert.equal((await observed()).mirror, undefined, 'the next step without a mirror removes it');
        // Reset takes both away at once.
        await provider.setWeight(fixture.target, 10, { mirror: 20, ...(caps.requestMatch ? { match } : {}) });
      }
      if (caps.requestMatch && !caps.mirror) await provider.setWeight(fixture.target, 10, { match });
      await provider.reset(fixture.target);
      assert.equal(await fixture.observedWeight(), 0);
      if (fixture.observedRouting)
        assert.deepEqual(
          await fixture.observedRouting(),
          { match: [], mirror: undefined },
          'reset leaves no match nor mirror',
        );
      await provider.cleanup(fixture.target);
      assert.deepEqual(await fixture.original(), original, 'reset + cleanup restore the user’s objects');
    });

    test('rejects a bad weight and a missing object with a typed error, writing nothing', async (t) => {
      const { client, fixture } = await start(t, suite);
      const provider = trafficProvider(suite.name, { client });
      await provider.prepare(fixture.target);
      const versions = await fixture.versions();
      for (const weight of [-1, 101, 12.5, Number.NaN]) {
        await assert.rejects(
          provider.setWeight(fixture.target, weight),
          (err) => isTrafficError(err, 'InvalidTarget'),
          `weight ${weight}`,
        );
      }
      await assert.rejects(provider.setWeight(fixture.missingTarget(), 10), (err) =>
        isTrafficError(err, 'NotFound'),
      );
      assert.equal(await provider.readWeight(fixture.missingTarget()), undefined);
      assert.deepEqual(await fixture.versions(), versions);
    });
  });
}

/** `VERB resource ×n` of the requests made between two `requestCounts()` snapshots. */
function requestsSince(before: Record<string, number>, after: Record<string, number>): string {
  const made = Object.entries(after)
    .map(([key, n]) => [key, n - (before[key] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([key, n]) => `${key} ×${n}`);
  return made.length > 0 ? made.join(', ') : 'none';
}

/** Names every fixture uses: Service `myapp` (port 80), canary `myapp-canary`, role selectors. */
export function conformanceTarget(
  ctx: ConformanceContext,
  traffic: TrafficTarget['traffic'],
  totalReplicas?: number,
): TrafficTarget {
  return {
    namespace: ctx.namespace,
    owner: ctx.owner,
    service: { name: 'myapp', port: 80 },
    canaryService: 'myapp-canary',
    stableDeployment: 'myapp',
    canaryDeployment: 'myapp-canary',
    traffic,
    selectors: {
      stable: { app: 'myapp', [RoleLabel]: 'stable' },
      canary: { app: 'myapp', [RoleLabel]: 'canary' },
    },
    ...(totalReplicas === undefined ? {} : { totalReplicas }),
  };
}

/** The resourceVersion of an object, `undefined` when it does not exist. */
export async function versionOf(
  client: KubeClient,
  kind: ResourceKind,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  return (await client.get<KubeObject>(kind, namespace, name))?.metadata.resourceVersion;
}

/** Reads an object that must exist. */
export async function mustGet<T extends KubeObject>(
  client: KubeClient,
  kind: ResourceKind<T>,
  namespace: string,
  name: string,
): Promise<T> {
  const object = await client.get<T>(kind, namespace, name);
  assert.ok(object, `${kind.kind} ${namespace}/${name} exists`);
  return object;
}

/** Namespace, CRDs and the CanaryDeployment that owns what the provider creates. */
async function start(
  t: TestContext,
  suite: ProviderSuite,
): Promise<{ client: KubeClient; fixture: ProviderFixture }> {
  const cluster = await testCluster();
  const admin = cluster.admin;
  await Promise.all([ensureTrafficCrds(admin), installApi(admin)]);
  const namespace = await testNamespace(t);
  // A real owner, or the garbage collector would delete the canary Ingress at once. It
  // targets no Deployment, so a controller watching the cluster has nothing to release.
  const owner = await admin.create(CanaryDeploymentKind, {
    metadata: { name: 'conformance', namespace },
    spec: { targetDeployment: 'conformance-owner-only', canaryVersion: 'none:v0', paused: true },
  } as KubeObject);
  const fixture = await suite.setup({
    client: admin,
    namespace,
    owner: { name: owner.metadata.name!, uid: owner.metadata.uid! },
  });
  return { client: await controllerClient(), fixture };
}

let controller: Promise<KubeClient> | undefined;

/**
 * The controller's identity (user `codedance-controller`, bound by `npm test` to the
 * ClusterRole in deploy/rbac.yaml), so a missing RBAC rule fails here and not in a user's
 * cluster. The admin client only when the cluster has no such identity.
 */
function controllerClient(): Promise<KubeClient> {
  controller ??= testCluster().then(async ({ admin, controllerKubeconfigPath }) => {
    if (!controllerKubeconfigPath) return admin;
    const client = await createKubeClient({ kubeconfigPath: controllerKubeconfigPath });
    after(() => client.close());
    return client;
  });
  return controller;
}

const MutatingAdmissionPolicy: ResourceKind = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  kind: 'MutatingAdmissionPolicy',
  plural: 'mutatingadmissionpolicies',
  namespaced: false,
};
const MutatingAdmissionPolicyBinding: ResourceKind = {
  ...MutatingAdmissionPolicy,
  kind: 'MutatingAdmissionPolicyBinding',
  plural: 'mutatingadmissionpolicybindings',
};

/** Installs `tamper` as a MutatingAdmissionPolicy bound to `namespace`, removed when the test ends. */
async function withMutatingPolicy(t: TestContext, namespace: string, tamper: Tamper): Promise<void> {
  const { admin } = await testCluster();
  const name = `traffic-tamper-${namespace}`.slice(0, 63);
  t.after(async () => {
    await admin.delete(MutatingAdmissionPolicyBinding, undefined, name);
    await admin.delete(MutatingAdmissionPolicy, undefined, name);
  });
  await admin.create<KubeObject>(MutatingAdmissionPolicy, {
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      reinvocationPolicy: 'Never',
      matchConstraints: {
        resourceRules: [
          {
            ...tamper.resource,
            apiGroups: [tamper.resource.apiGroup],
            apiVersions: [tamper.resource.apiVersion],
            resources: [tamper.resource.resource],
            operations: ['CREATE', 'UPDATE'],
          },
        ].map(({ apiGroups, apiVersions, resources, operations }) => ({
          apiGroups,
          apiVersions,
          resources,
          operations,
        })),
      },
      matchConditions: [{ name: 'tamper', expression: tamper.condition }],
      mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: tamper.jsonPatch } }],
    },
  } as KubeObject);
  await admin.create<KubeObject>(MutatingAdmissionPolicyBinding, {
    metadata: { name },
    spec: {
      policyName: name,
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } },
    },
  } as KubeObject);
}

/** A client whose first write is preceded by `race()`, i.e. lands after the caller's read. */
function racingClient(
  client: KubeClient,
  race: () => Promise<void>,
): { client: KubeClient; raced: () => boolean } {
  let raced = false;
  const before = async (): Promise<void> => {
    if (raced) return;
    raced = true;
    await race();
  };
  const wrapped: KubeClient = {
    ...client,
    async patch<T extends KubeObject>(...args: Parameters<KubeClient['patch']>): Promise<T> {
      await before();
      return client.patch<T>(...args);
    },
    async apply<T extends KubeObject>(
      kind: ResourceKind<T>,
      object: Desired<T>,
      options?: ApplyOptions,
    ): Promise<T> {
      await before();
      return client.apply(kind, object, options);
    },
  };
  return { client: wrapped, raced: () => raced };
}
