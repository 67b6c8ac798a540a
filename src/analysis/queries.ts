/**
 * The PromQL the analyzer runs: built-in queries per traffic provider, and custom
 * PromQL with placeholders. Every label value is escaped for a PromQL string
 * literal, so a name can never break out of its quotes.
 *
 * Which series identify the canary, per provider (each provider declares its own,
 * `metrics` of its definition in `src/traffic/`; the simulator emits exactly these):
 *
 * | provider             | request counter (status label)                   | latency histogram (unit)                                        | labels selecting the canary |
 * |----------------------|--------------------------------------------------|-----------------------------------------------------------------|-----------------------------|
 * | Istio                | `istio_requests_total` (`response_code`)         | `istio_request_duration_milliseconds_bucket` (ms)              | `reporter="destination"`, `destination_workload_namespace="<namespace>"`, `destination_workload="<canary Deployment name>"` |
 * | Nginx                | `nginx_ingress_controller_requests` (`status`)   | `nginx_ingress_controller_response_duration_seconds_bucket` (s) | `namespace="<namespace>"`, `ingress="<the user's Ingress, spec.traffic.nginx.ingress>"`, `canary!=""` |
 * | Replicas, GatewayAPI | `http_requests_total` (`status`)                 | `http_request_duration_seconds_bucket` (s)                      | `namespace="<namespace>"`, `app="<targetDeployment>"`, `version="canary"` (the canary pod template's `version` label, else `canary`) |
 *
 * Why these:
 * - Istio: the destination proxy reports the workload (Deployment) that served the
 *   request, so the canary Deployment's name isolates it; `reporter="destination"`
 *   avoids counting each request twice (source and destination both report).
 * - Nginx: ingress-nginx labels a request with the Ingress whose location served it
 *   (the user's Ingress; the canary Ingress is merged into it) and sets `canary` to
 *   the canary upstream's name (`<namespace>-<canary Service>-<port>`) only when the
 *   request went to the canary. So `canary!=""` is the canary, whatever its upstream
 *   name. (Flagger's nginx queries read the same series.)
 * - Plain metrics (no mesh): the application's own `http_requests_total` with the
 *   seed's `app` and `version` labels; `namespace` as Prometheus' Kubernetes service
 *   discovery attaches it. `version` is the canary pod template's own `version`
 *   label, or `canary` when it has none ({@link canaryVersionLabelOf}); the simulator
 *   applies the same rule when it labels what it emits.
 *
 * Built-in queries (percent for rates, milliseconds for latency), with S the
 * selector above and W the analysis window:
 * - success rate: `(sum(rate(requests{S, status!~"5.."}[W])) or on() vector(0)) / sum(rate(requests{S}[W])) * 100`
 * - error rate:   `(sum(rate(requests{S, status=~"5.."}[W])) or on() vector(0)) / sum(rate(requests{S}[W])) * 100`
 * - latency pQ:   `histogram_quantile(Q, sum(rate(histogram_bucket{S}[W])) by (le))` (x1000 for seconds)
 * The `or on() vector(0)` makes "no 5xx series at all" read as 0% errors (and "no
 * non-5xx series" as 0% success) instead of no data; no requests at all is still 0/0
 * = NaN, i.e. no data.
 *
 * Custom PromQL placeholders, each replaced by the escaped value (write the quotes
 * yourself: `namespace="{{namespace}}"`): `{{namespace}}`, `{{target}}` (target
 * Deployment), `{{canary}}` (canary Deployment), `{{version}}` (canary version
 * label), `{{ingress}}` (Nginx Ingress, @default target), and `{{window}}` (a
 * Prometheus duration such as `1m`, unquoted: `[{{window}}]`). Spaces inside the
 * braces are allowed (`{{ namespace }}`).
 */
import type { TrafficProtocol, TrafficProviderName } from '../api/canary-deployment.ts';
import { providerDefinition, type SeriesValue } from '../traffic/index.ts';
import type { Check, CheckKind } from './checks.ts';

/** The `version` label value of canary pods in plain metrics. */
export const DEFAULT_CANARY_VERSION_LABEL = 'canary';

/** Where the canary's numbers are, for one analysis. */
export interface QueryTarget {
  provider: TrafficProviderName;
  /** `traffic.protocol`: GRPC reads gRPC status codes instead of HTTP ones. @default 'HTTP' */
  protocol?: TrafficProtocol | undefined;
  namespace: string;
  /** The target (stable) Deployment: `app` label of plain metrics, `{{target}}`. */
  target: string;
  /** The canary Deployment: Istio `destination_workload`, `{{canary}}`. */
  canaryName: string;
  /** Value of the `version` label on canary pods: plain metrics, `{{version}}`. @default 'canary' */
  canaryVersionLabel?: string | undefined;
  /** Value of the `version` label of stable's plain metrics ({@link stableVersionLabelOf}). @default 'stable' */
  stableVersionLabel?: string | undefined;
  /** The user's Ingress (`spec.traffic.nginx.ingress`). @default target */
  ingress?: string | undefined;
  /** Range of `rate()`, in milliseconds. */
  windowMs: number;
}

interface SeriesSpec {
  requests: string;
  statusLabel: string;
  histogram: string;
  /** Factor from the histogram's unit to milliseconds. */
  toMs: number;
  selector: [label: string, op: '=' | '!=', value: string][];
  /** Status matchers of the failed and of the successful requests (5xx; a non-OK gRPC status). */
  failed: string;
  succeeded: string;
}

/** The two versions a comparison looks at. */
export type Side = 'stable' | 'canary';

/** The `version` label value of stable's plain metrics in comparisons. */
export const DEFAULT_STABLE_VERSION_LABEL = 'stable';

/**
 * The series and selector of one side of a release, from the provider's declared
 * `MetricSeries` (`src/traffic/<provider>.ts`): the canary's matchers, or for
 * stable the same with the provider's stable matcher in place of the one of its label
 * (the rules the simulator follows, src/sim/labels.ts): Istio
 * `destination_workload="<target>"`, ingress-nginx `canary=""` (requests the main
 * upstream served), plain metrics `version="<stable label>"`.
 */
export function seriesOf(t: QueryTarget, side: Side): SeriesSpec {
  const m = providerDefinition(t.provider).metrics;
  const matchers =
    side === 'canary' ? m.canary : m.canary.map((x) => (x.label === m.stable.label ? m.stable : x));
  const selector = matchers.map((x): [string, '=' | '!=', string] => [
    x.label,
    x.op,
    seriesValue(x.value, t),
  ]);
  if (t.protocol === 'GRPC') {
    const g = m.grpc;
    const ok = `"${escapePromQLString(g.ok)}"`;
    return {
      requests: g.requests,
      statusLabel: g.statusLabel,
      histogram: g.histogram,
      toMs: g.toMs,
      selector,
      failed: `${g.statusLabel}!=${ok}`,
      succeeded: `${g.statusLabel}=${ok}`,
    };
  }
  return {
    requests: m.requests,
    statusLabel: m.statusLabel,
    histogram: m.histogram,
    toMs: m.toMs,
    selector,
    failed: `${m.statusLabel}=~"5.."`,
    succeeded: `${m.statusLabel}!~"5.."`,
  };
}

/** The series and canary selector of `t.provider`. */
export function canarySeries(t: QueryTarget): SeriesSpec {
  return seriesOf(t, 'canary');
}

function seriesValue(value: SeriesValue, t: QueryTarget): string {
  if ('literal' in value) return value.literal;
  switch (value.of) {
    case 'namespace':
      return t.namespace;
    case 'canaryWorkload':
      return t.canaryName;
    case 'stableWorkload':
      return t.target;
    case 'canaryVersion':
      return t.canaryVersionLabel ?? DEFAULT_CANARY_VERSION_LABEL;
    case 'stableVersion':
      return t.stableVersionLabel ?? DEFAULT_STABLE_VERSION_LABEL;
    case 'ingress':
      return t.ingress ?? t.target;
  }
}

/** The PromQL of `check` for `t`: a built-in query, or the rendered custom one; `side` for the two queries of a comparison. */
export function queryFor(check: Check, t: QueryTarget, side: Side = 'canary'): string {
  if (check.kind === 'custom')
    return renderCustomQuery(check.query ?? '', t, check.compare ? side : undefined);
  if (
    check.kind === 'cpu' ||
    check.kind === 'cpuVsStable' ||
    check.kind === 'memory' ||
    check.kind === 'memoryVsStable'
  )
    return resourceQuery(check.kind, t);
  return builtInQuery(check.kind, t, side);
}

/**
 * The PromQL of stable's side of `check`, or undefined where stable has no series of its
 * own to show: the analysis runs it for a comparison (`metrics.compare`), and the
 * dashboard charts it beside the canary's line. Built-in checks read the provider's stable
 * series ({@link seriesOf}), CPU and memory the target Deployment's busiest pod; a ratio to
 * stable (`cpuVsStable`) already contains it, and a custom query has a stable side only
 * when it is a comparison (its `{{version}}`/`{{workload}}` then name stable's).
 */
export function stableQueryFor(check: Check, t: QueryTarget): string | undefined {
  switch (check.kind) {
    case 'cpuVsStable':
    case 'memoryVsStable':
      return undefined;
    case 'cpu':
    case 'memory':
      return podResourceQuery(check.kind, t.namespace, t.target, t.windowMs);
    case 'custom':
      return check.compare ? renderCustomQuery(check.query ?? '', t, 'stable') : undefined;
    default:
      return builtInQuery(check.kind, t, 'stable');
  }
}

/** cAdvisor's series, as the kubelet exports them (per container; the pod's own cgroup has `container=""`, and `POD` is the pause container). */
export const CADVISOR = {
  cpu: 'container_cpu_usage_seconds_total',
  memory: 'container_memory_working_set_bytes',
} as const;

/**
 * The `pod` regex of a Deployment's pods: `<deployment>-<ReplicaSet hash>-<suffix>`, the
 * names Kubernetes gives them (cAdvisor series carry no Deployment label). The target's
 * pattern never matches `<target>-canary-…` pods: that name has one part more.
 */
export function podPattern(deployment: string): string {
  return `${deployment.replace(/[.\\^$|?*+()[\]{}]/g, (c) => `\\${c}`)}-[a-z0-9]+-[a-z0-9]+`;
}

/**
 * The CPU (cores) or memory (MiB) of the busiest pod of `deployment`, from cAdvisor:
 * containers summed per pod, the highest pod taken (one leaking pod is enough).
 */
export function podResourceQuery(
  resource: 'cpu' | 'memory',
  namespace: string,
  deployment: string,
  windowMs: number,
): string {
  const sel = `{${[matcher('namespace', '=', namespace), `pod=~"${escapePromQLString(podPattern(deployment))}"`, 'container!=""', 'container!="POD"'].join(', ')}}`;
  return resource === 'cpu'
    ? `max(sum by (pod) (rate(${CADVISOR.cpu}${sel}[${promDuration(windowMs)}])))`
    : `max(sum by (pod) (${CADVISOR.memory}${sel})) / 1048576`;
}

/** The PromQL of a CPU or memory check: the canary's busiest pod, or its ratio to the stable's. */
export function resourceQuery(
  kind: 'cpu' | 'cpuVsStable' | 'memory' | 'memoryVsStable',
  t: QueryTarget,
): string {
  const resource = kind.startsWith('cpu') ? 'cpu' : 'memory';
  const canary = podResourceQuery(resource, t.namespace, t.canaryName, t.windowMs);
  if (kind === 'cpu' || kind === 'memory') return canary;
  return `(${canary}) / (${podResourceQuery(resource, t.namespace, t.target, t.windowMs)})`;
}

/** The built-in PromQL of `kind` (percent for rates, milliseconds for latency). */
export function builtInQuery(
  kind: Exclude<CheckKind, 'custom' | 'cpu' | 'cpuVsStable' | 'memory' | 'memoryVsStable'>,
  t: QueryTarget,
  side: Side = 'canary',
): string {
  const s = seriesOf(t, side);
  const w = promDuration(t.windowMs);
  const sel = (extra?: string) =>
    `{${[...s.selector.map(([l, op, v]) => matcher(l, op, v)), ...(extra ? [extra] : [])].join(', ')}}`;
  const total = `sum(rate(${s.requests}${sel()}[${w}]))`;
  const share = (statusMatcher: string) =>
    `(sum(rate(${s.requests}${sel(statusMatcher)}[${w}])) or on() vector(0)) / ${total} * 100`;
  switch (kind) {
    case 'successRate':
      return share(s.succeeded);
    case 'errorRate':
      return share(s.failed);
    case 'latencyP50':
    case 'latencyP90':
    case 'latencyP99': {
      const q = { latencyP50: '0.5', latencyP90: '0.9', latencyP99: '0.99' }[kind];
      const quantile = `histogram_quantile(${q}, sum(rate(${s.histogram}${sel()}[${w}])) by (le))`;
      return s.toMs === 1 ? quantile : `${quantile} * ${s.toMs}`;
    }
  }
}

/**
 * `template` with its placeholders replaced by escaped values; unknown ones are left for
 * Prometheus to reject. With `side` (a comparison, `metrics.compare.custom`), `{{version}}`
 * is that side's version label, `{{workload}}` its Deployment and `{{side}}` its name.
 */
export function renderCustomQuery(template: string, t: QueryTarget, side?: Side): string {
  const stable = side === 'stable';
  const values: Record<string, string> = {
    namespace: escapePromQLString(t.namespace),
    target: escapePromQLString(t.target),
    canary: escapePromQLString(t.canaryName),
    version: escapePromQLString(
      stable
        ? (t.stableVersionLabel ?? DEFAULT_STABLE_VERSION_LABEL)
        : (t.canaryVersionLabel ?? DEFAULT_CANARY_VERSION_LABEL),
    ),
    workload: escapePromQLString(stable ? t.target : t.canaryName),
    side: side ?? 'canary',
    ingress: escapePromQLString(t.ingress ?? t.target),
    window: promDuration(t.windowMs),
  };
  return template.replace(/\{\{\s*([a-zA-Z]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * `value` escaped to sit between double quotes in PromQL (whose string literals
 * follow Go's escapes): backslash, double quote and control characters.
 */
export function escapePromQLString(value: string): string {
  return value.replace(/[\\"\u0000-\u001f\u007f]/g, (ch) => {
    switch (ch) {
      case '\\':
        return '\\\\';
      case '"':
        return '\\"';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
}

/** Milliseconds as a PromQL duration (`1m`, `90s`, `500ms`); at least 1ms. */
export function promDuration(ms: number): string {
  const whole = Math.max(1, Math.round(ms));
  if (whole % 60_000 === 0) return `${whole / 60_000}m`;
  if (whole % 1000 === 0) return `${whole / 1000}s`;
  return `${whole}ms`;
}

/**
 * The plain-metrics `version` value of the canary: its pod template's `version`
 * label, else {@link DEFAULT_CANARY_VERSION_LABEL}. Pass the canary Deployment's
 * `spec.template.metadata.labels`.
 */
export function canaryVersionLabelOf(podLabels: Record<string, string> | undefined): string {
  return podLabels?.['version'] || DEFAULT_CANARY_VERSION_LABEL;
}

/**
 * The plain-metrics `version` value of stable: its pod template's `version` label, unless
 * the canary reads the same (canary pods are copies of the stable template), then
 * {@link DEFAULT_STABLE_VERSION_LABEL}, so the two sides' series never mix.
 */
export function stableVersionLabelOf(
  stablePodLabels: Record<string, string> | undefined,
  canaryLabel: string,
): string {
  const label = stablePodLabels?.['version'];
  return label && label !== canaryLabel ? label : DEFAULT_STABLE_VERSION_LABEL;
}

/**
 * A label-safe version name from an image: the tag (or digest) made a valid label
 * value, e.g. `myapp:v2.0.0` → `v2.0.0`, `repo/app@sha256:abcd…` → `sha256-abcd…`
 * (cut to 63 characters). For a controller that wants to *set* a `version` label on
 * canary pods; the queries select whatever that label ends up being
 * ({@link canaryVersionLabelOf}), so the two agree only if that label is set.
 */
export function versionLabel(image: string): string {
  const at = image.indexOf('@');
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  let raw: string;
  if (at >= 0) raw = image.slice(at + 1);
  else if (colon > lastSlash) raw = image.slice(colon + 1);
  else raw = 'latest';
  const safe = raw
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return safe || 'unknown';
}

function matcher(label: string, op: '=' | '!=', value: string): string {
  return `${label}${op}"${escapePromQLString(value)}"`;
}
