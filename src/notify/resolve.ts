/**
 * From `spec.notifications` to ready {@link Receiver}s: URLs and secrets read from
 * Kubernetes Secrets in the release's namespace.
 *
 * Per receiver: the URL is `url` if given, else the Secret's `secretRef.urlKey`
 * (@default `url`); the signing secret (DingTalk, Webhook) or robot key (WeCom) is
 * the Secret's `secretRef.secretKey` when set. A WeCom receiver may give only a key.
 *
 * Never throws: a missing Secret or key, or a failed read, is a problem value and the
 * receiver is left out, so one bad receiver never stops the others (the reconciler
 * reports problems as a condition or an Event).
 *
 * Unless `allowInternal` is set, a URL to a cluster-internal host (./url-policy.ts) is
 * refused the same way (a problem with `refused: true`), and the receivers left send
 * through a dispatcher that refuses names resolving to internal addresses.
 */
import type { NotificationSpec } from '../api/canary-deployment.ts';
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

export interface ReceiverProblem {
  /** Index in `spec.notifications`. */
  index: number;
  /** The receiver's name or type. */
  receiver: string;
  message: string;
  /** The URL was refused by the URL policy (not a missing Secret or key). */
  refused?: boolean;
}

/** How receivers are resolved. */
export interface ResolveOptions {
  /** Let URLs reach cluster-internal hosts (`--allow-internal-notification-urls`). @default false */
  allowInternal?: boolean;
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
  const secrets = new Map<string, Promise<{ secret?: SecretObject; error?: string }>>();
  const readSecret = (name: string) => {
    let pending = secrets.get(name);
    if (!pending) {
      pending = client.get<SecretObject>(Secret, namespace, name).then(
        (secret) => (secret ? { secret } : { error: `Secret ${namespace}/${name} not found` }),
        (cause: unknown) => ({ error: `reading Secret ${namespace}/${name}: ${cause instanceof Error ? cause.message : String(cause)}` }),
      );
      secrets.set(name, pending);
    }
    return pending;
  };

  for (const [index, spec] of (specs ?? []).entries()) {
    const receiver = spec.name ?? spec.type;
    const problem = (message: string) => problems.push({ index, receiver, message });
    let url = spec.url;
    let secret: string | undefined;
    if (spec.secretRef) {
      const { secret: object, error } = await readSecret(spec.secretRef.name);
      if (!object) {
        problem(error ?? 'Secret unreadable');
        continue;
      }
      const urlKey = spec.secretRef.urlKey ?? 'url';
      url ??= decode(object.data?.[urlKey]);
      if (spec.secretRef.secretKey) {
        secret = decode(object.data?.[spec.secretRef.secretKey]);
        if (secret === undefined) {
          problem(`Secret ${namespace}/${spec.secretRef.name} has no key ${JSON.stringify(spec.secretRef.secretKey)}`);
          continue;
        }
      }
      if (url === undefined && !(spec.type === 'WeCom' && secret)) {
        problem(`Secret ${namespace}/${spec.secretRef.name} has no key ${JSON.stringify(urlKey)} and the receiver has no url`);
        continue;
      }
    }
    if (spec.type === 'WeCom' && url === undefined && secret) url = WECOM_WEBHOOK_URL;
    if (url === undefined) {
      problem('no url: set url or secretRef');
      continue;
    }
    url = url.trim();
    if (!/^https?:\/\//.test(url)) {
      problem('the url is not http(s)');
      continue;
    }
    const refusal = options.allowInternal ? undefined : refuseNotificationUrl(url);
    if (refusal) {
      // Say which host, never the whole URL: it may carry a token.
      problems.push({ index, receiver, message: refusal, refused: true });
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
