/**
 * Access for the in-cluster dashboard (served by the controller): the person is whoever
 * the request's bearer token says, and the API server decides what they may do.
 *
 * - Authentication: `Authorization: Bearer <token>` is checked with a TokenReview; no
 *   token or a token the API server does not accept is a 401.
 * - Reading: a namespace's releases are shown only when a SubjectAccessReview says the
 *   person may `list` `canarydeployments` there, and its WebApps only when one says they
 *   may `list` `webapps` (apps.codedance.io) there: each kind on its own.
 * - Acting: a SubjectAccessReview for `patch` on that CanaryDeployment comes first (a
 *   refusal writes nothing); the write itself is then made WITH THE PERSON'S TOKEN, so
 *   the API server authorises it once more and its audit log names the person, not the
 *   controller. The dashboard never impersonates (no `impersonate` verb is granted).
 *
 * - Events (a release's timeline): read with the person's token; the API server decides.
 *
 * The dashboard's own identity needs only `create` on `tokenreviews` and
 * `subjectaccessreviews` (ClusterRole `codedance-dashboard`) and the controller's read
 * of CanaryDeployments and WebApps (its ClusterRole lists and watches both).
 *
 * Caveat: answers are cached for `cacheTtlMs` (default 10 s) per token and per
 * (person, namespace), so a revoked right or token still works for at most that long for
 * reading; a write is always checked again by the API server itself.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ResolvedKubeConfig } from '../runtime/kubeconfig.ts';
import type { CanaryDeployment } from '../api/canary-deployment.ts';
import { createKubeClient, type KubeClient } from '../runtime/client.ts';
import { CanaryDeploymentKind, WebAppKind } from '../api/kinds.ts';
import type { ResourceKind } from '../runtime/kinds.ts';
import { steerRelease } from './commands.ts';
import { releaseEvents } from './events.ts';
import { clientConfigForToken } from './person-client.ts';
import type { Caller, DashboardAccess, Person } from './server.ts';
import type { Refusal } from './security.ts';

/** Settings of {@link clusterAccess}. */
export interface ClusterAccessOptions {
  /** The dashboard's own client (the controller's): reviews are created with it. */
  client: KubeClient;
  /** The controller's kubeconfig: its cluster (server, CA) is reused for the person's client. */
  kubeConfig: ResolvedKubeConfig;
  /** The release as the dashboard's cache holds it. */
  lookup: (namespace: string, name: string) => CanaryDeployment | undefined;
  /** How long an answer of the API server is reused. @default 10000 */
  cacheTtlMs?: number;
  /** Field manager of the person's writes. @default 'codedance-dashboard' */
  fieldManager?: string;
  now?: () => number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

const CACHE_LIMIT = 10_000;

/** A small map whose entries expire; the oldest go first when it is full. */
function ttlCache<V>(
  ttlMs: number,
  now: () => number,
): { get(key: string): V | undefined; set(key: string, value: V): void } {
  const entries = new Map<string, { value: V; until: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value) {
      if (entries.size >= CACHE_LIMIT) entries.delete(entries.keys().next().value as string);
      entries.set(key, { value, until: now() + ttlMs });
    },
  };
}

/** The bearer token of `req`, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/** Creates the in-cluster {@link DashboardAccess}. */
export function clusterAccess(options: ClusterAccessOptions): DashboardAccess {
  const now = options.now ?? Date.now;
  const ttl = options.cacheTtlMs ?? 10_000;
  const people = ttlCache<Person | Refusal>(ttl, now);
  const listing = ttlCache<boolean>(ttl, now);
  const fieldManager = options.fieldManager ?? 'codedance-dashboard';

  async function review(token: string): Promise<Person | Refusal> {
    const key = createHash('sha256').update(token).digest('hex');
    const cached = people.get(key);
    if (cached) return cached;
    const answer = await options.client.raw<{ status?: TokenReviewStatus }>(
      'POST',
      '/apis/authentication.k8s.io/v1/tokenreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token },
      },
    );
    const status = answer.status ?? {};
    const user = status.user;
    const result: Person | Refusal =
      status.authenticated && user?.username
        ? { username: user.username, uid: user.uid, groups: user.groups ?? [], extra: user.extra ?? {} }
        : {
            status: 401,
            message: `the bearer token was not accepted by the API server${status.error ? `: ${status.error}` : ''}`,
          };
    people.set(key, result);
    return result;
  }

  async function allowed(
    person: Person,
    verb: string,
    namespace: string,
    name?: string,
    kind: ResourceKind = CanaryDeploymentKind,
  ): Promise<boolean> {
    const answer = await options.client.raw<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: person.username,
          uid: person.uid,
          groups: person.groups,
          extra: person.extra,
          resourceAttributes: {
            namespace,
            verb,
            group: kind.group,
            resource: kind.plural,
            ...(name ? { name } : {}),
          },
        },
      },
    );
    return answer.status?.allowed === true;
  }

  return {
    async authenticate(req) {
      const token = bearerToken(req);
      if (!token) {
        return {
          ok: false,
          refusal: {
            status: 401,
            message:
              'a bearer token is required (Authorization: Bearer <token>), e.g. from kubectl create token',
          },
        };
      }
      const result = await review(token);
      if ('status' in result) return { ok: false, refusal: result };
      return { ok: true, caller: { person: result, token } };
    },

    async mayList(caller, namespace, kind = 'CanaryDeployment') {
      const key = `${caller.person.username}\u0000${caller.person.uid ?? ''}\u0000${namespace}\u0000${kind}`;
      const cached = listing.get(key);
      if (cached !== undefined) return cached;
      const answer = await allowed(
        caller.person,
        'list',
        namespace,
        undefined,
        kind === 'WebApp' ? WebAppKind : CanaryDeploymentKind,
      );
      listing.set(key, answer);
      return answer;
    },

    async act(caller: Caller, namespace, name, command) {
      const { person, token } = caller;
      // Never cached: each write is asked about afresh.
      if (!token || !(await allowed(person, 'patch', namespace, name))) {
        return {
          ok: false,
          status: 403,
          message: `${person.username} may not patch canarydeployments "${name}" in namespace "${namespace}"`,
        };
      }
      const current = options.lookup(namespace, name);
      return asPerson(token, (client) =>
        steerRelease({ client, namespace, name, command, current, by: person.username }),
      );
    },

    async events(caller, namespace, name) {
      if (!caller.token) return { ok: false, status: 401, message: 'a bearer token is required' };
      // No review of our own: the API server authorises the person's read itself.
      const uid = options.lookup(namespace, name)?.metadata.uid;
      return asPerson(caller.token, (client) => releaseEvents(client, namespace, name, uid));
    },
  };

  /** Runs `fn` with a client that is the person's token and nothing else. */
  async function asPerson<T>(token: string, fn: (client: KubeClient) => Promise<T>): Promise<T> {
    const client = await createKubeClient({
      kubeConfig: clientConfigForToken(options.kubeConfig, token),
      fieldManager,
    });
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }
}
