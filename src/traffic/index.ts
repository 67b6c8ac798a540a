/**
 * The traffic providers by name. Adding one is a file in this folder and one line in
 * {@link trafficProviders}.
 */
import type { TrafficProviderName } from '../api/canary-deployment.ts';
import { createGatewayAPIProvider } from './gateway-api.ts';
import { createIstioProvider } from './istio.ts';
import { createNginxProvider } from './nginx.ts';
import type { TrafficProvider, TrafficProviderOptions } from './provider.ts';
import { createReplicasProvider } from './replicas.ts';

export * from './provider.ts';

/** Factory of every provider, keyed by the `spec.traffic.provider` value that picks it. */
export const trafficProviders: Record<
  TrafficProviderName,
  (options: TrafficProviderOptions) => TrafficProvider
> = {
  Replicas: createReplicasProvider,
  Istio: createIstioProvider,
  Nginx: createNginxProvider,
  GatewayAPI: createGatewayAPIProvider,
};

/**
 * The provider a release uses: `spec.traffic.provider`, Replicas when unset.
 * @default 'Replicas'
 */
export function trafficProvider(
  name: TrafficProviderName | undefined,
  options: TrafficProviderOptions,
): TrafficProvider {
  return trafficProviders[name ?? 'Replicas'](options);
}
