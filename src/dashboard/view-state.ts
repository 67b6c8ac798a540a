/**
 * What the console shows when it has nothing to show yet, or cannot: loading, empty,
 * signed out, not allowed, not found, Prometheus down, the live stream lost. One pure
 * module, so every view words these the same way and unit tests cover them without a
 * browser. It imports only the contract's types (the page bundles it).
 */
import type { MetricsAnswer } from './contract.ts';

/** Where the live stream stands. */
export type StreamConnection =
  /** The first connection is being made: nothing is known yet. */
  | { state: 'connecting' }
  | { state: 'live' }
  /** Lost after being live (or never got through): what is shown may be out of date. */
  | { state: 'reconnecting'; error: string; retryInSeconds: number; attempt: number; since: number }
  /** The API said 401: the person must (again) give a token. */
  | { state: 'signin'; message: string };

/** A state the page shows in place of (or above) a view's content. */
export type ViewState =
  | { kind: 'ready' }
  | { kind: 'loading'; message: string }
  | { kind: 'empty'; title: string; hint: string }
  | { kind: 'signin'; title: string; message: string }
  | { kind: 'forbidden'; title: string; message: string }
  | { kind: 'not-found'; title: string; message: string }
  | { kind: 'unavailable'; title: string; message: string }
  | { kind: 'error'; title: string; message: string };

/** A banner over every view: the stream lost, or nothing. */
export interface Banner {
  tone: 'warning' | 'error';
  title: string;
  message: string;
}

/**
 * Seconds before reconnect attempt `attempt` (1-based): the first at once (a stream cut by
 * a proxy's timeout or a restarted dashboard is back in one round trip), then 1, 2, 4, 8,
 * and 15 at most, so a dashboard that is down is not hammered.
 */
export function reconnectDelaySeconds(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(15, 2 ** (attempt - 2));
}

/** The stream after a failure: the next attempt, counted from the last time it was live. */
export function lostStream(previous: StreamConnection, error: string, now: number): StreamConnection {
  const attempt = previous.state === 'reconnecting' ? previous.attempt + 1 : 1;
  const since = previous.state === 'reconnecting' ? previous.since : now;
  return { state: 'reconnecting', error, retryInSeconds: reconnectDelaySeconds(attempt), attempt, since };
}

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** Nothing known yet, or the first, immediate retry: too soon to say anything but "loading". */
function retryingAtOnce(connection: StreamConnection): boolean {
  return (
    connection.state === 'connecting' ||
    (connection.state === 'reconnecting' && connection.retryInSeconds === 0)
  );
}

/** The banner for the stream's state: shown while it is lost, on every view (not for the immediate first retry, which would only flash). */
export function streamBanner(connection: StreamConnection): Banner | undefined {
  if (connection.state !== 'reconnecting' || connection.retryInSeconds === 0) return undefined;
  return {
    tone: connection.attempt >= 4 ? 'error' : 'warning',
    title: 'Live updates lost, reconnecting',
    message: `${connection.error}. Trying again in ${connection.retryInSeconds}s (attempt ${connection.attempt}); what you see may be out of date since ${clock(connection.since)} UTC.`,
  };
}

/** A failed API answer (status 0: no answer at all) as the state of the view that asked for `what`. */
export function failureState(status: number, message: string, what: string): ViewState {
  if (status === 401)
    return {
      kind: 'signin',
      title: 'Sign in to see this',
      message: `${message}. Paste a bearer token to continue.`,
    };
  if (status === 403)
    return {
      kind: 'forbidden',
      title: `You may not see ${what}`,
      message: `The API server refused your account: ${message}. Ask for a Role that grants it in this namespace.`,
    };
  if (status === 404) return { kind: 'not-found', title: `No ${what}`, message };
  if (status === 0 || status === 502 || status === 503 || status === 504)
    return { kind: 'unavailable', title: `Cannot reach ${what}`, message };
  return { kind: 'error', title: `Cannot show ${what}`, message: `${message} (HTTP ${status})` };
}

/** The list's state: waiting for the first snapshot, nothing to see, or nothing matching the filters. */
export function listState(connection: StreamConnection, total: number, shown: number): ViewState {
  if (connection.state === 'signin')
    return { kind: 'signin', title: 'Sign in to see releases', message: connection.message };
  if (total === 0 && retryingAtOnce(connection)) return { kind: 'loading', message: 'Loading releases…' };
  if (total === 0 && connection.state === 'reconnecting')
    return {
      kind: 'unavailable',
      title: 'Cannot reach the dashboard',
      message: `${connection.error}; trying again in ${connection.retryInSeconds}s.`,
    };
  if (total === 0)
    return {
      kind: 'empty',
      title: 'No releases you may see yet',
      hint: 'Create a CanaryDeployment or a WebApp (see the README), or check the namespaces your account may list.',
    };
  if (shown === 0)
    return { kind: 'empty', title: 'No release matches these filters', hint: 'Clear a filter to see more.' };
  return { kind: 'ready' };
}

/** A release page's state: its row, or why there is none. */
export function releaseState(
  connection: StreamConnection,
  found: boolean,
  release: { namespace: string; name: string },
): ViewState {
  if (found) return { kind: 'ready' };
  if (connection.state === 'signin')
    return { kind: 'signin', title: 'Sign in to see this release', message: connection.message };
  if (retryingAtOnce(connection)) return { kind: 'loading', message: 'Loading the release…' };
  if (connection.state === 'reconnecting')
    return {
      kind: 'unavailable',
      title: 'Cannot reach the dashboard',
      message: `${connection.error}; trying again in ${connection.retryInSeconds}s.`,
    };
  return {
    kind: 'not-found',
    title: 'Release not found',
    message: `No CanaryDeployment ${release.namespace}/${release.name} that you may see. It may have been deleted, or your account may not list CanaryDeployments in ${release.namespace}.`,
  };
}

/** The charts' state: the answer of the metrics endpoint, or its failure. */
export function metricsState(
  answer: MetricsAnswer | undefined,
  failure: { status: number; message: string } | undefined,
): ViewState {
  if (failure) return failureState(failure.status, failure.message, "this release's metrics");
  if (!answer) return { kind: 'loading', message: 'Asking Prometheus…' };
  if (answer.problem) return { kind: 'empty', title: 'No charts for this release', hint: answer.problem };
  if (answer.unreachable)
    return {
      kind: 'unavailable',
      title: 'Prometheus is not answering',
      message: `${answer.unreachable}. The analysis reads the same Prometheus; the charts come back when it does.`,
    };
  return { kind: 'ready' };
}
