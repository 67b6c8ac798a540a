/**
 * The replica-ratio provider on the real control plane (pods run under kwok): weights
 * are the two Deployments' replica counts out of the stable replicas at release start.
 */
import assert from 'node:assert/strict';
import { Deployment as DeploymentKind } from '../../../src/runtime/kinds.ts';
import type { Deployment } from '../../../src/runtime/core-types.ts';
import { RoleLabel } from '../../../src/api/canary-deployment.ts';
import { conformanceTarget, mustGet, testTrafficProvider } from './conformance.ts';

const total = 4;

function deployment(namespace: string, name: string, role: string, replicas: number): Deployment {
  const labels = { app: 'myapp', [RoleLabel]: role };
  return {
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: `myapp:${role}` }] } },
    },
  };
}

testTrafficProvider({
  name: 'Replicas',
  async setup(ctx) {
    const { client, namespace } = ctx;
    await client.create(DeploymentKind, deployment(namespace, 'myapp', 'stable', total));
    await client.create(DeploymentKind, deployment(namespace, 'myapp-canary', 'canary', 0));
    const target = conformanceTarget(ctx, { provider: 'Replicas' }, total);
    const replicas = async (name: string) =>
      (await mustGet<Deployment>(client, DeploymentKind, namespace, name)).spec?.replicas ?? 1;
    // 10% of 4 pods is 1 pod, 25%; the others fall on whole pods.
    const effective: Record<number, number> = { 0: 0, 10: 25, 30: 25, 50: 50, 100: 100 };
    return {
      target,
      effectiveWeight: (weight) => effective[weight] ?? weight,
      async observedWeight() {
        const stable = await replicas('myapp');
        const canary = await replicas('myapp-canary');
        assert.ok(stable + canary >= total, `capacity holds: ${stable} + ${canary} >= ${total}`);
        return Math.round((canary * 100) / (stable + canary));
      },
      async foreign() {
        const templates = await Promise.all(
          ['myapp', 'myapp-canary'].map((n) => mustGet<Deployment>(client, DeploymentKind, namespace, n)),
        );
        return templates.map((d) => ({ selector: d.spec?.selector, template: d.spec?.template }));
      },
      async original() {
        return { stable: await replicas('myapp'), canary: await replicas('myapp-canary') };
      },
      async versions() {
        // generation, not resourceVersion: the deployment controller keeps writing status.
        const generation = async (name: string) =>
          String((await mustGet<Deployment>(client, DeploymentKind, namespace, name)).metadata.generation);
        return { stable: await generation('myapp'), canary: await generation('myapp-canary') };
      },
      missingTarget: () => ({ ...target, stableDeployment: 'absent', canaryDeployment: 'absent-canary' }),
      // A policy capping the canary at 2 replicas.
      tamper: {
        resource: { apiGroup: 'apps', apiVersion: 'v1', resource: 'deployments' },
        condition: `object.metadata.name == "myapp-canary" && object.spec.replicas > 2`,
        jsonPatch: `[JSONPatch{op: "replace", path: "/spec/replicas", value: 2}]`,
      },
    };
  },
});
