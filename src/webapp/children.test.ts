import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebApp } from '../api/webapp.ts';
import type { Deployment, PodSpec, PodTemplateSpec } from '../runtime/core-types.ts';
import {
  buildConfigMap,
  buildDeployment,
  buildService,
  childNames,
  ConfigHashAnnotation,
  configHash,
  imageOf,
} from './children.ts';

function webapp(spec: Partial<WebApp['spec']> = {}): WebApp {
  return {
    apiVersion: 'apps.codedance.io/v1alpha1',
    kind: 'WebApp',
    metadata: { name: 'shop', namespace: 'prod', uid: 'uid-1', generation: 1 },
    spec: { image: 'shop:1', ...spec },
  };
}

const inputs = { image: 'shop:1', replicas: 2 };

/** The pod spec buildDeployment made (it always makes one). */
function podSpecOf(deployment: Deployment): PodSpec {
  const spec = deployment.spec?.template?.spec;
  assert.ok(spec, 'a pod template with a spec');
  return spec;
}

/** The pod template's metadata buildDeployment made. */
function templateMetaOf(deployment: Deployment): NonNullable<PodTemplateSpec['metadata']> {
  const metadata = deployment.spec?.template?.metadata;
  assert.ok(metadata, 'a pod template with metadata');
  return metadata;
}

test('children are named after the WebApp and owned by it as controller', () => {
  const app = webapp();
  assert.deepEqual(childNames(app), {
    deployment: 'shop',
    service: 'shop',
    configMap: 'shop-config',
    canary: 'shop',
  });
  for (const child of [buildConfigMap(app), buildDeployment(app, inputs), buildService(app)]) {
    assert.equal(child.metadata.namespace, 'prod');
    assert.deepEqual(child.metadata.ownerReferences, [
      {
        apiVersion: 'apps.codedance.io/v1alpha1',
        kind: 'WebApp',
        name: 'shop',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(child.metadata.labels, {
      'app.kubernetes.io/name': 'shop',
      'app.kubernetes.io/managed-by': 'codedance',
    });
  }
});

test('a WebApp without a uid cannot own children', () => {
  const app = webapp();
  delete app.metadata.uid;
  assert.throws(() => buildService(app), /no uid/);
});

test('env goes into the ConfigMap and reaches the container through envFrom', () => {
  const app = webapp({
    env: [
      { name: 'MODE', value: 'fast' },
      { name: 'LEVEL', value: '3' },
    ],
  });
  assert.deepEqual(buildConfigMap(app).data, { MODE: 'fast', LEVEL: '3' });
  const container = podSpecOf(buildDeployment(app, inputs)).containers[0]!;
  assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'shop-config' } }]);
  assert.equal(buildConfigMap(webapp()).data && Object.keys(buildConfigMap(webapp()).data!).length, 0);
});

test('the config hash changes with any key or value, not with the order of the env list', () => {
  const hashOf = (env: { name: string; value: string }[]) =>
    templateMetaOf(buildDeployment(webapp({ env }), inputs)).annotations![ConfigHashAnnotation];
  const a = hashOf([
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
  ]);
  assert.match(a!, /^[0-9a-f]{64}$/);
  assert.equal(
    hashOf([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]),
    a,
  );
  assert.notEqual(
    hashOf([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
    ]),
    a,
  );
  assert.notEqual(hashOf([{ name: 'A', value: '1' }]), a);
  assert.equal(configHash({}), configHash({}));
});

test('the Deployment runs the image and replicas it is given, with the spec port', () => {
  const deployment = buildDeployment(webapp({ port: 9090 }), { image: 'shop:0', replicas: 3 });
  assert.equal(deployment.spec!.replicas, 3);
  assert.equal(imageOf(deployment), 'shop:0');
  assert.deepEqual(deployment.spec!.selector, { matchLabels: { 'app.kubernetes.io/name': 'shop' } });
  assert.deepEqual(templateMetaOf(deployment).labels, {
    'app.kubernetes.io/name': 'shop',
    'app.kubernetes.io/managed-by': 'codedance',
    'deploy.codedance.io/role': 'stable',
  });
  const container = podSpecOf(deployment).containers[0]!;
  assert.deepEqual(container.ports, [{ name: 'http', containerPort: 9090, protocol: 'TCP' }]);
  assert.equal(podSpecOf(buildDeployment(webapp(), inputs)).containers[0]!.ports![0]!.containerPort, 8080);
});

test('pods are hardened: non-root, read-only root with /tmp, no escalation, no capabilities, RuntimeDefault seccomp, probes on the port', () => {
  const pod = podSpecOf(buildDeployment(webapp(), inputs));
  assert.deepEqual(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 10001,
    runAsGroup: 10001,
    fsGroup: 10001,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(pod.automountServiceAccountToken, false);
  const container = pod.containers[0]!;
  assert.deepEqual(container.securityContext, {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  assert.deepEqual(container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
  assert.deepEqual(pod.volumes, [{ name: 'tmp', emptyDir: {} }]);
  assert.deepEqual(container.readinessProbe?.tcpSocket, { port: 'http' });
  assert.deepEqual(container.livenessProbe?.tcpSocket, { port: 'http' });
});

test('resources come from the spec and are left out when unset', () => {
  assert.equal(podSpecOf(buildDeployment(webapp(), inputs)).containers[0]!.resources, undefined);
  const resources = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } };
  assert.deepEqual(
    podSpecOf(buildDeployment(webapp({ resources }), inputs)).containers[0]!.resources,
    resources,
  );
  assert.equal(
    podSpecOf(buildDeployment(webapp({ resources: { requests: {} } }), inputs)).containers[0]!.resources,
    undefined,
  );
});

test('the Service selects the pods and forwards port 80 to the named container port', () => {
  assert.deepEqual(buildService(webapp()).spec, {
    type: 'ClusterIP',
    selector: { 'app.kubernetes.io/name': 'shop' },
    ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
  });
});
