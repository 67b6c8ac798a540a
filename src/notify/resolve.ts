/**
 * From `spec.notifications` to ready {@link Receiver}s: URLs and secrets read from
 * Kubernetes Secrets in the release's namespace.
 *
 * Per receiver: the URL is `url` if given, else the Secret's `secretRef.urlKey`
 * (@default `url`); the signing secret (DingTalk, Webhook) or robot key (WeCom) is
 * the Secret's `secretRef.secretKey` when set. A WeCom receiver may give only a key.
 *
 * Opt-in: a Secret is used only if it carries the label `deploy.codedance.io/notification:
 * "true"` ({@link NotificationSecretLabel}). RBAC cannot narrow `get` on Secrets to a
 * label, so this check is what keeps a release from sending, say, a database password of
 * its namespace to a receiver of its choosing (a WeCom key travels in the URL as is).
 * Secrets are read one by one by name: never listed, never watched.
 *
 * Unless `allowInternal` is set, a URL to a cluster-internal host (./url-policy.ts) is
 * refused (a problem with reason `UrlRefused` and `refused: true`), and the receivers left
 * send through a dispatcher that refuses names resolving to internal addresses.
 *
 * Never throws: a refused or missing Secret or key, a refused URL, or a failed read, is a
 * problem value and the receiver is left out, so one bad receiver never stops the others
 * (the reconciler reports problems as a condition and an Event).
 */
import { NotificationSecretLabel, type NotificationSpec } from '../api/canary-deployment.ts';
import type { KubeClient, KubeObject } from '../runtime/client.ts';
import { Secret } from '../runtime/kinds.ts';
import type { Receiver } from './notify.ts';
import { notifiers } from './registry.ts';
import { WECOM_WEBHOOK_URL } from './wecom.ts';
import { publicOnlyDispatcher, refuseNotificationUrl } from './url-policy.ts';

/** The Secret fields read here. */
interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/** Why a receiver was left out, PascalCase (used as the condition's and Event's reason). */
export type ReceiverProblemReason =
  | 'SecretNotOptedIn'
  | 'SecretNotFound'
  | 'SecretUnreadable'
  | 'SecretKeyMissing'
  | 'InvalidUrl'
  | 'UrlRefused';

export interface ReceiverProblem {
  /** Index in `spec.notifications`. */
  index: number;
  /** The receiver's name or type. */
  receiver: string;
  reason: ReceiverProblemReason;
  /** What is wrong and what to do about it. */
  message: string;
  /** The Secret concerned, if any. */
  secret?: string;
  /** The URL was refused by the URL policy (not a missing Secret or key). */
  refused?: boolean;
}

/** How receivers are resolved. */
export interface ResolveOptions {
  /** Let URLs reach cluster-internal hosts (`--allow-internal-notification-urls`). @default false */
  allowInternal?: boolean;
}

/** The message of a Secret refused for want of the opt-in label: which Secret, and the command that opts it in. */
export function notOptedInMessage(namespace: string, name: string): string {
  return (
    `Secret ${namespace}/${name} is not opted in to notifications: the controller uses only Secrets labelled ${NotificationSecretLabel}="true"; ` +
    `add the label: kubectl label secret ${name} -n ${namespace} ${NotificationSecretLabel}=true`
  );
}

/** Reads what `specs` need from Secrets in `namespace` (one read per Secret) and builds the receivers. */
export async function resolveReceivers(
  client: Pick<KubeClient, 'get'>,
  namespace: string,
  specs: readonly NotificationSpec[] | undefined,
  options: ResolveOptions = {},
): Promise<{ receivers: Receiver[]; problems: ReceiverProblem[] }> {
  const receivers: Receiver[] = [];
  const problems: ReceiverProblem[] = [];
  type Read =
    | { secret: SecretObject; error?: undefined }
    | { secret?: undefined; error: string; reason: ReceiverProblemReason };
  const secrets = new Map<string, Promise<Read>>();
  const readSecret = (name: string) => {
    let pending = secrets.get(name);
    if (!pending) {
      pending = client.get<SecretObject>(Secret, namespace, name).then(
        (secret): Read => {
          if (!secret) return { error: `Secret ${namespace}/${name} not found`, reason: 'SecretNotFound' };
          if (secret.metadata.labels?.[NotificationSecretLabel] !== 'true')
            return { error: notOptedInMessage(namespace, name), reason: 'SecretNotOptedIn' };
          return { secret };
        },
        (cause: unknown): Read => ({
          error: `reading Secret ${namespace}/${name}: ${cause instanceof Error ? cause.message : String(cause)}`,
          reason: 'SecretUnreadable',
        }),
      );
      secrets.set(name, pending);
    }
    return pending;
  };

  for (const [index, spec] of (specs ?? []).entries()) {
    const receiver = spec.name ?? spec.type;
    const secretName = spec.secretRef?.name;
    const problem = (reason: ReceiverProblemReason, message: string) =>
      problems.push({ index, receiver, reason, message, ...(secretName ? { secret: secretName } : {}) });
    let url = spec.url;
    let secret: string | undefined;
    if (spec.secretRef) {
      const read = await readSecret(spec.secretRef.name);
      if (!read.secret) {
        problem(read.reason, read.error);
        continue;
      }
      const object = read.secret;
      const urlKey = spec.secretRef.urlKey ?? 'url';
      url ??= decode(object.data?.[urlKey]);
      if (spec.secretRef.secretKey) {
        secret = decode(object.data?.[spec.secretRef.secretKey]);
        if (secret === undefined) {
          problem(
            'SecretKeyMissing',
            `Secret ${namespace}/${spec.secretRef.name} has no key ${JSON.stringify(spec.secretRef.secretKey)}`,
          );
          continue;
        }
      }
      if (url === undefined && !(spec.type === 'WeCom' && secret)) {
        problem(
          'SecretKeyMissing',
          `Secret ${namespace}/${spec.secretRef.name} has no key ${JSON.stringify(urlKey)} and the receiver has no url`,
        );
        continue;
      }
    }
    if (spec.type === 'WeCom' && url === undefined && secret) url = WECOM_WEBHOOK_URL;
    if (url === undefined) {
      problem('InvalidUrl', 'no url: set url or secretRef');
      continue;
    }
    url = url.trim();
    if (!/^https?:\/\//.test(url)) {
      problem('InvalidUrl', 'the url is not http(s)');
      continue;
    }
    const refusal = options.allowInternal ? undefined : refuseNotificationUrl(url);
    if (refusal) {
      // Say which host, never the whole URL: it may carry a token.
      problems.push({
        index,
        receiver,
        reason: 'UrlRefused',
        message: refusal,
        refused: true,
        ...(secretName ? { secret: secretName } : {}),
      });
      continue;
    }
    const notifier = notifiers[spec.type]({
      name: receiver,
      url,
      ...(secret === undefined ? {} : { secret: secret.trim() }),
      ...(options.allowInternal ? {} : { dispatcher: publicOnlyDispatcher() }),
    });
    receivers.push({ notifier, events: spec.events });
  }
  return { receivers, problems };
}

function decode(base64: string | undefined): string | undefined {
  return base64 === undefined ? undefined : Buffer.from(base64, 'base64').toString('utf8');
}
