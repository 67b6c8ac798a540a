/**
 * Who a client is, as the API server sees it: a SelfSubjectReview
 * (`authentication.k8s.io/v1`, the request behind `kubectl auth whoami`).
 *
 * The CLI and the local dashboard write this name into the commands they send, so the
 * controller's Events and history can say who asked.
 */
import type { KubeClient } from './client.ts';

/** The client's username, or undefined when the API server does not say (an old server, a refusal). */
export async function whoAmI(client: KubeClient): Promise<string | undefined> {
  try {
    const review = await client.raw<{ status?: { userInfo?: { username?: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      },
    );
    return review.status?.userInfo?.username || undefined;
  } catch {
    return undefined;
  }
}
