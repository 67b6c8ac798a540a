/**
 * Steering a release from the dashboard: the same rules and the same writes as the CLI
 * (`planSteer`): pause sets `spec.paused`, the rest write the one-shot command
 * annotation the controller acts on once.
 *
 * The write is made with `client`, which must carry the person's own credentials (their
 * kubeconfig locally, their bearer token in a cluster): the API server authorises it
 * again and its audit log names them. The object the plan is made from may come from a
 * cache (`current`), so the person needs only `patch`.
 */
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { planSteer } from '../canary/commands.ts';
import { KubeApiError, type KubeClient } from '../runtime/client.ts';

import type { CommandOutcome, DashboardCommand } from './server.ts';
import { CanaryDeploymentKind } from '../api/kinds.ts';

/** What {@link steerRelease} needs. */
export interface SteerRequest {
  /** A client with the person's credentials: the write is made with it. */
  client: KubeClient;
  namespace: string;
  name: string;
  command: DashboardCommand;
  /** The release as last seen (a cache); undefined reads it with `client`. */
  current?: CanaryDeployment | undefined;
  /** The person's username, written into the command for the controller's Events and history. */
  by?: string | undefined;
}

/** Sends the command; refusals (state, RBAC, missing object) are outcomes with an HTTP status, not errors. */
export async function steerRelease(request: SteerRequest): Promise<CommandOutcome> {
  const { client, namespace, name, command } = request;
  try {
    const release = request.current ?? (await client.get(CanaryDeploymentKind, namespace, name));
    if (!release) return { ok: false, status: 404, message: `release "${namespace}/${name}" not found` };
    // promote-full is the CLI's `promote --full`: the same verb, to the end at once.
    const full = command === 'promote-full';
    const plan = planSteer(release, full ? 'promote' : command, full, request.by);
    if (plan.kind === 'refused') return { ok: false, status: 409, message: plan.message };
    if (plan.kind === 'nothing-to-do') return { ok: true, message: plan.message };
    await client.patch(CanaryDeploymentKind, namespace, name, plan.patch, 'merge');
    return { ok: true, message: `${command} sent to "${name}"` };
  } catch (err) {
    // The API server's own refusal (RBAC, admission, a deleted object) is the answer.
    if (err instanceof KubeApiError && err.statusCode >= 400 && err.statusCode < 500) {
      return { ok: false, status: err.statusCode, message: err.message };
    }
    throw err;
  }
}
