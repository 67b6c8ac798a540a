/**
 * The generic controller runtime, re-exported in the order data flows:
 * client → watcher → reflector/store → informer → queue → controller/manager, with the
 * helpers (finalizer, apply, events, conditions) and the process parts (leader election,
 * HTTP, metrics, logging) beside them. It knows nothing about canaries.
 */
export * from './client.ts';
export * as kinds from './kinds.ts';
export type { ResourceKind } from './kinds.ts';
export { Action } from './action.ts';
export * from './errors.ts';
export * from './clock.ts';
export * from './backoff.ts';
export * from './watcher.ts';
export * from './store.ts';
export * from './reflector.ts';
export * from './informer.ts';
export * from './queue.ts';
export * from './controller.ts';
export * from './manager.ts';
export * from './finalizer.ts';
export * from './apply.ts';
export * from './events.ts';
export * from './conditions.ts';
export * from './leader-election.ts';
export * from './http.ts';
export * from './metrics.ts';
export * from './logging.ts';
export * from './identity.ts';
