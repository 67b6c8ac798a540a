/**
 * The one place that pins the versions of the local control plane.
 *
 * The build cache (`$CODEDANCE_HOME/bin/<name>-<version>/`), the cluster, the tests, the
 * demo and the benchmarks all read these constants, so bumping a version here rebuilds
 * once and everything follows.
 */

/** Kubernetes (`k8s.io/kubernetes`); its staging modules are published as `v0.<minor>.<patch>`. */
export const kubernetesVersion = 'v1.36.3';

/** etcd server (`go.etcd.io/etcd/server/v3`): latest patch of the 3.6 line. */
export const etcdVersion = 'v3.6.16';

/** kwok (`sigs.k8s.io/kwok`): fake nodes and pod lifecycles driven by Stage objects. */
export const kwokVersion = 'v0.8.0';

/**
 * Prometheus (`github.com/prometheus/prometheus`): Prometheus 3.x publishes its Go module
 * as `v0.3MM.P` for release `3.MM.P` (see {@link prometheusRelease}).
 */
export const prometheusVersion = 'v0.316.0';

/** Istio's API module (`istio.io/api`), whose `kubernetes/customresourcedefinitions.gen.yaml` holds its CRDs. */
export const istioApiVersion = 'v1.32.0';

/** Gateway API (`sigs.k8s.io/gateway-api`), whose `config/crd/{standard,experimental}/` hold its CRDs. */
export const gatewayApiVersion = 'v1.6.3';

/**
 * Oldest Go toolchain the pinned modules build with (their go.mod files say `go 1.26.0`;
 * Prometheus's says `go 1.26.7`, which an older 1.26 fetches by itself as Go's
 * `GOTOOLCHAIN=auto` does).
 */
export const minimumGoVersion = '1.26';

/** `v1.36.3` -> `v0.36.3`: the version the staging modules (`k8s.io/api`, ...) are published under. */
export function stagingVersion(version: string = kubernetesVersion): string {
  const match = /^v1\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`unexpected Kubernetes version '${version}': expected v1.MINOR.PATCH`);
  return `v0.${match[1]}.${match[2]}`;
}

/** `v1.36.3` -> { major: '1', minor: '36' }, for the version stamps passed to the linker. */
export function kubernetesMajorMinor(version: string = kubernetesVersion): { major: string; minor: string } {
  const match = /^v(\d+)\.(\d+)\./.exec(version);
  if (!match) throw new Error(`unexpected Kubernetes version '${version}'`);
  return { major: match[1]!, minor: match[2]! };
}

/** `v0.316.0` -> `3.16.0`: the Prometheus release a module version stands for (stamped into the binary). */
export function prometheusRelease(version: string = prometheusVersion): string {
  const match = /^v0\.(\d)(\d\d)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`unexpected Prometheus module version '${version}': expected v0.3MM.P`);
  return `${match[1]}.${Number(match[2])}.${match[3]}`;
}

/** Helm (`helm.sh/helm/v4`): lints, renders and installs the chart in deploy/helm (packaging tests). */
export const helmVersion = 'v4.3.2';

/** go-containerregistry: `crane` (push and pull images) and `registry` (an in-memory registry) for the image tests. */
export const goContainerRegistryVersion = 'v0.22.1';

/** Prometheus Operator (`github.com/prometheus-operator/prometheus-operator`): its ServiceMonitor CRD checks the chart's ServiceMonitor. */
export const prometheusOperatorVersion = 'v0.85.0';

/**
 * VictoriaMetrics single-node (`github.com/VictoriaMetrics/VictoriaMetrics`, `app/victoria-metrics`):
 * a Prometheus-compatible store the analysis is tested against. v1.151.0 builds with Go 1.26
 * (newer releases want a newer Go).
 */
export const victoriaMetricsVersion = 'v1.151.0';

/**
 * Flagger (`github.com/fluxcd/flagger`, `cmd/flagger`), a peer the benchmark compares with
 * (`npm run bench -- --peers`); built on first use only.
 */
export const flaggerVersion = 'v1.44.0';

/**
 * Argo Rollouts (`github.com/argoproj/argo-rollouts`, `cmd/rollouts-controller`), the other
 * peer. v1.10.1 is the newest release that builds with the Go 1.26 of `minimumGoVersion`:
 * v1.10.2's go.mod asks for go 1.26.10.
 */
export const argoRolloutsVersion = 'v1.10.1';
