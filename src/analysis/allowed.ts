/**
 * Which Prometheus servers a release may name in `spec.metrics.provider.address`.
 *
 * The controller queries that address from its own network position, on behalf of
 * whoever wrote the release; so only addresses the operator listed are used:
 * `--allowed-prometheus-url URL` (repeatable), and `--prometheus-url` always. With no
 * flag, a release may only use the controller's own Prometheus (or name none).
 *
 * Matching is exact after normalisation ({@link normalizePrometheusUrl}): scheme and
 * host in lower case, the scheme's default port dropped, trailing slashes dropped. So
 * `http://Prometheus.monitoring:9090/` matches `http://prometheus.monitoring:9090`, but a
 * different port, path prefix, scheme or user name is a different server. No prefixes
 * or wildcards: `http://prom` must not admit `http://prometheus.attacker.example`.
 */

/** A decision about one address. */
export type AddressDecision = { allowed: true } | { allowed: false; message: string };

/** The allow-list of Prometheus addresses. */
export interface PrometheusAllowList {
  /** The normalised addresses allowed. */
  readonly addresses: readonly string[];
  /** Whether `address` may be queried (a release without an address uses the default, always allowed). */
  check(address: string): AddressDecision;
}

/**
 * `url` in the form addresses are compared in, or undefined when it is not an http(s)
 * URL: lower-case scheme and host, no default port, no trailing slash, no query or
 * fragment (a base URL has none).
 */
export function normalizePrometheusUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  if (parsed.search || parsed.hash) return undefined;
  const user = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  const path = parsed.pathname.replace(/\/+$/, '');
  // URL already lower-cases the scheme and host and drops a default port.
  return `${parsed.protocol}//${user}${parsed.host}${path}`;
}

/** The allow-list of `--prometheus-url` (`defaultUrl`) plus `allowed`; entries that are not URLs are ignored (the flag parser reports them). */
export function prometheusAllowList(
  defaultUrl: string | undefined,
  allowed: readonly string[] = [],
): PrometheusAllowList {
  const addresses = [
    ...new Set(
      [defaultUrl, ...allowed].flatMap((u) =>
        u === undefined ? [] : [normalizePrometheusUrl(u) ?? []].flat(),
      ),
    ),
  ];
  return {
    addresses,
    check(address) {
      const normal = normalizePrometheusUrl(address);
      if (normal !== undefined && addresses.includes(normal)) return { allowed: true };
      return {
        allowed: false,
        message:
          `metrics.provider.address ${redact(address)} is not a Prometheus this controller may query: ` +
          (addresses.length > 0
            ? `allowed are ${addresses.map(redact).join(', ')}`
            : 'the controller has no --prometheus-url and no --allowed-prometheus-url') +
          '; remove the address to use the default, or ask the operator to add it with --allowed-prometheus-url',
      };
    },
  };
}

/** The URL without a password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return JSON.stringify(url.slice(0, 100));
  }
}
