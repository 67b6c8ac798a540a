/**
 * What the simulator knows about one service it simulates: plain data, rebuilt from
 * the cluster caches at every tick (see `discovery.ts`), read by the label builders
 * and the tick loop.
 */
import type { TrafficProviderName } from '../api/canary-deployment.ts';

/** The two versions a service runs during a release. */
export type Version = 'stable' | 'canary';
export const Versions: readonly Version[] = ['stable', 'canary'];

/** Where ingress-nginx would count the service's requests. */
export interface NginxRoute {
  /** The stable Ingress: ingress-nginx reports it for both versions. */
  ingress: string;
  /** The canary Ingress (may not exist yet). */
  canaryIngress: string;
  /** ingress-nginx's upstream name of the canary backend, `<namespace>-<service>-<port>`. */
  canaryUpstream: string;
}

export interface SimTarget {
  /** `<namespace>/<name>`; owns the target's series. */
  key: string;
  namespace: string;
  /** The CanaryDeployment's name (or the opted-in Deployment's). */
  name: string;
  /** The stable Deployment. */
  target: string;
  /** The Deployment running the canary, `<target>-canary`. */
  canaryWorkload: string;
  /** The stable Service. */
  service: string;
  provider: TrafficProviderName;
  /** Share of requests the canary gets, 0 to 1, as the provider's objects say now. */
  canaryShare: number;
  /** Share of the requests stable serves that is also copied to the canary (a mirror), 0 to 1. @default 0 */
  mirrorShare?: number;
  /** False while nothing can answer (no stable Deployment, or no ready pod with the Replicas provider). */
  serving: boolean;
  /** `version` label of each version's plain metrics (see `versionLabelsOf` in discovery.ts). */
  versionLabels: Record<Version, string>;
  /** Present for the Nginx provider. */
  nginx?: NginxRoute;
}
