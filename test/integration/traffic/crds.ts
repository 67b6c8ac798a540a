/**
 * Installs the CRDs the traffic tests need into the test cluster: the real Istio and
 * Gateway API CRDs (taken from their pinned Go modules into `$CODEDANCE_HOME/crds` by
 * `src/cluster/crds.ts`, as `npm test` does), and the project's own CanaryDeployment CRD
 * (owner of what providers create).
 *
 * Idempotent and cheap on a warm cluster: only missing CRDs are applied (one GET each
 * otherwise). Each is waited for until Established, so the first request for its kind
 * succeeds.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ensureThirdPartyCrds } from '../../../src/cluster/crds.ts';
import type { KubeClient, KubeObject } from '../../../src/runtime/client.ts';
import { CustomResourceDefinition } from '../../../src/runtime/kinds.ts';
import { CanaryDeploymentApi, customResourceDefinition } from '../../../src/api/crd.ts';

interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

let installed: Promise<void> | undefined;

/** Installs (once per process, only those missing) the Istio and Gateway API CRDs. */
export function ensureTrafficCrds(client: KubeClient): Promise<void> {
  installed ??= installThirdParty(client).catch((err: unknown) => {
    installed = undefined;
    throw err;
  });
  return installed;
}

/**
 * Makes sure the CanaryDeployment CRD is served (the owner of what providers create).
 * `npm test` installs it with the rest of `deploy/`; on a dev cluster that lacks it, the
 * generated CRD is applied.
 */
export async function ensureCanaryDeploymentCrd(client: KubeClient): Promise<void> {
  const crd = customResourceDefinition(CanaryDeploymentApi) as unknown as Crd;
  await installMissing(client, [crd]);
}

async function installThirdParty(client: KubeClient): Promise<void> {
  const crds: Crd[] = [];
  // Already cached in a test run (npm test fetched them to install them); fetched otherwise.
  for (const file of await ensureThirdPartyCrds()) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const object = doc.toJS() as Crd | null;
      if (object?.kind === 'CustomResourceDefinition') crds.push(object);
    }
  }
  await installMissing(client, crds);
}

async function installMissing(client: KubeClient, crds: Crd[]): Promise<void> {
  await Promise.all(
    crds.map(async (crd) => {
      const name = crd.metadata.name!;
      // A CRD already there (installed by npm test or another suite) is left as it is.
      if (!(await client.get<Crd>(CustomResourceDefinition, undefined, name))) {
        try {
          await client.apply(CustomResourceDefinition, crd, { fieldManager: 'codedance-tests' });
        } catch (err) {
          throw new Error(`installing CRD ${name} failed (npm test installs every CRD; on a dev cluster apply deploy/crds and $CODEDANCE_HOME/crds): ${(err as Error).message}`, { cause: err });
        }
      }
      await established(client, name);
    }),
  );
}

async function established(client: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await client.get<Crd>(CustomResourceDefinition, undefined, name);
    if (crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} is not Established after 30s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
