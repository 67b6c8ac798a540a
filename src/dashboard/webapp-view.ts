/**
 * What a person sees of one WebApp: a row of the console's list beside the
 * CanaryDeployments. WebApps have no ladder and no actions; when `spec.release` made a
 * CanaryDeployment for the current image, the row names it so the page can link to it.
 *
 * Pure: a WebApp in, a {@link WebAppView} out, whatever the object holds.
 */
import type { WebApp, WebAppPhase } from '../api/webapp.ts';
import type { WebAppView } from './contract.ts';

export type { WebAppView } from './contract.ts';

// The contract types the phase as a plain string (the page cannot import the API); this
// line fails the type check if the CRD's phases stop being strings.
type Fits<T extends U, U> = T;
export type WebAppPhaseFits = Fits<WebAppPhase, WebAppView['phase']>;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * The view of one WebApp. Defensive on purpose: an object stored under an older schema
 * may lack any field, and one odd WebApp must not break the list.
 */
export function webAppView(app: WebApp): WebAppView {
  const metadata = (app as { metadata?: WebApp['metadata'] }).metadata ?? {};
  const spec = (app as { spec?: Partial<WebApp['spec']> }).spec ?? {};
  const status = app.status ?? {};
  return {
    kind: 'WebApp',
    namespace: text(metadata.namespace) ?? '',
    name: text(metadata.name) ?? '',
    // The controller writes a phase on its first pass; until then the WebApp waits for it.
    phase: text(status.phase) ?? 'Pending',
    // The image asked for: what a release of it carries, as a CanaryDeployment's version is.
    image: text(spec.image) ?? text(status.image) ?? '',
    // The API server defaults replicas to 1; an object written before that default had none either.
    replicas: count(spec.replicas) ?? 1,
    readyReplicas: count(status.readyReplicas) ?? 0,
    message: text(status.message),
    createdAt: text(metadata.creationTimestamp),
    release: text(status.release?.name),
  };
}
