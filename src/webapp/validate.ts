/**
 * Checks of a WebApp that its CRD schema cannot express. The API server already
 * refuses what the schema covers (replicas 1-10, port range, env names, quantities,
 * requests not above limits); what is left are facts about the objects the WebApp
 * turns into.
 *
 * A problem found here is permanent for this generation of the WebApp: retrying
 * cannot fix it, only a spec change can, so the reconciler ends in Failed with the
 * messages joined and does not requeue.
 */
import type { WebApp } from '../api/webapp.ts';
import { configData } from './children.ts';

/** Largest ConfigMap data the API server stores (keys plus values, in bytes). */
export const MaxConfigBytes = 1024 * 1024;

/** A Service name is a DNS-1035 label: it must start with a letter, at most 63 characters. */
const Dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Every problem of `webapp` as a sentence a user can act on; empty when it is fine. */
export function validateWebApp(webapp: WebApp): string[] {
  const problems: string[] = [];
  const name = webapp.metadata.name ?? '';
  if (name.length > 63 || !Dns1035Label.test(name)) {
    problems.push(
      `name "${name}" cannot name the WebApp's Service: use at most 63 lower-case letters, digits and '-', starting with a letter`,
    );
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(configData(webapp)))
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  if (bytes > MaxConfigBytes) {
    problems.push(
      `env holds ${bytes} bytes, more than a ConfigMap can store (${MaxConfigBytes}); move large values elsewhere`,
    );
  }
  return problems;
}
