/**
 * The API server refusing a write of the controller, caused the way a user's cluster
 * causes it, reaches the user: the `Ready` condition False with the refusal's reason
 * (ApiForbidden for a 403, ApiRejected for a 400 or 422) and the server's own words, a
 * Warning Event saying the same, the release held where it was (no step entered, no
 * traffic moved, not Failed), and the release going on by itself once the cause is gone
 * (retried with backoff). See src/canary/error-policy.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanaryDeploymentSpec } from '../../../src/api/canary-deployment.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import * as kinds from '../../../src/runtime/kinds.ts';
import { resourceKind } from '../../../src/runtime/kinds.ts';
import {
  createApp,
  createRelease,
  getDeployment,
  getRelease,
  imageOf,
  keepLog,
  names,
  releaseEnv,
  waitFor,
} from './support.ts';
import { conditionOf, waitCondition, waitWarning } from './traffic-checks.ts';

/** Step 1 holds long enough for every check; nothing here waits for it to end. */
const spec: CanaryDeploymentSpec = {
  targetDeployment: 'myapp',
  canaryVersion: 'myapp:v2',
  strategy: {
    type: 'Linear',
    steps: [
      { weight: 50, pause: '10m' },
      { weight: 100, pause: '0s' },
    ],
  },
};
const timeout = 240_000;

interface ResourceQuota extends KubeObject {
  spec: { hard: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}
const ResourceQuotaKind = resourceKind<ResourceQuota>('', 'v1', 'ResourceQuota', 'resourcequotas');
const ValidatingAdmissionPolicy = resourceKind(
  'admissionregistration.k8s.io',
  'v1',
  'ValidatingAdmissionPolicy',
  'validatingadmissionpolicies',
  false,
);
const ValidatingAdmissionPolicyBinding = resourceKind(
  'admissionregistration.k8s.io',
  'v1',
  'ValidatingAdmissionPolicyBinding',
  'validatingadmissionpolicybindings',
  false,
);

/** The release holds: the Ready condition and a Warning Event give `reason` and say `says`; nothing moved. */
async function assertHeld(admin: KubeClient, ns: string, reason: string, says: RegExp): Promise<void> {
  const cd = await waitCondition(admin, ns, 'myapp', 'Ready', 'False', reason, 90_000);
  assert.match(conditionOf(cd, 'Ready')?.message ?? '', says);
  assert.match(await waitWarning(admin, ns, 'myapp', reason), says);
  assert.notEqual(cd.status?.phase, 'Failed');
  assert.equal(cd.status?.currentWeight ?? 0, 0, 'no step was entered');
  assert.ok(!(await names(admin, kinds.Deployment, ns)).includes('myapp-canary'), 'no canary was made');
  assert.equal(imageOf(await getDeployment(admin, ns, 'myapp')), 'myapp:v1', 'stable untouched');
}

/** Waits until the release entered step 1 (the canary made and half the traffic on it). */
async function waitStepOne(admin: KubeClient, ns: string): Promise<void> {
  await waitFor(async () => (await getRelease(admin, ns, 'myapp'))?.status?.currentWeight === 50, {
    describe: `${ns}/myapp at step 1 (50%) once the refusal is gone`,
    timeoutMs: 150_000,
  });
  assert.ok((await names(admin, kinds.Deployment, ns)).includes('myapp-canary'));
  const cd = await getRelease(admin, ns, 'myapp');
  assert.notEqual(
    conditionOf(cd, 'Ready')?.reason?.startsWith('Api'),
    true,
    'the Ready condition tells the new step',
  );
}

test('ApiForbidden: a ResourceQuota with no room for the canary Deployment holds the release; with room, it goes on', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  // A namespace quota of the kind platform teams set: room for the app's one Deployment.
  await admin.create(ResourceQuotaKind, {
    metadata: { name: 'deployments', namespace: ns },
    spec: { hard: { 'count/deployments.apps': '1' } },
  });
  // The quota is enforced once the quota controller has counted what is there.
  await waitFor(
    async () =>
      (await admin.get(ResourceQuotaKind, ns, 'deployments'))?.status?.used?.['count/deployments.apps'],
    { describe: 'the quota counted', timeoutMs: 60_000 },
  );
  await createRelease(admin, ns, 'myapp', spec);
  await assertHeld(
    admin,
    ns,
    'ApiForbidden',
    /myapp-canary.*forbidden: exceeded quota.*the API server forbade/,
  );

  await admin.patch(
    ResourceQuotaKind,
    ns,
    'deployments',
    { spec: { hard: { 'count/deployments.apps': '2' } } },
    'merge',
  );
  await waitStepOne(admin, ns);
});

test('ApiRejected: a ValidatingAdmissionPolicy that denies the canary Deployment holds the release; without it, it goes on', {
  timeout,
}, async (t) => {
  const { admin, ns, controller } = await releaseEnv(t);
  keepLog(t, controller);
  await createApp(admin, ns, 'myapp', { replicas: 2 });
  // A platform policy of the kind a real cluster has: no `*-canary` Deployment in this namespace.
  const name = `no-canaries-${ns}`;
  await admin.create(ValidatingAdmissionPolicy, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['deployments'],
          },
        ],
      },
      matchConditions: [{ name: 'canary', expression: "object.metadata.name.endsWith('-canary')" }],
      validations: [
        { expression: 'false', message: 'canary Deployments need a review by the platform team' },
      ],
    },
  } as KubeObject);
  t.after(() => admin.delete(ValidatingAdmissionPolicy, undefined, name).then(() => undefined));
  await admin.create(ValidatingAdmissionPolicyBinding, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
    },
  } as KubeObject);
  t.after(() => admin.delete(ValidatingAdmissionPolicyBinding, undefined, name).then(() => undefined));
  // The policy takes effect once the API server has loaded it: prove it on a Deployment of ours first.
  const probe = {
    metadata: { name: 'probe-canary', namespace: ns },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'probe' } },
      template: {
        metadata: { labels: { app: 'probe' } },
        spec: { containers: [{ name: 'app', image: 'probe:v1' }] },
      },
    },
  };
  await waitFor(
    async () => {
      try {
        await admin.create(kinds.Deployment, probe);
      } catch (err) {
        if (/review by the platform team/.test(String(err))) return true;
        throw err;
      }
      await admin.delete(kinds.Deployment, ns, 'probe-canary');
      return false;
    },
    { describe: 'the admission policy in effect', timeoutMs: 60_000, intervalMs: 500 },
  );
  await createRelease(admin, ns, 'myapp', spec);
  await assertHeld(admin, ns, 'ApiRejected', /review by the platform team.*the API server rejected/);

  await admin.delete(ValidatingAdmissionPolicyBinding, undefined, name);
  await waitStepOne(admin, ns);
});
