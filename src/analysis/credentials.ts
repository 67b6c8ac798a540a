/**
 * What a release sends to its Prometheus besides the query: credentials and a CA bundle
 * from an opted-in Secret, and plain extra headers from the spec.
 *
 * `metrics.provider.secretRef.name` names a Secret in the release's namespace. It is used
 * only if it carries the label `deploy.codedance.io/metrics: "true"` ({@link MetricsSecretLabel}),
 * the same opt-in as notification Secrets: RBAC cannot narrow `get` on Secrets to a
 * label, so without it a release could send any Secret of its namespace to an address.
 * Keys read (the names Flagger's Prometheus provider uses for the first three):
 *
 * | key | meaning |
 * |---|---|
 * | `token` | `Authorization: Bearer <token>` |
 * | `username`, `password` | `Authorization: Basic …` (both needed) |
 * | `ca.crt` | PEM CA bundle the server's certificate must chain to (https only), in place of the system's |
 *
 * `token` and `username` together are refused (which one would be meant is a guess).
 * `metrics.provider.headers` (e.g. `X-Scope-OrgID` for Mimir/Cortex) are sent as given.
 *
 * Never throws; a problem is a value with a PascalCase reason and a message that names
 * the Secret and the key, never a value from it. Credentials go only into request
 * headers and the TLS settings: never into logs, status or Events.
 */
import { createHash } from 'node:crypto';
import { MetricsSecretLabel, type MetricsSpec } from '../api/canary-deployment.ts';
import type { KubeObject } from '../runtime/client.ts';

/** `metrics.provider` of a release. */
export type ProviderSpec = NonNullable<MetricsSpec['provider']>;

/** What to send with every query of one release. */
export interface PrometheusCredentials {
  /** Request headers: `authorization` from the Secret, plus the spec's headers. */
  headers: Record<string, string>;
  /** PEM CA bundle to verify the server with, instead of the system's. */
  ca?: string;
  /**
   * A digest of all of the above: releases with equal credentials for an address share
   * a connection pool, and a rotated Secret gets a new one.
   */
  fingerprint: string;
}

/** Why the credentials could not be made (PascalCase: the run's and Event's reason). */
export type CredentialsProblemReason =
  | 'MetricsSecretNotFound'
  | 'MetricsSecretNotOptedIn'
  | 'MetricsSecretUnreadable'
  | 'MetricsSecretInvalid';

/** The outcome of {@link resolveCredentials}. */
export type CredentialsResult =
  | { ok: true; credentials: PrometheusCredentials }
  | { ok: false; reason: CredentialsProblemReason; message: string };

/** The Secret fields read here. */
interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

/** Reads one Secret by name (the controller's client `get`); undefined when it does not exist. */
export type SecretReader = (namespace: string, name: string) => Promise<SecretObject | undefined>;

/** The keys of the Secret. */
export const SECRET_KEYS = {
  token: 'token',
  username: 'username',
  password: 'password',
  ca: 'ca.crt',
} as const;

/** The credentials `provider` asks for in `namespace`; reads the Secret only when one is named. */
export async function resolveCredentials(
  read: SecretReader,
  namespace: string,
  provider: ProviderSpec | undefined,
): Promise<CredentialsResult> {
  const headers: Record<string, string> = {};
  for (const header of provider?.headers ?? []) headers[header.name.toLowerCase()] = header.value;
  const name = provider?.secretRef?.name;
  if (!name) return { ok: true, credentials: { headers, fingerprint: fingerprintOf(headers, undefined) } };

  let secret: SecretObject | undefined;
  try {
    secret = await read(namespace, name);
  } catch (cause) {
    return {
      ok: false,
      reason: 'MetricsSecretUnreadable',
      message:
        `reading Secret ${namespace}/${name}: ${cause instanceof Error ? cause.message : String(cause)}`.slice(
          0,
          300,
        ),
    };
  }
  if (!secret)
    return {
      ok: false,
      reason: 'MetricsSecretNotFound',
      message: `Secret ${namespace}/${name} of metrics.provider.secretRef not found`,
    };
  if (secret.metadata.labels?.[MetricsSecretLabel] !== 'true') {
    return {
      ok: false,
      reason: 'MetricsSecretNotOptedIn',
      message:
        `Secret ${namespace}/${name} is not opted in to metrics: the controller uses only Secrets labelled ${MetricsSecretLabel}="true"; ` +
        `add the label: kubectl label secret ${name} -n ${namespace} ${MetricsSecretLabel}=true`,
    };
  }
  const value = (key: string): string | undefined => {
    const encoded = secret.data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
  };
  const invalid = (message: string): CredentialsResult => ({
    ok: false,
    reason: 'MetricsSecretInvalid',
    message: `Secret ${namespace}/${name}: ${message}`,
  });
  const token = value(SECRET_KEYS.token)?.trim();
  const username = value(SECRET_KEYS.username);
  const password = value(SECRET_KEYS.password);
  const ca = value(SECRET_KEYS.ca);
  if (token !== undefined && username !== undefined)
    return invalid('has both "token" and "username"; keep one way of signing in');
  if (token !== undefined) {
    if (token === '' || /[\r\n]/.test(token)) return invalid('key "token" is empty or spans lines');
    headers['authorization'] = `Bearer ${token}`;
  } else if (username !== undefined || password !== undefined) {
    if (username === undefined || password === undefined)
      return invalid('basic auth needs both "username" and "password"');
    if (username.includes(':') || /[\r\n]/.test(username))
      return invalid('key "username" may not contain ":" or line breaks');
    headers['authorization'] = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----'))
    return invalid('key "ca.crt" holds no PEM certificate');
  if (token === undefined && username === undefined && password === undefined && ca === undefined) {
    return invalid(
      `has none of the keys ${Object.values(SECRET_KEYS)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    );
  }
  return {
    ok: true,
    credentials: { headers, ...(ca === undefined ? {} : { ca }), fingerprint: fingerprintOf(headers, ca) },
  };
}

function fingerprintOf(headers: Record<string, string>, ca: string | undefined): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(headers).sort()) hash.update(`${key}\0${headers[key]}\0`);
  hash.update(ca ?? '');
  return hash.digest('hex').slice(0, 32);
}
