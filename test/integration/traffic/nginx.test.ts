/**
 * ingress-nginx on the real control plane: the shared conformance suite, plus the
 * canary Ingress going with its CanaryDeployment through the garbage collector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ingress as IngressKind } from '../../../src/runtime/kinds.ts';
import { createNginxProvider, type Ingress } from '../../../src/traffic/nginx.ts';
import { isTrafficError } from '../../../src/traffic/index.ts';
import {
  conformanceTarget,
  mustGet,
  testTrafficProvider,
  versionOf,
  type ConformanceContext,
} from './conformance.ts';
import { testCluster, testNamespace, waitFor } from '../../support/cluster.ts';
import { ensureTrafficCrds } from '../../support/controller.ts';
import type { KubeObject } from '../../../src/runtime/client.ts';
import { CanaryDeploymentKind } from '../../../src/api/kinds.ts';

const userIngress = (namespace: string): Ingress => ({
  metadata: { name: 'web', namespace, annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' } },
  spec: {
    ingressClassName: 'nginx',
    rules: [
      {
        host: 'shop.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'myapp', port: { number: 80 } } } },
            {
              path: '/billing',
              pathType: 'Prefix',
              backend: { service: { name: 'billing', port: { number: 8080 } } },
            },
          ],
        },
      },
    ],
  },
});

async function createUserIngress(ctx: ConformanceContext) {
  await ctx.client.create<Ingress>(IngressKind, userIngress(ctx.namespace));
  return conformanceTarget(ctx, { provider: 'Nginx', nginx: { ingress: 'web' } });
}

testTrafficProvider({
  name: 'Nginx',
  async setup(ctx) {
    const { client, namespace } = ctx;
    const target = await createUserIngress(ctx);
    const canary = () => client.get<Ingress>(IngressKind, namespace, 'web-canary');
    return {
      target,
      async observedWeight() {
        const ingress = await canary();
        if (!ingress) return 0;
        const annotations = ingress.metadata.annotations ?? {};
        assert.equal(annotations['nginx.ingress.kubernetes.io/canary'], 'true');
        assert.equal(
          annotations['nginx.ingress.kubernetes.io/proxy-body-size'],
          '8m',
          'user annotations carried over',
        );
        assert.equal(ingress.spec?.ingressClassName, 'nginx');
        assert.deepEqual(ingress.spec?.rules, [
          {
            host: 'shop.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'myapp-canary', port: { number: 80 } } },
                },
              ],
            },
          },
        ]);
        assert.deepEqual(
          ingress.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid, o.controller]),
          [['CanaryDeployment', ctx.owner.name, ctx.owner.uid, true]],
        );
        return Number(annotations['nginx.ingress.kubernetes.io/canary-weight']);
      },
      async foreign() {
        // The user's Ingress is only ever read.
        const ingress = await mustGet<Ingress>(client, IngressKind, namespace, 'web');
        return {
          resourceVersion: ingress.metadata.resourceVersion,
          annotations: ingress.metadata.annotations,
          spec: ingress.spec,
        };
      },
      async original() {
        return { canary: (await canary()) ?? null };
      },
      async observedRouting() {
        // ingress-nginx's own annotations: one header (value or pattern) and one cookie.
        const a = (await canary())?.metadata.annotations ?? {};
        const key = (name: string) => `nginx.ingress.kubernetes.io/canary-by-${name}`;
        const match: string[] = [];
        if (a[key('header')])
          match.push(
            `header ${a[key('header')]}=${a[key('header-value')] ?? `~${a[key('header-pattern')]}`}`,
          );
        if (a[key('cookie')]) match.push(`cookie ${a[key('cookie')]}=always`);
        return { match, mirror: undefined };
      },
      async versions() {
        return {
          web: await versionOf(client, IngressKind, namespace, 'web'),
          canary: await versionOf(client, IngressKind, namespace, 'web-canary'),
        };
      },
      missingTarget: () => ({ ...target, traffic: { provider: 'Nginx', nginx: { ingress: 'absent' } } }),
      // Pins the canary Ingress at weight 5.
      tamper: {
        resource: { apiGroup: 'networking.k8s.io', apiVersion: 'v1', resource: 'ingresses' },
        condition: `object.metadata.name == "web-canary" && object.metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"] != "5"`,
        jsonPatch: `[JSONPatch{op: "replace", path: "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight", value: "5"}]`,
      },
    };
  },
});

test('traffic provider Nginx: the canary Ingress is garbage collected with its CanaryDeployment', async (t) => {
  const cluster = await testCluster();
  const client = cluster.admin;
  await ensureTrafficCrds(client);
  const namespace = await testNamespace(t);
  const owner = await client.create(CanaryDeploymentKind, {
    metadata: { name: 'gc', namespace },
    spec: { targetDeployment: 'conformance-owner-only', canaryVersion: 'none:v0', paused: true },
  } as KubeObject);
  const target = await createUserIngress({
    client,
    namespace,
    owner: { name: 'gc', uid: owner.metadata.uid! },
  });
  await createNginxProvider({ client }).setWeight(target, 20);
  assert.ok(await client.get(IngressKind, namespace, 'web-canary'));

  await client.delete(CanaryDeploymentKind, namespace, 'gc', { propagationPolicy: 'Background' });
  await waitFor(async () => (await client.get(IngressKind, namespace, 'web-canary')) === undefined, {
    message: 'canary Ingress collected',
  });
  assert.ok(await client.get(IngressKind, namespace, 'web'), 'the user Ingress stays');
});

test('traffic provider Nginx: an Ingress already named <ingress>-canary that is not the release’s is left alone', async (t) => {
  const cluster = await testCluster();
  const client = cluster.admin;
  await ensureTrafficCrds(client);
  const namespace = await testNamespace(t);
  const target = await createUserIngress({
    client,
    namespace,
    owner: { name: 'someone', uid: '00000000-0000-0000-0000-000000000000' },
  });
  // The user's own hand-made canary Ingress, from before Codedance.
  const theirs = canaryIngressFrom(userIngress(namespace));
  const created = await client.create<Ingress>(IngressKind, theirs);
  const provider = createNginxProvider({ client });

  await assert.rejects(provider.setWeight(target, 10), (err) => isTrafficError(err, 'NameTaken'));
  assert.deepEqual(await provider.reset(target), { changed: false, weight: 0 });
  const after = await client.get<Ingress>(IngressKind, namespace, 'web-canary');
  assert.equal(
    after?.metadata.resourceVersion,
    created.metadata.resourceVersion,
    'neither overwritten nor deleted',
  );
});

function canaryIngressFrom(stable: Ingress): Ingress {
  return {
    metadata: {
      name: 'web-canary',
      namespace: stable.metadata.namespace,
      annotations: {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '3',
      },
    },
    spec: stable.spec,
  };
}
