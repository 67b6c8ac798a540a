/**
 * The labels each simulated request is counted under, per metric family, as the real
 * data planes write them. This is the simulator's half of the contract with the
 * analyzer's queries (`src/analysis/queries.ts`); a change here must be made there too.
 *
 * | family | stable | canary |
 * |---|---|---|
 * | Istio | `destination_workload=<target>` | `destination_workload=<target>-canary` |
 * | ingress-nginx | `ingress=<ingress>, canary=""` | `ingress=<ingress>, canary=<ns>-<service>-canary-<port>` |
 * | plain | `app=<target>, version=<stable pods' version label, else "stable">` | `app=<target>, version=<canary pods' version label, else "canary">` |
 *
 * ingress-nginx merges a canary Ingress into the location of its main Ingress, so both
 * versions are reported under the main Ingress's `ingress` and `service`; only `canary`
 * (the alternative upstream the request went to, `$proxy_alternative_upstream_name`)
 * tells them apart. That is what Flagger's queries rely on (`canary!=""`).
 *
 * The plain `version` label is what an application labels its own metrics with: its
 * pods' `version` label, chosen for the canary by the analyzer's own
 * `canaryVersionLabelOf()`. Canary pods are made from the stable pod template and keep
 * its labels, so when both carry the same `version` the stable is reported as `stable`,
 * keeping the canary's series the canary's alone.
 */
import type { Labels } from './series.ts';
import type { SimTarget, Version } from './target.ts';

export type { Version } from './target.ts';

/** Status codes the simulator answers with: success and failure, nothing between. */
export type StatusCode = '200' | '500';

/** The Deployment that serves `version` of `target`. */
export function workloadOf(target: SimTarget, version: Version): string {
  return version === 'canary' ? target.canaryWorkload : target.target;
}

/**
 * Istio standard metrics, as reported by the destination's sidecar behind an ingress
 * gateway. A subset of Istio's labels: the ones queries select on (Flagger's and Argo
 * Rollouts' templates, our analyzer); the rest (principals, protocol, response flags,
 * security policy...) only lengthened every line, and with hundreds of services the
 * exposition's size is what a scrape costs.
 */
export function istioLabels(target: SimTarget, version: Version, code: StatusCode): Labels {
  const { namespace, service } = target;
  return {
    reporter: 'destination',
    source_workload: 'istio-ingressgateway',
    destination_workload: workloadOf(target, version),
    destination_workload_namespace: namespace,
    // With subsets, both versions sit behind the one stable host.
    destination_service: `${service}.${namespace}.svc.cluster.local`,
    destination_version: version,
    response_code: code,
  };
}

/** ingress-nginx's request metrics (without the controller_* labels a scrape adds). */
export function nginxLabels(target: SimTarget, version: Version, code: StatusCode): Labels {
  const route = target.nginx;
  return {
    namespace: target.namespace,
    ingress: route?.ingress ?? target.service,
    service: target.service,
    canary:
      version === 'canary'
        ? (route?.canaryUpstream ?? `${target.namespace}-${target.service}-canary-80`)
        : '',
    status: code,
    method: 'GET',
    path: '/',
  };
}

/** The plain application metrics of the seed's PromQL (`http_requests_total{app, version, status}`). */
export function httpLabels(target: SimTarget, version: Version, code: StatusCode): Labels {
  return {
    namespace: target.namespace,
    app: target.target,
    version: target.versionLabels[version],
    status: code,
  };
}
