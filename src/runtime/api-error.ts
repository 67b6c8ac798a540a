/**
 * The API server's refusals: {@link KubeApiError} carries the HTTP status and the
 * server's Status object; the predicates name the codes callers act on.
 */
import type { KubeStatus } from './object.ts';

/** A non-2xx answer from the API server (or a transport failure, with `statusCode` 0). */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly status: KubeStatus | undefined;
  constructor(statusCode: number, message: string, status?: KubeStatus, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = status?.reason ?? '';
    this.status = status;
  }
}

/** 404: the object (or its namespace) does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}
/** 409: a resourceVersion precondition, or a create of a name that exists, failed. */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}
/** 410: the resourceVersion of a watch or list is too old (relist). */
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 410;
}
