/**
 * The identity of this process (leader election holder, Events' reportingInstance):
 * hostname plus a random id, so two processes on one host never share it.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** `<hostname>_<8 hex chars>`. */
export function processIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}
