/**
 * The traffic providers by name, and the questions the rest of the controller asks them.
 * Adding a provider is a file in this folder (its {@link ProviderDefinition}) and one line
 * in {@link providerDefinitions}; nothing outside this folder names a provider.
 */
import type { TrafficProtocol, TrafficProviderName } from '../api/canary-deployment.ts';
import type { Capability, ProviderCapabilities, ProviderDefinition } from './capabilities.ts';
import { gatewayAPIProvider } from './gateway-api.ts';
import { istioProvider } from './istio.ts';
import { nginxProvider } from './nginx.ts';
import type { TrafficProvider, TrafficProviderOptions } from './provider.ts';
import { replicasProvider } from './replicas.ts';

export * from './capabilities.ts';
export * from './provider.ts';

/** The provider a release uses when `spec.traffic.provider` is unset. */
export const DEFAULT_PROVIDER: TrafficProviderName = 'Replicas';

/** Every provider, keyed by the `spec.traffic.provider` value that picks it. */
export const providerDefinitions: Record<TrafficProviderName, ProviderDefinition> = {
  Replicas: replicasProvider,
  Istio: istioProvider,
  Nginx: nginxProvider,
  GatewayAPI: gatewayAPIProvider,
};

/**
 * The definition of provider `name`, {@link DEFAULT_PROVIDER} when unset.
 * @default 'Replicas'
 */
export function providerDefinition(name: TrafficProviderName | undefined): ProviderDefinition {
  return providerDefinitions[name ?? DEFAULT_PROVIDER];
}

/** What provider `name` can do and needs ({@link DEFAULT_PROVIDER} when unset). */
export function capabilitiesOf(name: TrafficProviderName | undefined): ProviderCapabilities {
  return providerDefinition(name).capabilities;
}

/** The providers that have `capability`, in registry order (for messages: "needs Istio, Nginx or GatewayAPI"). */
export function providersThat(capability: Capability): TrafficProviderName[] {
  return Object.values(providerDefinitions)
    .filter((d) => d.capabilities[capability])
    .map((d) => d.name);
}

/** The providers that route `protocol`, in registry order. */
export function providersRouting(protocol: TrafficProtocol): TrafficProviderName[] {
  return Object.values(providerDefinitions)
    .filter((d) => d.capabilities.protocols.includes(protocol))
    .map((d) => d.name);
}

/** `names` as a list for a sentence: `Istio, Nginx or GatewayAPI`. */
export function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '(none)') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/**
 * The provider a release uses: `spec.traffic.provider`, Replicas when unset.
 * @default 'Replicas'
 */
export function trafficProvider(
  name: TrafficProviderName | undefined,
  options: TrafficProviderOptions,
): TrafficProvider {
  return providerDefinition(name).create(options);
}
