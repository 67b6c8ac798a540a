/**
 * The controller image (`npm run image`): reproducible, runnable from its own root
 * filesystem against the real cluster, and a well-formed image a registry accepts.
 *
 * - two builds of the same inputs give the same digest;
 * - the image's layers, extracted into a folder, run the controller under `chroot` as
 *   the image's user (65532) with the image's entrypoint and environment: it takes the
 *   Lease and completes a Replicas release;
 * - `crane` pushes the OCI layout to go-containerregistry's `registry` and pulls it back
 *   with the same digest; the archive pushes too, with the same config and layers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/runtime/client.ts';
import type { ResourceKind } from '../../../src/runtime/kinds.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { rbacManifests } from '../../../src/api/manifests.ts';
import { IMAGE_USER } from '../../../src/image/build.ts';
import { blobPath, readImage } from '../../../src/image/oci.ts';
import type { PolicyRule } from '../../../src/api/manifests.ts';
import { testCluster } from '../../support/cluster.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  imageOf,
  releaseEnv,
  waitFor,
  waitPhase,
} from '../canary/support.ts';
import { background, buildTestImage, onPath, run, tools } from './support.ts';

let first: ReturnType<typeof buildTestImage> | undefined;
/** The image, built once for this file. */
function firstImage(): ReturnType<typeof buildTestImage> {
  first ??= buildTestImage('first');
  return first;
}
after(async () => {
  await (await first?.catch(() => undefined))?.cleanup();
});

test('two builds of the same inputs give the same image digest', { timeout: 600_000 }, async (t) => {
  const { image: a } = await firstImage();
  const second = await buildTestImage('second');
  t.after(second.cleanup);
  const b = second.image;
  t.diagnostic(
    `digest ${a.digest}; ${(a.compressedSize / 1024 / 1024).toFixed(1)} MiB compressed, ${(a.uncompressedSize / 1024 / 1024).toFixed(1)} MiB unpacked`,
  );
  assert.deepEqual(
    b.layers.map((l) => l.digest),
    a.layers.map((l) => l.digest),
    'every layer is byte-identical',
  );
  assert.equal(b.digest, a.digest);
  // The archive is reproducible too: it is what users load or push.
  const hash = async (file: string): Promise<string> =>
    createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  assert.equal(await hash(b.archivePath), await hash(a.archivePath), 'the archives are byte-identical');

  const { config } = await readImage(a.layoutDir);
  assert.equal(config.config.User, `${IMAGE_USER}:${IMAGE_USER}`);
  assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/node', '/app/src/cli/main.ts']);
  assert.deepEqual(config.config.Cmd, ['controller']);
  assert.equal(config.rootfs.diff_ids.length, a.layers.length);
});

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string };
}

test('the image root runs the controller (chroot, user 65532): it takes the Lease and completes a release', {
  timeout: 600_000,
}, async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('chroot needs root (CI runs the tests as root)');
    return;
  }
  const { image } = await firstImage();
  const started = Date.now();
  const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const { manifest, config } = await readImage(image.layoutDir);
  const root = await mkdtemp(join(tmpdir(), 'codedance-image-root-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  for (const layer of manifest.layers)
    await run('tar', ['-xzf', blobPath(image.layoutDir, layer.digest), '-C', root]);
  await chmod(root, 0o755); // an image's / is 0755; mkdtemp made it 0700
  t.diagnostic(`layers extracted: ${seconds()}`);
  for (const shell of ['bin/sh', 'bin/bash', 'usr/bin/sh', 'bin/dash'])
    assert.ok(!existsSync(join(root, shell)), `no shell in the image (${shell})`);

  const { admin, ns } = await releaseEnv(t, { controller: false });
  const cluster = await testCluster();
  // The controller identity's kubeconfig (token + inline CA), readable by the image's user only.
  await mkdir(join(root, 'etc', 'codedance'), { recursive: true });
  await copyFile(cluster.controllerKubeconfigPath, join(root, 'etc', 'codedance', 'kubeconfig'));
  await chown(join(root, 'etc', 'codedance', 'kubeconfig'), IMAGE_USER, IMAGE_USER);
  await grantShippedLeaseRules(admin, ns);

  const leaseName = 'codedance-image-test';
  const [entrypoint, ...entryArgs] = config.config.Entrypoint;
  const controller = background(
    onPath('chroot'),
    [
      `--userspec=${config.config.User}`,
      root,
      entrypoint!,
      ...entryArgs,
      ...config.config.Cmd,
      '--kubeconfig=/etc/codedance/kubeconfig',
      `--namespace=${ns}`,
      '--controllers=canary',
      '--leader-elect=true',
      `--lease-namespace=${ns}`,
      `--lease-name=${leaseName}`,
      '--http-port=0',
    ],
    // The image's environment only: nothing of the test runner's leaks in.
    Object.fromEntries(
      config.config.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ),
  );
  t.after(controller.stop);
  const failed = (): string =>
    `controller: ${controller.ended() ?? 'still running'}; log:\n${controller.lines.slice(-20).join('\n')}`;

  const identity = await waitFor(
    () => {
      if (controller.ended()) throw new Error(failed());
      for (const line of controller.lines) {
        const id = (JSON.parse(line.startsWith('{') ? line : '{}') as { identity?: string }).identity;
        if (id) return id;
      }
      return undefined;
    },
    { describe: 'the controller in the image root to log', timeoutMs: 60_000 },
  );
  await waitFor(
    async () => (await admin.get<Lease>(kinds.Lease, ns, leaseName))?.spec?.holderIdentity === identity,
    {
      describe: `Lease ${ns}/${leaseName} held by ${identity}`,
      timeoutMs: 60_000,
    },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${failed()}`);
  });

  t.diagnostic(`lease taken by ${identity}: ${seconds()}`);
  await createApp(admin, ns, 'shop', { replicas: 2, image: 'shop:v1' });
  await createRelease(admin, ns, 'shop', {
    targetDeployment: 'shop',
    canaryVersion: 'shop:v2',
    strategy: {
      type: 'Linear',
      steps: [
        { weight: 50, pause: '1s' },
        { weight: 100, pause: '0s' },
      ],
    },
  });
  await waitPhase(admin, ns, 'shop', 'Completed', 120_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${failed()}`);
  });
  t.diagnostic(`release Completed: ${seconds()}`);
  assert.equal(imageOf(await getDeployment(admin, ns, 'shop')), 'shop:v2');
  assert.ok(
    controller.lines.some((line) => line.includes('"controller started"')),
    'the controllers started after the lease was taken',
  );
});

test('crane pushes the image to a registry and pulls it back with the same digest', {
  timeout: 900_000,
}, async (t) => {
  const bin = await tools(['crane', 'registry']);
  const { image } = await firstImage();
  const registry = background(bin.registry, ['-port=0']);
  t.after(registry.stop);
  const port = await waitFor(
    () => {
      if (registry.ended()) throw new Error(`registry ${registry.ended()}: ${registry.lines.join('\n')}`);
      return registry.lines.map((line) => /serving on port (\d+)/.exec(line)?.[1]).find(Boolean);
    },
    { describe: 'the registry to listen', timeoutMs: 30_000 },
  );
  const repo = `localhost:${port}/codedance/controller`;
  const crane = (...args: string[]): Promise<string> =>
    run(bin.crane, ['--insecure', ...args]).then((r) => r.stdout.trim());

  const pushed = await crane('push', image.layoutDir, `${repo}:test`);
  assert.equal(pushed, `${repo}@${image.digest}`, 'crane push reports our digest');
  assert.equal(
    await crane('digest', `${repo}:test`),
    image.digest,
    'the registry serves it under our digest',
  );

  const pulled = await mkdtemp(join(tmpdir(), 'codedance-pulled-'));
  t.after(() => rm(pulled, { recursive: true, force: true }));
  await crane('pull', '--format=oci', `${repo}@${image.digest}`, pulled);
  const back = await readImage(pulled);
  assert.equal(back.digest, image.digest, 'pulled back with the same digest');
  assert.deepEqual(
    back.manifest.layers.map((l) => l.digest),
    image.layers.map((l) => l.digest),
  );

  // The archive (docker-load format) is accepted as well: crane rewrites the manifest in
  // Docker's media types, but the config and the layers are ours, byte for byte.
  await crane('push', image.archivePath, `${repo}:archive`);
  const manifest = JSON.parse(await crane('manifest', `${repo}:archive`)) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const ours = await readImage(image.layoutDir);
  assert.equal(manifest.config.digest, ours.manifest.config.digest);
  assert.deepEqual(
    manifest.layers.map((l) => l.digest),
    image.layers.map((l) => l.digest),
  );
});

// Local descriptors: src/runtime/kinds.ts lists only the kinds the controller itself uses.
const Role: ResourceKind = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'Role',
  plural: 'roles',
  namespaced: true,
};
const RoleBinding: ResourceKind = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
  namespaced: true,
};

/**
 * Lets the controller identity hold a Lease in `ns` with exactly the lease rule(s) the
 * shipped RBAC grants (wherever manifests.ts puts them: a ClusterRole or the controller
 * namespace's Role), so the test runs on the shipped permissions in its own namespace.
 */
async function grantShippedLeaseRules(
  admin: Awaited<ReturnType<typeof testCluster>>['admin'],
  ns: string,
): Promise<void> {
  const rules = (rbacManifests() as (KubeObject & { rules?: PolicyRule[] })[])
    .filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((o) => o.rules ?? [])
    .filter((rule) => rule.resources.includes('leases'));
  assert.ok(rules.length > 0, 'the shipped RBAC grants the controller Leases');
  const fieldManager = 'codedance-image-tests';
  await admin.apply(
    Role,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'codedance-leases', namespace: ns },
      rules,
    } as KubeObject,
    { fieldManager },
  );
  await admin.apply(
    RoleBinding,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'codedance-leases', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'codedance-leases' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'codedance-controller' }],
    } as KubeObject,
    { fieldManager },
  );
}
