/**
 * The record of a release's traffic settings (`status.traffic`): which provider and which
 * objects the release routes through, written when the release starts.
 *
 * Why a record: the spec can change at any time, and a provider can only take traffic
 * away from the canary in the objects it put it in. Reset, rollback, deletion and the
 * read-back of the weight therefore work from the record; only a new release (start,
 * restart, retry) takes the spec's settings. A spec whose traffic settings differ from
 * the record mid-release is a change the release cannot follow (it would strand the
 * canary's share in objects no longer named), so the release is rolled back with the
 * recorded provider and says why (see `phases.ts`).
 *
 * Releases started by a controller that did not write the record fall back to the spec.
 * Pure functions over plain data.
 */
import type { CanaryDeploymentSpec, TrafficRecord, TrafficSpec } from '../api/canary-deployment.ts';
import { DEFAULT_PROVIDER, capabilitiesOf, providerDefinition } from '../traffic/index.ts';

/** The record a release started now would write, from its spec. */
export function trafficRecordOf(spec: CanaryDeploymentSpec): TrafficRecord {
  const traffic = spec.traffic ?? {};
  const provider = traffic.provider ?? DEFAULT_PROVIDER;
  const service = spec.service?.name ?? spec.targetDeployment;
  const record: TrafficRecord = { provider, service };
  // Only when not HTTP: records of releases started before protocols existed read the same.
  if (traffic.protocol && traffic.protocol !== 'HTTP') record.protocol = traffic.protocol;
  const field = capabilitiesOf(provider).settingsField;
  // Only the chosen provider's block: the schema refuses another, an older CRD may not.
  if (field === 'istio' && traffic.istio) record.istio = structuredClone(traffic.istio);
  if (field === 'nginx' && traffic.nginx) record.nginx = structuredClone(traffic.nginx);
  if (field === 'gatewayAPI' && traffic.gatewayAPI) record.gatewayAPI = structuredClone(traffic.gatewayAPI);
  record.objects = touchedObjects(record, spec.targetDeployment);
  return record;
}

/** The `spec.traffic` a provider is called with, rebuilt from a record. */
export function trafficSpecOf(record: TrafficRecord): TrafficSpec {
  const spec: TrafficSpec = { provider: record.provider };
  if (record.protocol) spec.protocol = record.protocol;
  if (record.istio) spec.istio = structuredClone(record.istio);
  if (record.nginx) spec.nginx = { ...record.nginx };
  if (record.gatewayAPI) spec.gatewayAPI = { ...record.gatewayAPI };
  return spec;
}

/** The objects the provider of `record` writes or makes, for people reading status. */
export function touchedObjects(
  record: TrafficRecord,
  targetDeployment: string,
): NonNullable<TrafficRecord['objects']> {
  return providerDefinition(record.provider).objects(record, targetDeployment);
}

/**
 * What differs between the recorded traffic settings and the wanted ones, worded for a
 * user (`traffic.provider changed from Istio to Nginx`), or `undefined` when the release
 * can go on with the wanted settings. `objects` is derived from the rest and the target
 * Deployment, so it is compared last (it only adds a changed target with Replicas).
 */
export function trafficChange(recorded: TrafficRecord, wanted: TrafficRecord): string | undefined {
  if (recorded.provider !== wanted.provider)
    return `traffic.provider changed from ${recorded.provider} to ${wanted.provider}`;
  if ((recorded.protocol ?? 'HTTP') !== (wanted.protocol ?? 'HTTP'))
    return `traffic.protocol changed from ${recorded.protocol ?? 'HTTP'} to ${wanted.protocol ?? 'HTTP'}`;
  if (recorded.service !== wanted.service)
    return `the stable Service changed from ${recorded.service} to ${wanted.service}`;
  const fields: [string, string | undefined, string | undefined][] = [
    ['traffic.istio.virtualService', recorded.istio?.virtualService, wanted.istio?.virtualService],
    [
      'traffic.istio.destinationRule',
      recorded.istio?.destinationRule ?? recorded.istio?.virtualService,
      wanted.istio?.destinationRule ?? wanted.istio?.virtualService,
    ],
    ['traffic.istio.routes', routes(recorded), routes(wanted)],
    ['traffic.nginx.ingress', recorded.nginx?.ingress, wanted.nginx?.ingress],
    ['traffic.gatewayAPI.httpRoute', recorded.gatewayAPI?.httpRoute, wanted.gatewayAPI?.httpRoute],
    ['traffic.gatewayAPI.grpcRoute', recorded.gatewayAPI?.grpcRoute, wanted.gatewayAPI?.grpcRoute],
    ['traffic.gatewayAPI.tcpRoute', recorded.gatewayAPI?.tcpRoute, wanted.gatewayAPI?.tcpRoute],
  ];
  for (const [field, from, to] of fields) {
    if (from !== to) return `${field} changed from ${from ?? '(unset)'} to ${to ?? '(unset)'}`;
  }
  // The rest is derived; with Replicas it names the Deployments (a new targetDeployment).
  const from = describeObjects(recorded.objects);
  const to = describeObjects(wanted.objects);
  if (recorded.objects && wanted.objects && from !== to)
    return `the traffic objects changed from ${from} to ${to}`;
  return undefined;
}

function describeObjects(objects: TrafficRecord['objects']): string {
  return (objects ?? []).map((o) => `${o.kind} ${o.name}`).join(', ');
}

function routes(record: TrafficRecord): string | undefined {
  const list = record.istio?.routes;
  return list && list.length > 0 ? [...list].sort().join(',') : undefined;
}
